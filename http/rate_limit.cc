#include "http/rate_limit.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace glint::http {

RateLimiter::RateLimiter(RateLimit limit, size_t max_clients)
    : limit_{limit.per_second, std::max(limit.burst, 1.0)},
      // Shards of at least kMinShardCapacity buckets: a tiny shard would evict its clients
      // long before the limiter as a whole is full.
      shard_count_(std::clamp<size_t>(max_clients / kMinShardCapacity, 1, kMaxShards)),
      per_shard_capacity_(std::max<size_t>(max_clients / shard_count_, 1)) {
  assert(max_clients >= 1 && "RateLimiter needs room for at least one client");
  assert(limit.per_second >= 0 && "a negative rate means nothing");
}

double RateLimiter::Refilled(const Bucket& b, TimePoint now) const {
  if (now <= b.updated) return b.tokens;
  double elapsed = std::chrono::duration<double>(now - b.updated).count();
  return std::min(limit_.burst, b.tokens + elapsed * limit_.per_second);
}

void RateLimiter::EvictForInsert(Shard& shard, const std::unique_lock<std::mutex>& lock,
                                 TimePoint now) {
  assert(lock.owns_lock() && lock.mutex() == &shard.mu);
  (void)lock;
  // The least recently seen buckets have had the longest to refill: drop those that are full
  // (no state lost). Each bucket is dropped at most once, so this is amortised O(1).
  bool dropped = false;
  while (!shard.lru.empty()) {
    auto it = shard.buckets.find(*shard.lru.back());
    assert(it != shard.buckets.end());
    if (Refilled(it->second, now) < limit_.burst) break;
    shard.lru.pop_back();
    shard.buckets.erase(it);
    dropped = true;
  }
  if (dropped || shard.buckets.size() < per_shard_capacity_) return;
  // Every candidate still owes tokens: forget the least recently seen client.
  shard.buckets.erase(shard.buckets.find(*shard.lru.back()));
  shard.lru.pop_back();
}

RateLimiter::Decision RateLimiter::Take(std::string_view client, TimePoint now) {
  if (limit_.per_second <= 0) return {true, std::chrono::seconds(0)};
  Shard& shard = shards_[std::hash<std::string_view>{}(client) % shard_count_];
  std::unique_lock<std::mutex> lock(shard.mu);

  auto it = shard.buckets.find(client);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_capacity_) EvictForInsert(shard, lock, now);
    it = shard.buckets.emplace(std::string(client), Bucket{limit_.burst, now, {}}).first;
    shard.lru.push_front(&it->first);
    it->second.lru = shard.lru.begin();
  } else {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
  }

  Bucket& b = it->second;
  b.tokens = Refilled(b, now);
  b.updated = std::max(b.updated, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return {true, std::chrono::seconds(0)};
  }
  // Rounded up (a client retrying after it must succeed); the epsilon keeps an exact whole
  // number of seconds computed with rounding error from becoming the next one.
  double wait = (1 - b.tokens) / limit_.per_second;
  auto secs = static_cast<std::chrono::seconds::rep>(std::ceil(wait - 1e-9));
  return {false, std::chrono::seconds(std::max<std::chrono::seconds::rep>(secs, 1))};
}

size_t RateLimiter::size() const {
  size_t n = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    n += shards_[i].buckets.size();
  }
  return n;
}

}  // namespace glint::http
