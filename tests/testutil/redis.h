// A real Redis for tests: redis-server (Debian's `redis-server` package, installed by
// ./dev test) on 127.0.0.1 with a free port, no persistence (--save '' --appendonly no) and its
// own directory in a temporary one. Stop() and Start() again keep the port, so a test can take
// Redis down under a client and bring it back (empty: nothing is persisted).
// A missing redis-server fails the test (it is not skipped): CI installs it.
// Not thread-safe; one test thread owns each object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/testutil/process.h"

struct redisContext;

namespace glint::testutil {

// The redis-server binary (on PATH, else /usr/bin or /usr/local/bin), or "" when missing.
std::string RedisServerPath();

class RedisServer {
 public:
  // Starts redis-server (Start()).
  RedisServer();
  // Stops it.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server on port() (picked on the first start) and waits until it answers
  // PING; adds a test failure when it does not (or redis-server is missing). True when up.
  bool Start();
  // SIGTERM, and waits until it exited.
  void Stop();
  uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // It also listens on this unix socket (mode 700).
  std::string socket_path() const { return temp_.path() + "/redis.sock"; }
  std::string log() const { return ReadFileOrEmpty(log_path_); }

 private:
  TempDir temp_;
  std::string log_path_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A connection to a test's Redis through hiredis, for reading back what glint wrote.
class RedisClient {
 public:
  // Connects (5 s timeout); adds a test failure when it cannot.
  explicit RedisClient(uint16_t port);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  struct Entry {
    std::string id;
    std::vector<std::pair<std::string, std::string>> fields;
    // The value of `name` ("" when absent).
    std::string Field(const std::string& name) const;
  };
  // XRANGE key - +: every entry, oldest first (empty after a test failure).
  std::vector<Entry> Range(const std::string& key);
  // XLEN key (-1 after a test failure).
  long long Length(const std::string& key);
  // Any command; the reply as text: a status, string or error as it is ("ERR ..."), an
  // integer in decimal, nil as "(nil)". For set-up (CONFIG SET, ACL SETUSER, DEL).
  std::string Command(const std::vector<std::string>& args);

 private:
  redisContext* context_ = nullptr;
};

}  // namespace glint::testutil
