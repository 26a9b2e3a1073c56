// A small blocking HTTP/1.1 client over Beast for the integration tests: one keep-alive
// connection to 127.0.0.1:port, and a raw-bytes exchange for malformed and pipelined input.
// Not thread-safe; one per test thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace glint::testutil {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& lower_name) const;
  bool keep_alive = true;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  ~HttpClient();

  // Sends one request (reconnecting if the server closed the connection) and reads the
  // response. A HEAD request's response has an empty body.
  HttpResponse Request(const std::string& method, const std::string& target,
                       const std::string& body = {}, const Headers& headers = {});
  HttpResponse Get(const std::string& target, const Headers& headers = {}) {
    return Request("GET", target, {}, headers);
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes `bytes` on a fresh connection, half-closes nothing, and returns everything the
// server sends until it closes the connection or `quiet` passes without new bytes.
std::string RawExchange(uint16_t port, const std::string& bytes,
                        std::chrono::milliseconds quiet = std::chrono::milliseconds(1500));

}  // namespace glint::testutil
