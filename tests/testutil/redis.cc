#include "tests/testutil/redis.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

namespace glint::testutil {
namespace {

// A port the kernel just handed out on 127.0.0.1 (free now; redis-server takes it next).
uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

redisContext* Connect(uint16_t port) {
  const timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK) return c;
  if (c) redisFree(c);
  return nullptr;
}

std::string ReplyText(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    default:
      return "(array of " + std::to_string(r->elements) + ")";
  }
}

// Sends `args`; the reply (owned by the caller) or null when the connection failed.
redisReply* Call(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
}

}  // namespace

std::string RedisServerPath() { return FindBinary("redis-server", {"/usr/bin", "/usr/local/bin"}); }

RedisServer::RedisServer() : log_path_(temp_.path() + "/redis.log") { Start(); }

RedisServer::~RedisServer() { Stop(); }

bool RedisServer::Start() {
  const std::string binary = RedisServerPath();
  if (binary.empty()) {
    ADD_FAILURE() << "redis-server is not installed (Debian package `redis-server`; ./dev test "
                     "installs it)";
    return false;
  }
  if (port_ == 0) port_ = FreePort();
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{binary, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", temp_.path(),
                               "--unixsocket", socket_path(), "--unixsocketperm", "700"},
      log_path_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && process_->Running()) {
    if (redisContext* c = Connect(port_)) {
      redisReply* r = Call(c, {"PING"});
      const bool pong = r && ReplyText(r) == "PONG";
      if (r) freeReplyObject(r);
      redisFree(c);
      if (pong) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "redis-server did not answer PING on port " << port_ << "; its log:\n" << log();
  return false;
}

void RedisServer::Stop() {
  if (process_) process_->Stop(SIGTERM, std::chrono::seconds(30));
  process_.reset();
}

std::string RedisClient::Entry::Field(const std::string& name) const {
  for (const auto& [n, v] : fields)
    if (n == name) return v;
  return {};
}

RedisClient::RedisClient(uint16_t port) : context_(Connect(port)) {
  if (!context_) ADD_FAILURE() << "cannot connect to redis on port " << port;
}

RedisClient::~RedisClient() {
  if (context_) redisFree(context_);
}

std::string RedisClient::Command(const std::vector<std::string>& args) {
  if (!context_) return "(not connected)";
  redisReply* r = Call(context_, args);
  if (!r) {
    ADD_FAILURE() << args[0] << ": " << context_->errstr;
    return "(failed)";
  }
  std::string text = ReplyText(r);
  freeReplyObject(r);
  return text;
}

long long RedisClient::Length(const std::string& key) {
  if (!context_) return -1;
  redisReply* r = Call(context_, {"XLEN", key});
  if (!r || r->type != REDIS_REPLY_INTEGER) {
    ADD_FAILURE() << "XLEN " << key << ": " << (r ? ReplyText(r) : context_->errstr);
    if (r) freeReplyObject(r);
    return -1;
  }
  const long long n = r->integer;
  freeReplyObject(r);
  return n;
}

std::vector<RedisClient::Entry> RedisClient::Range(const std::string& key) {
  std::vector<Entry> out;
  if (!context_) return out;
  redisReply* r = Call(context_, {"XRANGE", key, "-", "+"});
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    ADD_FAILURE() << "XRANGE " << key << ": " << (r ? ReplyText(r) : context_->errstr);
    if (r) freeReplyObject(r);
    return out;
  }
  // [[id, [field, value, ...]], ...]
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* item = r->element[i];
    Entry e;
    e.id = ReplyText(item->element[0]);
    const redisReply* kv = item->element[1];
    for (size_t j = 0; j + 1 < kv->elements; j += 2)
      e.fields.emplace_back(ReplyText(kv->element[j]), ReplyText(kv->element[j + 1]));
    out.push_back(std::move(e));
  }
  freeReplyObject(r);
  return out;
}

}  // namespace glint::testutil
