// The HTTP/1.1 server: one Asio io_context per thread, each with its own SO_REUSEPORT
// listener, so connections spread across cores and a connection lives on one thread for its
// whole life. Sessions are C++20 coroutines and enforce the limits (STYLE rule 7): header
// size, per-route body size, idle/read/write timeouts, the connection cap. Requests on a
// connection are answered in order (keep-alive and pipelining). A reply whose body is a file
// (Reply::file, http/router.h) is sent with sendfile(2) under the same write timeout; a
// streamed reply (Reply::stream) with chunked encoding, each chunk under the write timeout,
// with no timeout while the source waits (the connection then closes after it).
//
// Graceful shutdown (SIGINT/SIGTERM or Shutdown()): listeners close, idle connections and
// streams waiting for their next chunk are closed, in-flight requests finish and their
// connections then close; after `shutdown_grace` whatever remains is cut off. Run() returns
// when all is done.
//
// Thread-safety: Listen, then Run from one thread; Shutdown from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "http/router.h"

namespace glint::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port (see port())
  unsigned threads = 0;  // event loops; 0 = one per core
  uint32_t header_limit = 16 << 10;
  std::chrono::seconds idle_timeout{60};   // waiting for (and reading) a request header
  std::chrono::seconds read_timeout{300};  // reading a request body
  std::chrono::seconds write_timeout{60};
  std::chrono::seconds shutdown_grace{10};
  size_t max_connections = 10000;
  // Request bodies held in memory across all connections; past it, a request that would
  // add its body is answered 503 (Retry-After) before the body is read.
  uint64_t max_body_bytes_in_flight = 1ull << 30;
  bool access_log = true;
};

class Server {
 public:
  Server(const Router& router, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener. Errors: kUnavailable when the address is in use, kInvalidArgument
  // for a bad address.
  Status Listen();
  // The bound port (after Listen).
  uint16_t port() const { return port_; }

  // Runs the event loops (the calling thread runs one) until shutdown completes.
  void Run();
  // Starts a graceful shutdown. Idempotent; any thread.
  void Shutdown();
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

 private:
  struct Loop;
  struct Session;

  const Router& router_;
  ServerOptions options_;
  uint16_t port_ = 0;
  // Before loops_: sessions torn down with their io_context still touch these.
  std::atomic<bool> draining_{false};
  std::atomic<size_t> connections_{0};
  std::atomic<uint64_t> body_bytes_in_flight_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;  // GUARDED_BY(done_mu_)
  std::thread watchdog_;
};

}  // namespace glint::http
