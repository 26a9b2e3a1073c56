#include "tests/testutil/receiver.h"

#include <cctype>
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace glint::testutil {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

Receiver::Receiver(int status, bool hang) : status_(status), hang_(hang) {
  acceptor_.open(tcp::v4());
  acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, Serve(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

Receiver::~Receiver() {
  io_.stop();
  thread_.join();
}

std::vector<Receiver::Seen> Receiver::seen() {
  std::lock_guard lock(mu_);
  return seen_;
}

void Receiver::Script(std::deque<int> statuses) {
  std::lock_guard lock(mu_);
  script_ = std::move(statuses);
}

asio::awaitable<void> Receiver::Serve() {
  for (;;) {
    tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
    try {
      beast::flat_buffer buffer;
      beast::http::request<beast::http::string_body> req;
      co_await beast::http::async_read(socket, buffer, req, asio::use_awaitable);
      Seen seen{std::string(req.method_string()),
                std::string(req.target()),
                std::string(req[beast::http::field::content_type]),
                req.body(),
                {},
                0};
      for (const auto& field : req) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        seen.headers[name] = std::string(field.value());
      }
      int status = status_;
      {
        std::lock_guard lock(mu_);
        if (!script_.empty()) {
          status = script_.front();
          script_.pop_front();
        }
        seen.answered = hang_ ? 0 : status;
        seen_.push_back(std::move(seen));
      }
      if (hang_) {
        hung_.push_back(std::move(socket));
        continue;
      }
      beast::http::response<beast::http::string_body> res{static_cast<beast::http::status>(status),
                                                          11};
      if (status != 204) res.body() = "answer " + std::to_string(status) + "\n";
      res.keep_alive(false);
      res.prepare_payload();
      co_await beast::http::async_write(socket, res, asio::use_awaitable);
    } catch (const std::exception&) {
      // The client went away; serve the next one.
    }
  }
}

}  // namespace glint::testutil
