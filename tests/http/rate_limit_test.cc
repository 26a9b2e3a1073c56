#include "http/rate_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace glint::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = std::chrono::steady_clock::time_point;

const TimePoint kStart = TimePoint() + std::chrono::hours(1000);

// How many of `n` takes at `now` are allowed.
int Allowed(RateLimiter& limiter, std::string_view client, TimePoint now, int n) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) allowed += limiter.Take(client, now).allowed ? 1 : 0;
  return allowed;
}

TEST(RateLimiterTest, BurstIsAllowedThenRefused) {
  RateLimiter limiter({.per_second = 1, .burst = 5}, 100);
  for (int i = 0; i < 5; ++i) {
    RateLimiter::Decision d = limiter.Take("10.0.0.1", kStart);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.retry_after, seconds(0));
  }
  RateLimiter::Decision d = limiter.Take("10.0.0.1", kStart);
  EXPECT_FALSE(d.allowed);
  EXPECT_GE(d.retry_after, seconds(1));
}

TEST(RateLimiterTest, TokensRefillAtTheRate) {
  RateLimiter limiter({.per_second = 2, .burst = 4}, 100);
  EXPECT_EQ(Allowed(limiter, "a", kStart, 10), 4);
  // 1.5 s at 2/s: three tokens.
  EXPECT_EQ(Allowed(limiter, "a", kStart + milliseconds(1500), 10), 3);
  // 0.25 s: half a token, not enough; 0.5 s after that refill: one.
  EXPECT_EQ(Allowed(limiter, "a", kStart + milliseconds(1750), 10), 0);
  EXPECT_EQ(Allowed(limiter, "a", kStart + milliseconds(2000), 10), 1);
  // A long idle time refills to the burst, never beyond it.
  EXPECT_EQ(Allowed(limiter, "a", kStart + seconds(3600), 100), 4);
}

TEST(RateLimiterTest, RetryAfterIsTheWholeSecondsUntilTheNextToken) {
  RateLimiter limiter({.per_second = 0.5, .burst = 2}, 100);
  EXPECT_EQ(Allowed(limiter, "a", kStart, 2), 2);
  // Empty bucket at 0.5/s: the next token is 2 s away.
  EXPECT_EQ(limiter.Take("a", kStart).retry_after, seconds(2));
  // 1.5 s later three quarters of a token are there; 0.5 s to go, rounded up to 1 s.
  EXPECT_EQ(limiter.Take("a", kStart + milliseconds(1500)).retry_after, seconds(1));
  // Waiting exactly as told succeeds.
  EXPECT_TRUE(limiter.Take("a", kStart + seconds(2)).allowed);

  // A fast rate still says at least one second.
  RateLimiter fast({.per_second = 100, .burst = 1}, 100);
  EXPECT_TRUE(fast.Take("b", kStart).allowed);
  EXPECT_EQ(fast.Take("b", kStart).retry_after, seconds(1));
  // A slow one says the full wait: 1 token per minute.
  RateLimiter slow({.per_second = 1.0 / 60, .burst = 1}, 100);
  EXPECT_TRUE(slow.Take("c", kStart).allowed);
  EXPECT_EQ(slow.Take("c", kStart).retry_after, seconds(60));
  EXPECT_EQ(slow.Take("c", kStart + seconds(45)).retry_after, seconds(15));
}

TEST(RateLimiterTest, ClientsHaveTheirOwnBuckets) {
  RateLimiter limiter({.per_second = 1, .burst = 3}, 100);
  EXPECT_EQ(Allowed(limiter, "10.0.0.1", kStart, 10), 3);
  EXPECT_EQ(Allowed(limiter, "10.0.0.2", kStart, 10), 3);
  EXPECT_EQ(Allowed(limiter, "user:42", kStart, 10), 3);
  EXPECT_FALSE(limiter.Take("10.0.0.1", kStart).allowed);
  EXPECT_EQ(limiter.size(), 3u);
}

TEST(RateLimiterTest, ZeroRateIsUnlimitedAndKeepsNoState) {
  RateLimiter limiter({.per_second = 0, .burst = 1}, 10);
  EXPECT_EQ(Allowed(limiter, "a", kStart, 10000), 10000);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiterTest, ClockGoingBackwardsRefillsNothing) {
  RateLimiter limiter({.per_second = 1, .burst = 2}, 10);
  EXPECT_EQ(Allowed(limiter, "a", kStart, 2), 2);
  EXPECT_FALSE(limiter.Take("a", kStart - seconds(100)).allowed);
  EXPECT_FALSE(limiter.Take("a", kStart).allowed);
  EXPECT_TRUE(limiter.Take("a", kStart + seconds(1)).allowed);
}

TEST(RateLimiterTest, MemoryStaysBoundedUnderAMillionDistinctClients) {
  constexpr size_t kMaxClients = 10000;
  RateLimiter limiter({.per_second = 1, .burst = 10}, kMaxClients);
  for (int i = 0; i < 1'000'000; ++i) {
    // Each new client is allowed: a flood of keys never locks anyone out.
    // One per microsecond: every bucket still owes tokens when room is needed, the worst case.
    auto now = kStart + std::chrono::microseconds(i);
    ASSERT_TRUE(limiter.Take("client-" + std::to_string(i), now).allowed);
    if (i % 100'000 == 0) {
      ASSERT_LE(limiter.size(), kMaxClients);
    }
  }
  EXPECT_LE(limiter.size(), kMaxClients);
  EXPECT_GT(limiter.size(), kMaxClients / 2);  // the budget is used, not wasted
}

TEST(RateLimiterTest, FullBucketsAreEvictedBeforeClientsThatOweTokens) {
  RateLimiter two({.per_second = 1, .burst = 2}, 2);
  // "drained" owes tokens; "idle" took one token long ago and is full again by the time a
  // third client arrives, so "idle" goes and "drained" keeps its empty bucket.
  EXPECT_EQ(Allowed(two, "idle", kStart, 1), 1);
  EXPECT_EQ(Allowed(two, "drained", kStart + seconds(10), 2), 2);
  EXPECT_EQ(Allowed(two, "new", kStart + seconds(10), 1), 1);
  EXPECT_LE(two.size(), 2u);
  EXPECT_FALSE(two.Take("drained", kStart + seconds(10)).allowed);
}

TEST(RateLimiterTest, WhenNoBucketIsFullTheLeastRecentlySeenIsForgotten) {
  RateLimiter limiter({.per_second = 1, .burst = 2}, 2);
  EXPECT_EQ(Allowed(limiter, "old", kStart, 2), 2);
  EXPECT_EQ(Allowed(limiter, "recent", kStart, 2), 2);
  EXPECT_EQ(Allowed(limiter, "new", kStart, 1), 1);
  EXPECT_EQ(limiter.size(), 2u);
  // "recent" was kept with its empty bucket; "old" starts over with a full one.
  EXPECT_FALSE(limiter.Take("recent", kStart).allowed);
}

TEST(RateLimiterTest, ConcurrentTakesNeverOverGrant) {
  constexpr int kThreads = 4;
  constexpr int kTakesPerThread = 20000;
  RateLimiter limiter({.per_second = 1, .burst = 500}, 1000);
  std::atomic<int> shared_allowed{0};
  std::atomic<int> own_allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTakesPerThread; ++i) {
        // One shared client at a fixed time (no refill) and a few clients per thread.
        if (limiter.Take("shared", kStart).allowed) ++shared_allowed;
        std::string own = "t" + std::to_string(t) + "-" + std::to_string(i % 50);
        if (limiter.Take(own, kStart).allowed) ++own_allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(shared_allowed.load(), 500);
  EXPECT_EQ(own_allowed.load(), kThreads * kTakesPerThread);  // 400 takes each, under 500
}

}  // namespace
}  // namespace glint::http
