// Compaction: deleting most of the data gives its disk space back, without a reader ever
// missing a byte and without resurrecting anything deleted.
#include "storage/compactor.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/record.h"

namespace glint::storage {
namespace {

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

class CompactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_compactor_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = Db::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    BlobStoreOptions options;
    options.max_segment_bytes = 256 << 10;
    options.cache_bytes = 0;  // every read goes to the files
    auto blobs = BlobStore::Open(dir_ + "/blobs", options);
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(*blobs);
  }
  void TearDown() override {
    blobs_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Appends blob `id` and indexes it, as core does for a photo.
  void Put(uint64_t id, size_t size) {
    auto loc = blobs_->Append(id, std::span<const char>(Pattern(size, id).data(), size));
    ASSERT_TRUE(loc.ok());
    std::string bytes = Pattern(size, static_cast<unsigned>(id));
    loc = blobs_->Append(id, std::span<const char>(bytes.data(), bytes.size()));
    ASSERT_TRUE(loc.ok());
    loc->owner = 1000 + id;
    WriteBatch batch;
    batch.Put(Cf::kBlobs, U64Key(id), loc->Encode());
    ASSERT_TRUE(db_->Write(batch).ok());
    sizes_[id] = size;
  }

  // Deletes blob `id` as core does: the index row, then a tombstone.
  void Delete(uint64_t id) {
    auto lock = blobs_->LockIndex();
    auto row = db_->Get(Cf::kBlobs, U64Key(id));
    ASSERT_TRUE(row.ok() && *row);
    BlobLocation loc = *BlobLocation::Decode(**row);
    WriteBatch batch;
    batch.Delete(Cf::kBlobs, U64Key(id));
    ASSERT_TRUE(db_->Write(batch).ok());
    lock.unlock();
    std::vector<std::pair<uint64_t, BlobLocation>> deleted = {{id, loc}};
    ASSERT_TRUE(blobs_->AppendTombstones(deleted).ok());
    sizes_.erase(id);
  }

  Result<std::string> ReadIndexed(uint64_t id) {
    GLINT_ASSIGN_OR_RETURN(auto row, db_->Get(Cf::kBlobs, U64Key(id)));
    if (!row) return NotFound("no row");
    GLINT_ASSIGN_OR_RETURN(BlobLocation loc, BlobLocation::Decode(*row));
    return blobs_->Read(loc);
  }

  uint64_t FilesBytes() {
    uint64_t total = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ + "/blobs"))
      if (e.path().extension() == ".log") total += e.file_size();
    return total;
  }

  std::string dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<BlobStore> blobs_;
  std::map<uint64_t, size_t> sizes_;
};

TEST_F(CompactorTest, DeletingEightyPercentGivesTheSpaceBack) {
  // Every Put also leaves one unindexed record (an upload never acknowledged): dead too.
  for (uint64_t id = 1; id <= 200; ++id) Put(id, 6000 + 37 * id);
  const uint64_t before = FilesBytes();
  ASSERT_EQ(before, blobs_->DiskBytes());
  for (uint64_t id = 1; id <= 200; ++id)
    if (id % 5 != 0) Delete(id);

  const uint32_t active = blobs_->Segments().back().number;
  uint64_t outside_active = 0;
  for (auto& [id, size] : sizes_) {
    outside_active += BlobLocation::Decode(**db_->Get(Cf::kBlobs, U64Key(id)))->segment != active;
  }

  Compactor compactor(*db_, *blobs_, {.live_threshold = 0.5});
  auto report = compactor.RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GT(report->segments_rewritten, 0u);
  EXPECT_EQ(report->records_moved, outside_active) << "every survivor of a sealed segment moves";

  uint64_t live_bytes = 0;
  for (auto& [id, size] : sizes_) live_bytes += BlobStore::kRecordHeaderBytes + size;
  const uint64_t after = FilesBytes();
  // 10% of the records (the indexed fifth of the half that was indexed) plus the active
  // segment's leftovers and the tombstones: well under a quarter of what was there.
  EXPECT_LT(after, before / 4) << "before " << before << " after " << after;
  EXPECT_GE(after, live_bytes);
  std::cout << "disk bytes: before " << before << ", after deleting 80%: " << after << " (live "
            << live_bytes << ")\n";

  for (auto& [id, size] : sizes_) {
    auto bytes = ReadIndexed(id);
    ASSERT_TRUE(bytes.ok()) << id << ": " << bytes.status().ToString();
    EXPECT_EQ(*bytes, Pattern(size, static_cast<unsigned>(id)));
    // Owners survive the move.
    auto row = db_->Get(Cf::kBlobs, U64Key(id));
    EXPECT_EQ(BlobLocation::Decode(**row)->owner, 1000 + id);
  }
  for (uint64_t id = 1; id <= 200; ++id) {
    if (id % 5 != 0) {
      EXPECT_FALSE(*db_->Get(Cf::kBlobs, U64Key(id))) << "resurrected " << id;
    }
  }
  // A second pass has nothing left to do.
  auto again = compactor.RunOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->records_moved, 0u);
}

TEST_F(CompactorTest, ReadersNeverMissAByteWhileSegmentsMove) {
  for (uint64_t id = 1; id <= 120; ++id) Put(id, 3000 + 11 * id);
  std::vector<uint64_t> keep;
  for (uint64_t id = 1; id <= 120; ++id) {
    if (id % 4 == 0) {
      keep.push_back(id);
    } else {
      Delete(id);
    }
  }
  // Locations taken before compaction, as a cache would hold them.
  std::map<uint64_t, BlobLocation> stale;
  for (uint64_t id : keep) stale[id] = *BlobLocation::Decode(**db_->Get(Cf::kBlobs, U64Key(id)));

  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!done.load()) {
        uint64_t id = keep[rng() % keep.size()];
        const std::string want = Pattern(3000 + 11 * id, static_cast<unsigned>(id));
        // Through the index as a fresh request does, and through a stale location.
        auto fresh = ReadIndexed(id);
        auto old = blobs_->Read(stale[id]);
        if (!fresh.ok() || *fresh != want || !old.ok() || *old != want) ++failures;
        ++reads;
      }
    });
  }
  Compactor compactor(*db_, *blobs_, {.live_threshold = 0.9});
  auto report = compactor.RunOnce();
  done = true;
  for (auto& r : readers) r.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GT(report->segments_rewritten, 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(failures.load(), 0u) << "of " << reads.load() << " reads";
}

TEST_F(CompactorTest, ADeletionDuringCompactionIsNotUndone) {
  for (uint64_t id = 1; id <= 60; ++id) Put(id, 8000);
  for (uint64_t id = 1; id <= 60; ++id)
    if (id % 3 != 0) Delete(id);
  // The compactor copies while a deletion lands; LockIndex keeps the row deleted.
  std::thread deleter([&] {
    for (uint64_t id = 3; id <= 60; id += 6) Delete(id);
  });
  Compactor compactor(*db_, *blobs_, {.live_threshold = 0.9});
  auto report = compactor.RunOnce();
  deleter.join();
  ASSERT_TRUE(report.ok());
  for (uint64_t id = 3; id <= 60; id += 6) {
    EXPECT_FALSE(*db_->Get(Cf::kBlobs, U64Key(id))) << "resurrected " << id;
  }
  for (auto& [id, size] : sizes_) EXPECT_EQ(*ReadIndexed(id), Pattern(size, id)) << id;
}

TEST_F(CompactorTest, BackgroundThreadCompactsAfterDeletions) {
  for (uint64_t id = 1; id <= 100; ++id) Put(id, 5000);
  Compactor compactor(*db_, *blobs_,
                      {.live_threshold = 0.5, .interval = std::chrono::milliseconds(20)});
  compactor.Start();
  const uint64_t before = FilesBytes();
  for (uint64_t id = 1; id <= 100; ++id)
    if (id % 10 != 0) Delete(id);
  for (int i = 0; i < 500 && FilesBytes() > before / 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  compactor.Stop();
  EXPECT_LT(FilesBytes(), before / 3);
  for (auto& [id, size] : sizes_) EXPECT_EQ(*ReadIndexed(id), Pattern(size, id)) << id;
}

}  // namespace
}  // namespace glint::storage
