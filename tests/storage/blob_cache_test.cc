#include "storage/blob_cache.h"

#include <gtest/gtest.h>

namespace glint::storage {
namespace {

BlobLocation Loc(uint64_t offset, uint64_t checksum = 7) { return {1, offset, 0, checksum, 0}; }
std::shared_ptr<const std::string> Bytes(size_t n, char c = 'x') {
  return std::make_shared<const std::string>(n, c);
}

TEST(BlobCacheTest, HitReturnsTheInsertedBytes) {
  BlobCache cache(1 << 20, 1 << 16);
  EXPECT_EQ(cache.Find(Loc(0)), nullptr);
  cache.Insert(Loc(0), Bytes(100, 'a'));
  auto hit = cache.Find(Loc(0));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, std::string(100, 'a'));
}

TEST(BlobCacheTest, ChecksumMismatchIsAMiss) {
  BlobCache cache(1 << 20, 1 << 16);
  cache.Insert(Loc(0, 7), Bytes(10));
  EXPECT_EQ(cache.Find(Loc(0, 8)), nullptr);
}

TEST(BlobCacheTest, LargeBlobsAreNeverCached) {
  BlobCache cache(1 << 20, 1000);
  cache.Insert(Loc(0), Bytes(1001));
  EXPECT_EQ(cache.Find(Loc(0)), nullptr);
  EXPECT_EQ(cache.bytes_for_testing(), 0u);
}

TEST(BlobCacheTest, StaysWithinItsByteBudgetEvictingLeastRecentlyUsed) {
  constexpr uint64_t kBudget = 16 * 1000;  // 1000 bytes per shard
  BlobCache cache(kBudget, 1000);
  for (uint64_t i = 0; i < 1000; ++i) {
    cache.Insert(Loc(i * 4096), Bytes(300));
    EXPECT_LE(cache.bytes_for_testing(), kBudget);
  }
  // The most recent insert is always there; an early one was evicted.
  EXPECT_NE(cache.Find(Loc(999 * 4096)), nullptr);
  EXPECT_EQ(cache.Find(Loc(0)), nullptr);
}

TEST(BlobCacheTest, ReaderKeepsBytesAfterEviction) {
  BlobCache cache(16 * 100, 100);
  cache.Insert(Loc(0), Bytes(100, 'q'));
  auto held = cache.Find(Loc(0));
  for (uint64_t i = 1; i < 200; ++i) cache.Insert(Loc(i * 4096), Bytes(100));
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(*held, std::string(100, 'q'));
}

}  // namespace
}  // namespace glint::storage
