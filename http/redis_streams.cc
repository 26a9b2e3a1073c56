#include "http/redis_streams.h"

#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include <hiredis/hiredis.h>
#include <boost/url/parse.hpp>

#include "base/log.h"
#include "core/notifier.h"

namespace glint::http {
namespace {

Status BadUrl(std::string_view url, std::string_view why) {
  return InvalidArgument("redis_url \"" + std::string(url) + "\": " + std::string(why),
                         "bad_redis_url");
}

// Redis' answer to an XADD whose explicit ID is not above the stream's last one.
constexpr std::string_view kNotAboveTop = "equal or smaller than the target stream top item";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval ToTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

// Queues one command (argv as given) on `c`'s output buffer; hiredis copies the arguments.
bool Append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()) ==
         REDIS_OK;
}

}  // namespace

std::string RedisUrl::Where() const {
  if (!socket_path.empty()) return socket_path;
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<RedisUrl> ParseRedisUrl(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return BadUrl(text, "not a URL (redis://host:port/db or unix:///path)");
  const boost::urls::url_view u = *parsed;
  if (u.has_query() || u.has_fragment()) return BadUrl(text, "no query or fragment is allowed");
  RedisUrl r;
  const std::string scheme(u.scheme());
  if (scheme == "unix") {
    if (!u.encoded_host().empty() || u.has_userinfo() || u.has_port())
      return BadUrl(text, "unix:///path takes only a path");
    r.socket_path = std::string(u.path());
    if (r.socket_path.empty() || r.socket_path.front() != '/')
      return BadUrl(text, "unix:///path needs an absolute path");
    return r;
  }
  if (scheme != "redis")
    return BadUrl(text,
                  "the scheme must be redis:// or unix:// (TLS, rediss://, is not supported)");
  r.host = std::string(u.host_address());
  if (r.host.empty()) return BadUrl(text, "no host");
  if (u.has_port()) {
    const std::string_view port = u.port();
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc() || end != port.data() + port.size() || n == 0 || n > 65535)
      return BadUrl(text, "the port must be from 1 to 65535");
    r.port = static_cast<uint16_t>(n);
  }
  if (u.has_userinfo()) {
    r.user = std::string(u.user());
    r.password = std::string(u.password());
    if (r.password.empty())
      return BadUrl(text, "credentials are [user]:password@ (a user needs a password)");
  }
  std::string_view path = u.encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), r.db);
    if (ec != std::errc() || end != path.data() + path.size() || r.db > 1000000)
      return BadUrl(text, "the path must be a database number: redis://host:port/0");
  }
  return r;
}

RedisStreamWriter::RedisStreamWriter(RedisStreamsOptions options)
    : options_(std::move(options)), url_(*ParseRedisUrl(options_.url)) {}

RedisStreamWriter::~RedisStreamWriter() {
  if (context_) redisFree(context_);
}

RedisStreamWriter::Stats RedisStreamWriter::stats() const {
  return {added_.load(), duplicates_.load(), filtered_.load(), connects_.load(), lost_.load()};
}

Status RedisStreamWriter::Fail(const std::string& why) {
  if (context_) {
    redisFree(context_);
    context_ = nullptr;
  }
  return Unavailable("redis " + url_.Where() + ": " + why, "redis_unavailable");
}

Status RedisStreamWriter::Connect() {
  const timeval tv = ToTimeval(options_.timeout);
  context_ = url_.socket_path.empty() ? redisConnectWithTimeout(url_.host.c_str(), url_.port, tv)
                                      : redisConnectUnixWithTimeout(url_.socket_path.c_str(), tv);
  if (!context_) return Fail("cannot allocate a connection");
  if (context_->err) return Fail(std::string("cannot connect: ") + context_->errstr);
  if (redisSetTimeout(context_, tv) != REDIS_OK)
    return Fail(std::string("cannot set the timeout: ") + context_->errstr);
  if (url_.socket_path.empty()) redisEnableKeepAlive(context_);
  // AUTH and SELECT before anything else; each answer must be +OK.
  std::vector<std::vector<std::string>> setup;
  if (!url_.password.empty()) {
    if (url_.user.empty())
      setup.push_back({"AUTH", url_.password});
    else
      setup.push_back({"AUTH", url_.user, url_.password});
  }
  if (url_.db != 0) setup.push_back({"SELECT", std::to_string(url_.db)});
  for (const std::vector<std::string>& command : setup) {
    if (!Append(context_, command)) return Fail(std::string("cannot send: ") + context_->errstr);
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK)
      return Fail(command[0] + ": " + context_->errstr);
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR)
      return Fail(command[0] + " refused: " + std::string(reply->str, reply->len));
  }
  ++connects_;
  log::Info("redis: connected to " + url_.Where() +
            (url_.db != 0 ? " db " + std::to_string(url_.db) : std::string()) +
            ", publishing events to stream " + options_.stream);
  return Status::Ok();
}

Status RedisStreamWriter::Publish(const std::vector<core::EventRecord>& events) {
  std::vector<const core::EventRecord*> wanted;
  for (const core::EventRecord& e : events) {
    if (options_.types.empty() ||
        std::find(options_.types.begin(), options_.types.end(), e.type) != options_.types.end())
      wanted.push_back(&e);
    else
      ++filtered_;
  }
  if (wanted.empty()) return Status::Ok();
  if (!context_) GLINT_RETURN_IF_ERROR(Connect());

  // Every XADD is queued, then sent together, then every reply read: one round trip.
  for (const core::EventRecord* e : wanted) {
    std::vector<std::string> args = {"XADD", options_.stream};
    if (options_.maxlen > 0) {
      args.insert(args.end(), {"MAXLEN", "~", std::to_string(options_.maxlen)});
    }
    args.push_back(std::to_string(e->seq) + "-0");
    for (auto& [name, value] : core::EventFields(*e)) {
      args.push_back(std::move(name));
      args.push_back(std::move(value));
    }
    if (!Append(context_, args)) return Fail(std::string("cannot send: ") + context_->errstr);
  }
  // The replies, in order; every one is read so the connection stays in step. An event
  // refused for another reason is retried, unless a later one went in after it (then its ID
  // is below the stream's top and no retry can add it: lost, and said so).
  std::vector<std::pair<uint64_t, std::string>> refused;  // since the last entry added
  uint64_t first_duplicate = 0, last_duplicate = 0, duplicates = 0;
  for (const core::EventRecord* e : wanted) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK)
      return Fail(std::string("XADD: ") + context_->errstr);
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type != REDIS_REPLY_ERROR) {
      ++added_;
      for (const auto& [seq, error] : refused) {
        ++lost_;
        log::Error("redis: event " + std::to_string(seq) + " is lost for stream " +
                   options_.stream + ": Redis refused it (" + error + ") and took event " +
                   std::to_string(e->seq) + " after it");
      }
      refused.clear();
      continue;
    }
    const std::string_view error(reply->str, reply->len);
    if (error.find(kNotAboveTop) != std::string_view::npos) {
      ++duplicates_;
      if (duplicates++ == 0) first_duplicate = e->seq;
      last_duplicate = e->seq;
    } else {
      refused.emplace_back(e->seq, std::string(error));
    }
  }
  if (duplicates > 0)
    log::Info("redis: events " + std::to_string(first_duplicate) + ".." +
              std::to_string(last_duplicate) + " were already in stream " + options_.stream + " (" +
              std::to_string(duplicates) + " replayed), not added again");
  if (!refused.empty())
    return Unavailable("redis " + url_.Where() + ": XADD " + options_.stream + " of event " +
                           std::to_string(refused.front().first) +
                           " refused: " + refused.front().second,
                       "redis_unavailable");
  return Status::Ok();
}

RedisStreamsPublisher::RedisStreamsPublisher(core::EventLog& log, RedisStreamsOptions options)
    : writer_(options),
      follower_(
          log, "redis:" + options.stream,
          [this](const std::vector<core::EventRecord>& events) { return writer_.Publish(events); },
          options.follow) {}

RedisStreamsPublisher::~RedisStreamsPublisher() { Stop(); }

void RedisStreamsPublisher::Start() { follower_.Start(); }

void RedisStreamsPublisher::Stop() { follower_.Stop(); }

}  // namespace glint::http
