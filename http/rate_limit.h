// Per-client request rate limits: one token bucket per client key (the peer address, or
// "user:<id>" for an authenticated caller).
//
// A bucket holds up to `burst` tokens and refills continuously at `per_second`; a request
// takes one token or is refused with the whole seconds until one is available (what a 429's
// Retry-After says). A new client starts with a full bucket.
//
// Memory is bounded: at most `max_clients` buckets are kept, split evenly across shards. A
// bucket that has refilled completely is dropped first when room is needed (it carries no
// state: a client that comes back gets the full bucket it would have had anyway); only when
// none of the least recently seen buckets is full is the least recently seen one dropped,
// and that client is then treated as new (the limiter errs towards allowing, so a flood of
// distinct keys cannot lock other clients out).
//
// Time is passed in (`now`), so tests drive it; a `now` earlier than a bucket's last update
// refills nothing.
//
// Thread-safety: Take and size may be called from any thread concurrently; each shard has its
// own mutex, so event-loop threads rarely contend.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace glint::http {

struct RateLimit {
  double per_second = 10;  // tokens added per second; 0 = unlimited (Take always allows)
  double burst = 60;       // bucket capacity; values below 1 are raised to 1
};

class RateLimiter {
 public:
  // `max_clients` >= 1 bounds the buckets kept (asserted).
  RateLimiter(RateLimit limit, size_t max_clients);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Decision {
    bool allowed;
    std::chrono::seconds retry_after;  // 0 when allowed; >= 1s (rounded up) when refused
  };

  // Takes one token for `client` at time `now`: allowed when the bucket had one, else refused
  // with the time until it will have one.
  Decision Take(std::string_view client, std::chrono::steady_clock::time_point now);

  // Clients currently holding a bucket (never more than max_clients).
  size_t size() const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  struct Bucket {
    double tokens = 0;
    TimePoint updated;
    std::list<const std::string*>::iterator lru;  // this client's place in Shard::lru
  };
  struct Shard {
    mutable std::mutex mu;
    // Keys point into `buckets` (node-based: element addresses survive rehashing).
    std::list<const std::string*> lru;  // front = most recently seen; GUARDED_BY(mu)
    std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>> buckets;  // GUARDED_BY(mu)
  };
  static constexpr size_t kMaxShards = 16;
  static constexpr size_t kMinShardCapacity = 64;

  // Tokens `b` holds at `now` (refilled, capped at burst).
  double Refilled(const Bucket& b, TimePoint now) const;
  // Makes room for one more bucket in a full shard. REQUIRES: `lock` holds shard.mu.
  void EvictForInsert(Shard& shard, const std::unique_lock<std::mutex>& lock, TimePoint now);

  const RateLimit limit_;
  const size_t shard_count_;
  const size_t per_shard_capacity_;
  std::array<Shard, kMaxShards> shards_;
};

}  // namespace glint::http
