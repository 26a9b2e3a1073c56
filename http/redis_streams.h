// Publishing the event log (core/events.h) to a Redis stream, for deployments that already run
// Redis: a follower (core/follower.h) named "redis:<stream>" hands each batch of events to a
// RedisStreamWriter, which appends them with pipelined XADD commands (one round trip per
// batch) through hiredis.
//
// Entry: ID "<seq>-0" (the event's sequence) and the fields seq, type, subject, actor,
// recipient, time, payload: the webhook body's members (core::EventFields), payload as JSON.
//
// Exactly once in the stream although the follower is at-least-once: Redis refuses an XADD
// whose explicit ID is not above the stream's last ID ("equal or smaller than the target
// stream top item"), and the events of a batch go out in sequence order, so an event repeated
// after a crash or a failed attempt is refused and counted as already published, never added
// twice. This holds while glint is the stream's only writer (docs/operations.md).
//
// Failures (Redis down, timeouts, an error reply other than that refusal) fail the attempt
// with kUnavailable: the follower retries the batch after its backoff, holding back only
// itself, never the request path or the other consumers. A broken connection is dropped and
// made again on the next attempt (with AUTH and SELECT as the URL says).
//
// Thread-safety: ParseRedisUrl is pure. A RedisStreamWriter is used from one thread at a time
// (the follower's); stats() from any. Publish blocks for up to the timeouts: never call it
// from an event loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/events.h"
#include "core/follower.h"

struct redisContext;

namespace glint::http {

// Where Redis is: redis://[[user]:password@]host[:port][/db] (port 6379, db 0 by default) or
// unix:///path/to/redis.sock.
struct RedisUrl {
  std::string host;  // empty with a unix socket
  uint16_t port = 6379;
  std::string socket_path;  // unix:// only
  std::string user;         // AUTH user password (Redis 6 ACLs); empty: AUTH password
  std::string password;     // empty: no AUTH
  uint64_t db = 0;          // SELECT db when not 0
  // host:port or the socket path, without the credentials (for logs).
  std::string Where() const;
};

// kInvalidArgument (reason "bad_redis_url") naming what is wrong: another scheme (rediss://
// is not supported), no host, a bad port or db, a query or fragment.
Result<RedisUrl> ParseRedisUrl(std::string_view url);

struct RedisStreamsOptions {
  std::string url;  // ParseRedisUrl; empty: publishing is off
  std::string stream = "glint:events";
  uint64_t maxlen = 1000000;                // XADD MAXLEN ~ maxlen; 0: no trimming
  std::vector<std::string> types;           // the event types published; empty: every type
  std::chrono::milliseconds timeout{5000};  // connecting, and each round trip
  core::FollowerOptions follow;
};

class RedisStreamWriter {
 public:
  struct Stats {
    uint64_t added = 0;       // entries XADD appended
    uint64_t duplicates = 0;  // entries refused as already in the stream
    uint64_t filtered = 0;    // events not of a published type
    uint64_t connects = 0;    // connections made (the first and every reconnect)
    // Entries Redis refused for another reason (out of memory) while a later entry of the
    // same pipeline went in: their IDs are now below the stream's top, so they cannot be
    // added any more. Each is logged as an error.
    uint64_t lost = 0;
  };

  // `options.url` must be valid (ParseRedisUrl). Connects on the first Publish.
  explicit RedisStreamWriter(RedisStreamsOptions options);
  ~RedisStreamWriter();
  RedisStreamWriter(const RedisStreamWriter&) = delete;
  RedisStreamWriter& operator=(const RedisStreamWriter&) = delete;

  // One attempt at appending the wanted ones of `events` (in sequence order). OK: each of
  // them is in the stream, added now or before. kUnavailable (reason "redis_unavailable"):
  // not all of them are; the same events may be published again.
  Status Publish(const std::vector<core::EventRecord>& events);
  Stats stats() const;

 private:
  Status Connect();
  // Drops the connection after `why` (logged): the next attempt connects again.
  Status Fail(const std::string& why);

  const RedisStreamsOptions options_;
  const RedisUrl url_;
  redisContext* context_ = nullptr;  // owned; null while disconnected
  std::atomic<uint64_t> added_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> filtered_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> lost_{0};
};

// The writer driven by its follower "redis:<stream>". Start/Stop from one thread; stats() from
// any.
class RedisStreamsPublisher {
 public:
  // `log` must outlive the publisher; `options.url` must be valid (ParseRedisUrl).
  RedisStreamsPublisher(core::EventLog& log, RedisStreamsOptions options);
  ~RedisStreamsPublisher();  // Stop()

  void Start();
  void Stop();
  core::Follower::Stats follower_stats() const { return follower_.stats(); }
  const std::string& cursor_name() const { return follower_.name(); }
  RedisStreamWriter::Stats stats() const { return writer_.stats(); }

 private:
  RedisStreamWriter writer_;
  core::Follower follower_;  // last: its thread uses the writer
};

}  // namespace glint::http
