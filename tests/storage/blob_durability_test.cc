// The blob store across crashes: tail scans after an unclean stop, fsync policies, group
// commit, tombstones, and the retirement of segments with readers forwarded.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/blob_store.h"

namespace glint::storage {
namespace {

constexpr uint64_t kHeaderBytes = BlobStore::kRecordHeaderBytes;

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

class BlobDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_blob_dur_XXXXXX";
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

  // What a kill -9 leaves: the store was never closed, so no clean-shutdown marker.
  void ForgetCleanShutdown() { std::filesystem::remove(dir_ + "/CLEAN"); }

  void AppendRaw(uint32_t segment, const std::string& bytes) {
    int fd = ::open(SegmentPath(segment).c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }

  std::string dir_;
};

TEST_F(BlobDurabilityTest, FsyncPolicyParses) {
  auto always = FsyncPolicy::Parse("always");
  ASSERT_TRUE(always.ok());
  EXPECT_EQ(always->mode, FsyncPolicy::kAlways);
  auto interval = FsyncPolicy::Parse("interval:250");
  ASSERT_TRUE(interval.ok());
  EXPECT_EQ(interval->mode, FsyncPolicy::kInterval);
  EXPECT_EQ(interval->interval_ms, 250u);
  EXPECT_EQ(interval->ToString(), "interval:250");
  for (const char* bad : {"", "sometimes", "interval:", "interval:0", "interval:-5",
                          "interval:60001", "interval:10ms", "ALWAYS"}) {
    auto p = FsyncPolicy::Parse(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_EQ(p.status().reason(), "invalid_fsync") << bad;
    }
  }
}

TEST_F(BlobDurabilityTest, CleanShutdownSkipsTheTailScan) {
  BlobLocation loc;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    loc = *store->Append(1, Span(Pattern(1000, 1)));
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->tail_report().scanned);
  EXPECT_EQ(*store->Read(loc), Pattern(1000, 1));
}

TEST_F(BlobDurabilityTest, TornTailIsCutAfterACrashAndAppendsContinueThere) {
  std::vector<BlobLocation> locs;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (unsigned i = 0; i < 3; ++i) locs.push_back(*store->Append(i, Span(Pattern(5000, i))));
  }
  ForgetCleanShutdown();
  const uint64_t good_end = locs.back().offset + kHeaderBytes + 5000;
  // Half of a fourth record: its header, then a payload cut short, as a crash mid-write leaves.
  {
    auto donor_dir = dir_ + "/donor";
    auto donor = BlobStore::Open(donor_dir, {});
    ASSERT_TRUE(donor.ok());
    (void)(*donor)->Append(3, Span(Pattern(5000, 3)));
    donor->reset();
    std::string whole(kHeaderBytes + 5000, '\0');
    int fd = ::open((donor_dir + "/seg-00000001.log").c_str(), O_RDONLY);
    ASSERT_EQ(::pread(fd, whole.data(), whole.size(), 0), static_cast<ssize_t>(whole.size()));
    ::close(fd);
    std::filesystem::remove_all(donor_dir);
    AppendRaw(1, whole.substr(0, kHeaderBytes + 1234));
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const TailReport& tail = store->tail_report();
  EXPECT_TRUE(tail.scanned);
  EXPECT_EQ(tail.segment, 1u);
  EXPECT_EQ(tail.records, 3u);
  EXPECT_EQ(tail.valid_end, good_end);
  EXPECT_EQ(tail.cut_bytes, kHeaderBytes + 1234);
  EXPECT_FALSE(tail.reason.empty());
  EXPECT_EQ(std::filesystem::file_size(SegmentPath(1)), good_end);
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(*store->Read(locs[i]), Pattern(5000, i));
  auto next = store->Append(9, Span("after the cut"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->offset, good_end);
  EXPECT_EQ(*store->Read(*next), "after the cut");
}

TEST_F(BlobDurabilityTest, ChecksumFailingRecordAndEverythingAfterItAreCut) {
  std::vector<BlobLocation> locs;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (unsigned i = 0; i < 4; ++i) locs.push_back(*store->Append(i, Span(Pattern(3000, i))));
  }
  ForgetCleanShutdown();
  // A payload byte of the third record never reached the disk right.
  {
    int fd = ::open(SegmentPath(1).c_str(), O_RDWR);
    char c = 0;
    const off_t at = static_cast<off_t>(locs[2].offset + kHeaderBytes + 10);
    ASSERT_EQ(::pread(fd, &c, 1, at), 1);
    c = static_cast<char>(~c);
    ASSERT_EQ(::pwrite(fd, &c, 1, at), 1);
    ::close(fd);
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->tail_report().valid_end, locs[2].offset);
  EXPECT_EQ(store->tail_report().reason, "payload checksum mismatch");
  EXPECT_EQ(*store->Read(locs[1]), Pattern(3000, 1));
  // Never served: the cut records are past the end.
  EXPECT_EQ(store->Read(locs[2]).status().code(), Code::kCorruption);
  EXPECT_EQ(store->Read(locs[3]).status().code(), Code::kCorruption);
}

TEST_F(BlobDurabilityTest, GarbageHeaderAtTheTailIsCut) {
  BlobLocation loc;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    loc = *store->Append(1, Span("kept"));
  }
  ForgetCleanShutdown();
  AppendRaw(1, std::string(100, 'z'));
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->tail_report().cut_bytes, 100u);
  EXPECT_EQ(store->tail_report().reason, "bad magic");
  EXPECT_EQ(*store->Read(loc), "kept");
}

TEST_F(BlobDurabilityTest, IntervalPolicyAppendsAreReadableAndSurviveReopen) {
  BlobStoreOptions options;
  options.fsync = *FsyncPolicy::Parse("interval:5");
  options.max_segment_bytes = 64 << 10;
  std::vector<BlobLocation> locs;
  {
    auto store = OpenStore(options);
    ASSERT_NE(store, nullptr);
    for (unsigned i = 0; i < 40; ++i) {
      auto loc = store->Append(i, Span(Pattern(4000, i)));
      ASSERT_TRUE(loc.ok());
      EXPECT_EQ(*store->Read(*loc), Pattern(4000, i));
      locs.push_back(*loc);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a few sync rounds
  }
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_GT(locs.back().segment, 1u);
  for (unsigned i = 0; i < locs.size(); ++i) EXPECT_EQ(*store->Read(locs[i]), Pattern(4000, i));
}

TEST_F(BlobDurabilityTest, GroupCommitKeepsEveryConcurrentAppendIntactAndDistinct) {
  BlobStoreOptions options;
  options.max_segment_bytes = 256 << 10;  // several rolls inside batches
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  constexpr unsigned kThreads = 16, kEach = 40;
  std::vector<std::vector<BlobLocation>> locs(kThreads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (unsigned i = 0; i < kEach; ++i) {
        auto loc = store->Append(t * 1000 + i, Span(Pattern(1000 + 97 * i, t * 1000 + i)));
        ASSERT_TRUE(loc.ok()) << loc.status().ToString();
        locs[t].push_back(*loc);
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t records = 0;
  for (const SegmentInfo& seg : store->Segments()) {
    ASSERT_TRUE(store
                    ->ScanSegment(seg.number, true,
                                  [&](const ScannedRecord&) {
                                    ++records;
                                    return true;
                                  })
                    .ok());
  }
  EXPECT_EQ(records, kThreads * kEach);  // no record lost or written twice
  for (unsigned t = 0; t < kThreads; ++t) {
    for (unsigned i = 0; i < kEach; ++i) {
      EXPECT_EQ(*store->Read(locs[t][i]), Pattern(1000 + 97 * i, t * 1000 + i));
    }
  }
}

TEST_F(BlobDurabilityTest, TombstonesAreScannedWithWhatTheyDelete) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto a = *store->Append(7, Span("doomed"));
  std::vector<std::pair<uint64_t, BlobLocation>> deleted = {{7, a}};
  ASSERT_TRUE(store->AppendTombstones(deleted).ok());
  EXPECT_EQ(store->tombstones_appended(), 1u);
  std::vector<ScannedRecord> seen;
  ASSERT_TRUE(store
                  ->ScanSegment(1, true,
                                [&](const ScannedRecord& r) {
                                  seen.push_back(r);
                                  return true;
                                })
                  .ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].tombstone);
  EXPECT_EQ(seen[0].blob_id, 7u);
  EXPECT_TRUE(seen[1].tombstone);
  EXPECT_EQ(seen[1].blob_id, 7u);
  EXPECT_EQ(seen[1].deleted_segment, a.segment);
  EXPECT_EQ(seen[1].deleted_offset, a.offset);
  // A tombstone survives a crash like any record.
  store.reset();
  ForgetCleanShutdown();
  store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->tail_report().records, 2u);
  EXPECT_EQ(store->tail_report().cut_bytes, 0u);
}

TEST_F(BlobDurabilityTest, RetiredSegmentForwardsReadersToTheCopy) {
  BlobStoreOptions options;
  options.max_segment_bytes = 4096;
  options.cache_bytes = 0;
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  auto old_loc = *store->Append(1, Span(Pattern(3000, 1)));
  (void)*store->Append(2, Span(Pattern(3000, 2)));  // rolls: segment 1 is sealed
  ASSERT_EQ(old_loc.segment, 1u);
  auto held = store->OpenExtent(old_loc);  // a sender that holds the old file
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  auto copy = store->Copy(1, old_loc);
  ASSERT_TRUE(copy.ok());
  EXPECT_NE(copy->segment, 1u);
  ASSERT_TRUE(store->RetireSegment(1, {{old_loc.offset, *copy}}).ok());
  EXPECT_FALSE(std::filesystem::exists(SegmentPath(1)));
  // A stale location (an in-memory cache, a request in flight) still reads the same bytes.
  EXPECT_EQ(*store->Read(old_loc), Pattern(3000, 1));
  EXPECT_EQ(*store->Read(*copy), Pattern(3000, 1));
  // The holder's descriptor still reads the unlinked file.
  std::string bytes(held->length, '\0');
  ASSERT_EQ(::pread(held->fd, bytes.data(), bytes.size(), static_cast<off_t>(held->offset)),
            static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(bytes, Pattern(3000, 1));
  // The active segment is never retired.
  EXPECT_EQ(store->RetireSegment(store->Segments().back().number, {}).code(), Code::kConflict);
}

TEST_F(BlobDurabilityTest, OpenExtentRefusesACorruptRecord) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto loc = *store->Append(1, Span(Pattern(10000, 1)));
  int fd = ::open(SegmentPath(1).c_str(), O_RDWR);
  const char c = 0x55;
  ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(loc.offset + kHeaderBytes + 9000)), 1);
  ::close(fd);
  EXPECT_EQ(store->OpenExtent(loc).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace glint::storage
