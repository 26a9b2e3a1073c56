// A tiny HTTP server on a free 127.0.0.1 port, on its own thread: records each request (method,
// target, headers, body) and answers it with the next status queued by Script(), else the
// default `status` (or, when `hang` is set, reads the request and never answers). The peer
// for tests of outgoing HTTP clients (CDN purges, webhooks).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace glint::testutil {

class Receiver {
 public:
  struct Seen {
    std::string method, target, content_type, body;
    std::map<std::string, std::string> headers;  // lower-case names
    int answered = 0;                            // the status sent back (0: none)
    std::string Header(const std::string& lower_name) const {
      auto it = headers.find(lower_name);
      return it == headers.end() ? std::string() : it->second;
    }
  };

  explicit Receiver(int status = 200, bool hang = false);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen();
  // The next requests are answered with `statuses`, in order, before the default again.
  void Script(std::deque<int> statuses);

 private:
  boost::asio::awaitable<void> Serve();

  const int status_;
  const bool hang_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::vector<boost::asio::ip::tcp::socket> hung_;  // used only on the io_context's thread
  std::mutex mu_;
  std::vector<Seen> seen_;  // GUARDED_BY(mu_)
  std::deque<int> script_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace glint::testutil
