// S3 tiering against a real S3-protocol server (s3rver, started by the test): segments move
// out only after a verified upload, are read back through ranged GETs (also after a restart
// with an empty cache), and an outage gives kUnavailable, never a wrong byte.
#include "storage/tiering.h"

#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/testutil/s3rver.h"

namespace glint::storage {
namespace {

using testutil::S3rver;

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

class TieringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_tiering_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    S3Config config;
    config.endpoint = s3_.endpoint();
    config.bucket = s3_.bucket();
    config.access_key = S3rver::kAccessKey;
    config.secret_key = S3rver::kSecretKey;
    config.connect_timeout_ms = 1000;
    config.request_timeout_ms = 30000;
    config.max_attempts = 2;
    config.retry_backoff_ms = 50;
    auto client = S3Client::Create(config);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    OpenAll();
  }
  void TearDown() override {
    CloseAll();
    std::filesystem::remove_all(dir_);
  }

  void OpenAll(bool fresh_cache = false) {
    if (fresh_cache) std::filesystem::remove_all(dir_ + "/cache");
    BlobStoreOptions options;
    options.max_segment_bytes = 64 << 10;
    options.cache_bytes = 0;  // every read reaches the tier
    auto blobs = BlobStore::Open(dir_ + "/blobs", options);
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(*blobs);
    TieringOptions topts;
    topts.cache_dir = dir_ + "/cache";
    topts.local_budget_bytes = 1;  // move every sealed segment
    topts.cache_bytes = cache_budget_;
    auto tiering = Tiering::Open(*blobs_, *client_, topts);
    ASSERT_TRUE(tiering.ok()) << tiering.status().ToString();
    tiering_ = std::move(*tiering);
    blobs_->SetRemoteTier(tiering_.get());
  }
  void CloseAll() {
    tiering_.reset();
    blobs_.reset();
  }

  std::vector<BlobLocation> Fill(unsigned count) {
    std::vector<BlobLocation> locs;
    for (unsigned i = 0; i < count; ++i) {
      std::string bytes = Pattern(9000 + 101 * i, i);
      auto loc = blobs_->Append(i, std::span<const char>(bytes.data(), bytes.size()));
      EXPECT_TRUE(loc.ok());
      locs.push_back(*loc);
    }
    return locs;
  }

  Result<std::string> ReadAsyncOnLoop(const BlobLocation& loc) {
    boost::asio::io_context ctx;
    std::optional<Result<std::string>> out;
    boost::asio::co_spawn(
        ctx,
        [&]() -> boost::asio::awaitable<void> { out.emplace(co_await blobs_->ReadAsync(loc)); },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    ctx.run();
    if (!out) return Internal("ReadAsync never completed");
    return std::move(*out);
  }

  size_t LocalSegmentFiles() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ + "/blobs"))
      n += e.path().extension() == ".log";
    return n;
  }

  S3rver s3_;
  std::string dir_;
  uint64_t cache_budget_ = 1 << 20;
  std::unique_ptr<S3Client> client_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<Tiering> tiering_;
};

TEST_F(TieringTest, SealedSegmentsMoveOutAndReadBackAfterARestartWithAnEmptyCache) {
  std::vector<BlobLocation> locs = Fill(30);
  const size_t before = LocalSegmentFiles();
  ASSERT_GT(before, 2u);
  auto report = tiering_->RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->segments_moved, before - 1) << "all but the active segment";
  EXPECT_EQ(LocalSegmentFiles(), 1u);
  for (const SegmentInfo& s : blobs_->Segments()) EXPECT_EQ(s.remote, !s.active) << s.number;
  // The objects are byte-identical copies: the manifest names them.
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/blobs/seg-00000001.remote"));

  for (unsigned i = 0; i < locs.size(); ++i) {
    auto sync = blobs_->Read(locs[i]);
    ASSERT_TRUE(sync.ok()) << i << ": " << sync.status().ToString();
    EXPECT_EQ(*sync, Pattern(9000 + 101 * i, i));
  }
  CloseAll();
  OpenAll(/*fresh_cache=*/true);
  EXPECT_EQ(tiering_->cache_bytes_used(), 0u);
  for (unsigned i = 0; i < locs.size(); ++i) {
    auto async = ReadAsyncOnLoop(locs[i]);
    ASSERT_TRUE(async.ok()) << i << ": " << async.status().ToString();
    EXPECT_EQ(*async, Pattern(9000 + 101 * i, i));
  }
  EXPECT_GT(tiering_->cache_bytes_used(), 0u);
  // Scans (fsck, rebuild-index) read remote segments too.
  uint64_t records = 0;
  for (const SegmentInfo& s : blobs_->Segments()) {
    ASSERT_TRUE(blobs_
                    ->ScanSegment(s.number, true,
                                  [&](const ScannedRecord&) {
                                    ++records;
                                    return true;
                                  })
                    .ok());
  }
  EXPECT_EQ(records, locs.size());
}

TEST_F(TieringTest, AnOutageKeepsDataLocalAndReadsAnswerUnavailableUntilItEnds) {
  std::vector<BlobLocation> locs = Fill(20);
  s3_.Stop();
  const size_t before = LocalSegmentFiles();
  auto failed = tiering_->RunOnce();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable) << failed.status().ToString();
  EXPECT_EQ(LocalSegmentFiles(), before)
      << "nothing is removed before the remote copy is confirmed";
  for (unsigned i = 0; i < locs.size(); ++i)
    EXPECT_EQ(*blobs_->Read(locs[i]), Pattern(9000 + 101 * i, i));

  ASSERT_TRUE(s3_.Start());
  ASSERT_TRUE(tiering_->RunOnce().ok());
  EXPECT_EQ(LocalSegmentFiles(), 1u);
  // Read one blob so it is cached, then lose the bucket.
  ASSERT_TRUE(blobs_->Read(locs[0]).ok());
  s3_.Stop();
  EXPECT_EQ(*blobs_->Read(locs[0]), Pattern(9000, 0)) << "served from the local cache";
  auto down = ReadAsyncOnLoop(locs[1]);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();
  EXPECT_EQ(blobs_->Read(locs[2]).status().code(), Code::kUnavailable);
  ASSERT_TRUE(s3_.Start());
  auto back = ReadAsyncOnLoop(locs[1]);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, Pattern(9000 + 101, 1));
}

TEST_F(TieringTest, ADamagedCacheFileIsFetchedAgainNotServed) {
  std::vector<BlobLocation> locs = Fill(12);
  ASSERT_TRUE(tiering_->RunOnce().ok());
  ASSERT_TRUE(blobs_->Read(locs[0]).ok());  // now cached
  for (auto& e : std::filesystem::directory_iterator(dir_ + "/cache")) {
    std::string path = e.path().string();
    FILE* f = std::fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 100, SEEK_SET);
    std::fputc('!', f);
    std::fclose(f);
  }
  auto read = blobs_->Read(locs[0]);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, Pattern(9000, 0));
}

TEST_F(TieringTest, TheCacheStaysWithinItsBudget) {
  std::vector<BlobLocation> locs = Fill(40);  // ~400 KB of records
  ASSERT_TRUE(tiering_->RunOnce().ok());
  CloseAll();
  cache_budget_ = 100 << 10;
  OpenAll(true);
  for (const BlobLocation& loc : locs) ASSERT_TRUE(blobs_->Read(loc).ok());
  EXPECT_LE(tiering_->cache_bytes_used(), cache_budget_);
  EXPECT_GT(tiering_->cache_bytes_used(), cache_budget_ / 2);
  uint64_t on_disk = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_ + "/cache")) on_disk += e.file_size();
  EXPECT_LE(on_disk, cache_budget_);
}

}  // namespace
}  // namespace glint::storage
