#include "tests/testutil/http_client.h"

#include <algorithm>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace glint::testutil {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
  uint16_t port;
  asio::io_context io;
  tcp::socket socket{io};
  boost::beast::flat_buffer buffer;

  void Connect() {
    boost::system::error_code ec;
    socket.close(ec);
    socket = tcp::socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    buffer.clear();
  }
};

HttpClient::HttpClient(uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->Connect();
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Request(const std::string& method, const std::string& target,
                                 const std::string& body, const Headers& headers) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(impl_->port));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
  for (int attempt = 0;; ++attempt) {
    boost::system::error_code ec;
    bhttp::write(impl_->socket, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256u << 20);
    parser.skip(method == "HEAD");
    if (!ec) bhttp::read(impl_->socket, impl_->buffer, parser, ec);
    if (ec) {
      // The server closed a kept-alive connection (or refused early): retry once fresh.
      if (attempt == 0) {
        impl_->Connect();
        continue;
      }
      throw std::runtime_error("HTTP " + method + " " + target + " failed: " + ec.message());
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    out.keep_alive = res.keep_alive();
    if (!out.keep_alive) impl_->Connect();
    return out;
  }
}

std::string RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds quiet) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(socket, asio::buffer(bytes));
  std::string out;
  char buf[4096];
  timeval tv{static_cast<time_t>(quiet.count() / 1000),
             static_cast<suseconds_t>((quiet.count() % 1000) * 1000)};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace glint::testutil
