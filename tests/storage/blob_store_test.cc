#include "storage/blob_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace glint::storage {
namespace {

constexpr uint64_t kHeaderBytes = 40;  // docs/formats.md, "Blob segment record"

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_blob_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<BlobStore> OpenStore(BlobStoreOptions options = {}) {
    auto store = BlobStore::Open(dir_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string SegmentPath(uint32_t n) const {
    char name[32];
    std::snprintf(name, sizeof name, "/seg-%08u.log", n);
    return dir_ + name;
  }

  // Flips every bit of one byte of a segment file in place (a disk that lied).
  void FlipByte(uint32_t segment, uint64_t offset) {
    int fd = ::open(SegmentPath(segment).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char c = 0;
    ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
    c = static_cast<char>(~c);
    ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
    ::close(fd);
  }

  // Runs ReadAsync to completion on a fresh io_context, as an event loop would.
  static Result<std::string> ReadAsyncOnLoop(const BlobStore& store, const BlobLocation& loc) {
    boost::asio::io_context ctx;
    std::optional<Result<std::string>> out;
    boost::asio::co_spawn(
        ctx, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await store.ReadAsync(loc)); },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    ctx.run();
    if (!out) return Internal("ReadAsync never completed");
    return std::move(*out);
  }

  std::string dir_;
};

TEST_F(BlobStoreTest, AppendThenReadRoundTrips) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (size_t size : {size_t{0}, size_t{1}, size_t{1} << 20}) {
    std::string bytes = Pattern(size, 1);
    auto loc = store->Append(100 + size, Span(bytes));
    ASSERT_TRUE(loc.ok()) << loc.status().ToString();
    EXPECT_EQ(loc->segment, 1u);
    EXPECT_EQ(loc->length, size);
    EXPECT_EQ(loc->owner, 0u);
    auto read = store->Read(*loc);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, bytes);
  }
}

TEST_F(BlobStoreTest, RecordsAreLaidOutBackToBack) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto a = store->Append(1, Span("abc"));
  auto b = store->Append(2, Span("de"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->offset, 0u);
  EXPECT_EQ(b->offset, kHeaderBytes + 3);
  EXPECT_EQ(std::filesystem::file_size(SegmentPath(1)), 2 * kHeaderBytes + 5);
}

TEST_F(BlobStoreTest, SurvivesReopenAndAppendsAfterTheEnd) {
  BlobLocation first;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    auto loc = store->Append(1, Span("first"));
    ASSERT_TRUE(loc.ok());
    first = *loc;
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto read = store->Read(first);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "first");

  auto second = store->Append(2, Span("second"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->segment, first.segment);
  EXPECT_EQ(second->offset, first.offset + kHeaderBytes + first.length);
  EXPECT_EQ(*store->Read(first), "first");
  EXPECT_EQ(*store->Read(*second), "second");
}

TEST_F(BlobStoreTest, RollsToANewSegmentAtMaxSegmentBytes) {
  BlobStoreOptions options;
  options.max_segment_bytes = 2 * (kHeaderBytes + 100);  // room for exactly two records
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  std::vector<BlobLocation> locs;
  for (unsigned i = 0; i < 5; ++i) {
    auto loc = store->Append(i, Span(Pattern(100, i)));
    ASSERT_TRUE(loc.ok()) << loc.status().ToString();
    locs.push_back(*loc);
  }
  EXPECT_EQ(locs[0].segment, 1u);
  EXPECT_EQ(locs[1].segment, 1u);
  EXPECT_EQ(locs[2].segment, 2u);
  EXPECT_EQ(locs[2].offset, 0u);
  EXPECT_EQ(locs[4].segment, 3u);
  EXPECT_TRUE(std::filesystem::exists(SegmentPath(3)));

  // A blob bigger than a segment still goes somewhere: alone in a fresh segment.
  auto big = store->Append(9, Span(Pattern(1000, 9)));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->segment, 4u);
  EXPECT_EQ(big->offset, 0u);

  // Every segment stays readable, also after a reopen (which appends to the highest).
  store.reset();
  store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  for (unsigned i = 0; i < locs.size(); ++i) {
    auto read = store->Read(locs[i]);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, Pattern(100, i));
  }
  auto next = store->Append(10, Span("x"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->segment, 5u);
}

TEST_F(BlobStoreTest, FlippedPayloadByteIsCorruption) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto loc = store->Append(1, Span("precious bytes"));
  ASSERT_TRUE(loc.ok());
  FlipByte(loc->segment, loc->offset + kHeaderBytes + 3);
  auto read = store->Read(*loc);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kCorruption);
  EXPECT_EQ(read.status().reason(), "blob_corrupt");
}

TEST_F(BlobStoreTest, FlippedHeaderByteIsCorruption) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto loc = store->Append(1, Span("bytes"));
  ASSERT_TRUE(loc.ok());
  // Every header byte is covered: magic, version, flags, blob id, length, both checksums.
  for (uint64_t i = 0; i < kHeaderBytes; ++i) {
    FlipByte(loc->segment, loc->offset + i);
    auto read = store->Read(*loc);
    EXPECT_EQ(read.status().code(), Code::kCorruption) << "header byte " << i;
    FlipByte(loc->segment, loc->offset + i);  // restore
  }
  EXPECT_TRUE(store->Read(*loc).ok());
}

TEST_F(BlobStoreTest, LocationWithWrongChecksumOrLengthIsCorruption) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto loc = store->Append(1, Span("bytes"));
  ASSERT_TRUE(loc.ok());
  BlobLocation wrong_sum = *loc;
  wrong_sum.checksum ^= 1;
  EXPECT_EQ(store->Read(wrong_sum).status().code(), Code::kCorruption);
  BlobLocation wrong_len = *loc;
  wrong_len.length -= 1;
  EXPECT_EQ(store->Read(wrong_len).status().code(), Code::kCorruption);
  BlobLocation past_end = *loc;
  past_end.length = 1ull << 40;  // must fail before allocating a terabyte
  EXPECT_EQ(store->Read(past_end).status().code(), Code::kCorruption);
  BlobLocation wrong_offset = *loc;
  wrong_offset.offset = 1;
  EXPECT_EQ(store->Read(wrong_offset).status().code(), Code::kCorruption);
}

TEST_F(BlobStoreTest, UnknownSegmentIsNotFound) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto loc = store->Append(1, Span("bytes"));
  ASSERT_TRUE(loc.ok());
  for (uint32_t segment : {0u, 2u, 0xffffffffu}) {
    BlobLocation other = *loc;
    other.segment = segment;
    EXPECT_EQ(store->Read(other).status().code(), Code::kNotFound) << segment;
  }
}

TEST_F(BlobStoreTest, AppendOverMaxBlobBytesIsTooLarge) {
  BlobStoreOptions options;
  options.max_blob_bytes = 10;
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Append(1, Span(std::string(10, 'a'))).ok());
  auto big = store->Append(2, Span(std::string(11, 'a')));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kTooLarge);
  EXPECT_EQ(big.status().reason(), "blob_too_large");
}

TEST_F(BlobStoreTest, ReadAsyncThroughIoUringReturnsTheSameBytes) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  if (!store->io_uring_enabled()) GTEST_SKIP() << "io_uring is not available here";
  std::vector<std::pair<BlobLocation, std::string>> blobs;
  for (size_t size : {size_t{0}, size_t{1}, size_t{1} << 20}) {
    std::string bytes = Pattern(size, 3);
    auto loc = store->Append(size, Span(bytes));
    ASSERT_TRUE(loc.ok());
    blobs.emplace_back(*loc, bytes);
  }
  for (const auto& [loc, bytes] : blobs) {
    auto read = ReadAsyncOnLoop(*store, loc);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, bytes);
  }
  EXPECT_TRUE(store->io_uring_enabled());
}

TEST_F(BlobStoreTest, ReadAsyncThroughIoUringDetectsCorruption) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  if (!store->io_uring_enabled()) GTEST_SKIP() << "io_uring is not available here";
  auto loc = store->Append(1, Span("precious bytes"));
  ASSERT_TRUE(loc.ok());
  FlipByte(loc->segment, loc->offset + kHeaderBytes);
  EXPECT_EQ(ReadAsyncOnLoop(*store, *loc).status().code(), Code::kCorruption);
  BlobLocation gone = *loc;
  gone.segment = 7;
  EXPECT_EQ(ReadAsyncOnLoop(*store, gone).status().code(), Code::kNotFound);
}

TEST_F(BlobStoreTest, ReadAsyncWithoutIoUringFallsBackToPread) {
  BlobStoreOptions options;
  options.use_io_uring = false;
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->io_uring_enabled());
  std::string bytes = Pattern(4096, 5);
  auto loc = store->Append(1, Span(bytes));
  ASSERT_TRUE(loc.ok());
  auto read = ReadAsyncOnLoop(*store, *loc);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, bytes);
}

// Readers run on their own loop while blobs are appended: the segment table and the
// durable size are read without the append lock.
TEST_F(BlobStoreTest, ConcurrentAppendsFromEightThreadsAreAllReadable) {
  BlobStoreOptions options;
  options.max_segment_bytes = 16 << 10;  // force rolls while other threads append and read
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  constexpr unsigned kThreads = 8, kPerThread = 25;
  std::vector<std::vector<BlobLocation>> locs(kThreads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (unsigned i = 0; i < kPerThread; ++i) {
        std::string bytes = Pattern(1000 + 37 * i, t * 1000 + i);
        auto loc = store->Append(t * 1000 + i, Span(bytes));
        ASSERT_TRUE(loc.ok()) << loc.status().ToString();
        auto read = store->Read(*loc);  // at once, while others append
        ASSERT_TRUE(read.ok()) << read.status().ToString();
        EXPECT_EQ(*read, bytes);
        locs[t].push_back(*loc);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (unsigned t = 0; t < kThreads; ++t) {
    ASSERT_EQ(locs[t].size(), kPerThread);
    for (unsigned i = 0; i < kPerThread; ++i) {
      auto read = ReadAsyncOnLoop(*store, locs[t][i]);
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      EXPECT_EQ(*read, Pattern(1000 + 37 * i, t * 1000 + i));
    }
  }
}

TEST_F(BlobStoreTest, SecondOpenWhileOpenIsUnavailable) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto second = BlobStore::Open(dir_, BlobStoreOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
}

TEST(BlobLocationTest, EncodeDecodeRoundTrips) {
  BlobLocation loc{.segment = 0xfffffffe,
                   .offset = 1ull << 40,
                   .length = 12345,
                   .checksum = 0xdeadbeefcafef00dull,
                   .owner = 42};
  auto decoded = BlobLocation::Decode(loc.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->segment, loc.segment);
  EXPECT_EQ(decoded->offset, loc.offset);
  EXPECT_EQ(decoded->length, loc.length);
  EXPECT_EQ(decoded->checksum, loc.checksum);
  EXPECT_EQ(decoded->owner, loc.owner);
}

TEST(BlobLocationTest, DecodeOfGarbageIsCorruption) {
  for (std::string_view garbage :
       {std::string_view(""), std::string_view("\x01"), std::string_view("\x01\x02"),
        std::string_view("\x01\x03\x05xy"), std::string_view("garbage bytes")}) {
    auto decoded = BlobLocation::Decode(garbage);
    EXPECT_FALSE(decoded.ok()) << garbage;
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << garbage;
  }
}

}  // namespace
}  // namespace glint::storage
