#include "storage/blob_catalog.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "storage/blob_store.h"

namespace glint::storage {
namespace {

constexpr uint64_t kHeaderBytes = 40;  // docs/formats.md, "Blob segment record"

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

class BlobCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_catalog_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = BlobStore::Open(dir_, options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  BlobLocation Append(uint64_t id, const std::string& bytes) {
    auto loc = store_->Append(id, Span(bytes));
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    return loc.ok() ? *loc : BlobLocation{};
  }

  BlobCatalog Build() {
    auto catalog = BlobCatalog::Build(*store_, nullptr);
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    return catalog.ok() ? std::move(*catalog) : BlobCatalog();
  }

  // Flips every bit of one byte of a segment file in place (a disk that lied).
  void FlipByte(uint32_t segment, uint64_t offset) {
    char name[32];
    std::snprintf(name, sizeof name, "/seg-%08u.log", segment);
    int fd = ::open((dir_ + name).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char c = 0;
    ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
    c = static_cast<char>(~c);
    ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
    ::close(fd);
  }

  std::string dir_;
  BlobStoreOptions options_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobCatalogTest, CataloguesEveryRecordInLogOrder) {
  BlobLocation a = Append(1, Pattern(100, 1));
  BlobLocation b = Append(2, Pattern(5000, 2));
  BlobCatalog catalog = Build();
  ASSERT_EQ(catalog.records().size(), 2u);
  EXPECT_TRUE(catalog.damage().empty());
  EXPECT_EQ(catalog.records()[0].blob_id, 1u);
  EXPECT_EQ(catalog.records()[1].blob_id, 2u);
  const CatalogRecord* at = catalog.At(b.segment, b.offset);
  ASSERT_NE(at, nullptr);
  EXPECT_EQ(at->blob_id, 2u);
  EXPECT_EQ(at->length, b.length);
  EXPECT_EQ(at->checksum, b.checksum);
  EXPECT_EQ(catalog.At(a.segment, a.offset + 1), nullptr);
  EXPECT_TRUE(catalog.HasSegment(1));
  EXPECT_FALSE(catalog.HasSegment(2));
  EXPECT_EQ(catalog.total_bytes(), 2 * kHeaderBytes + 5100);
}

TEST_F(BlobCatalogTest, GoesOnPastADamagedPayloadAtTheNextRecord) {
  Append(1, Pattern(100, 1));
  BlobLocation bad = Append(2, Pattern(100, 2));
  BlobLocation after = Append(3, Pattern(100, 3));
  FlipByte(bad.segment, bad.offset + kHeaderBytes + 10);
  BlobCatalog catalog = Build();
  ASSERT_EQ(catalog.records().size(), 2u);
  EXPECT_EQ(catalog.records()[1].blob_id, 3u);
  EXPECT_FALSE(catalog.records()[1].resynced);  // the damaged record's header gave its end
  ASSERT_EQ(catalog.damage().size(), 1u);
  const CatalogDamage& d = catalog.damage()[0];
  EXPECT_EQ(d.range.offset, bad.offset);
  EXPECT_EQ(d.range.bytes, kHeaderBytes + 100);
  EXPECT_TRUE(d.range.header_intact);
  EXPECT_EQ(d.range.blob_id, 2u);
  EXPECT_FALSE(d.tail);
  EXPECT_EQ(catalog.DamageAt(bad.segment, bad.offset), &d);
  EXPECT_EQ(catalog.DamageAt(after.segment, after.offset), nullptr);
  EXPECT_EQ(catalog.At(bad.segment, bad.offset), nullptr);
}

TEST_F(BlobCatalogTest, ResynchronisesPastADamagedHeader) {
  Append(1, Pattern(100, 1));
  BlobLocation bad = Append(2, Pattern(3000, 2));
  BlobLocation after = Append(3, Pattern(100, 3));
  FlipByte(bad.segment, bad.offset + 20);  // inside the length field
  BlobCatalog catalog = Build();
  ASSERT_EQ(catalog.records().size(), 2u);
  const CatalogRecord* found = catalog.At(after.segment, after.offset);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->blob_id, 3u);
  EXPECT_TRUE(found->resynced);
  ASSERT_EQ(catalog.damage().size(), 1u);
  EXPECT_FALSE(catalog.damage()[0].range.header_intact);
  EXPECT_EQ(catalog.damage()[0].range.offset, bad.offset);
  EXPECT_EQ(catalog.damage()[0].range.bytes, after.offset - bad.offset);
}

TEST_F(BlobCatalogTest, DamageAtTheEndIsATail) {
  Append(1, Pattern(100, 1));
  BlobLocation last = Append(2, Pattern(100, 2));
  FlipByte(last.segment, last.offset + 2);  // the magic
  BlobCatalog catalog = Build();
  ASSERT_EQ(catalog.records().size(), 1u);
  ASSERT_EQ(catalog.damage().size(), 1u);
  EXPECT_TRUE(catalog.damage()[0].tail);
  EXPECT_TRUE(catalog.damage()[0].active);
  EXPECT_EQ(catalog.damage()[0].range.bytes, kHeaderBytes + 100);
}

TEST_F(BlobCatalogTest, ATombstoneDeletesTheEarlierRecordsOfItsIdOnly) {
  BlobLocation old_copy = Append(7, Pattern(100, 1));
  std::pair<uint64_t, BlobLocation> deleted{7, old_copy};
  ASSERT_TRUE(store_->AppendTombstones(std::span(&deleted, 1)).ok());
  // The same id appended after its tombstone (an id handed out again) is alive.
  BlobLocation reused = Append(7, Pattern(100, 2));
  Append(8, Pattern(100, 3));
  BlobCatalog catalog = Build();
  EXPECT_EQ(catalog.tombstones(), 1u);
  ASSERT_EQ(catalog.records().size(), 3u);  // tombstones are not records
  EXPECT_TRUE(catalog.Deleted(7, old_copy.segment, old_copy.offset));
  EXPECT_FALSE(catalog.Deleted(7, reused.segment, reused.offset));
  EXPECT_FALSE(catalog.Deleted(8, 1, 0));
  const CatalogRecord* latest = catalog.Latest(7, nullptr);
  ASSERT_NE(latest, nullptr);
  EXPECT_EQ(latest->offset, reused.offset);
  EXPECT_EQ(
      catalog.Latest(7, [&](const CatalogRecord& r) { return r.checksum == old_copy.checksum; }),
      nullptr);  // the old bytes are deleted
}

TEST_F(BlobCatalogTest, CopiesOfABlobAreListedInLogOrder) {
  BlobLocation first = Append(5, Pattern(300, 5));
  Append(6, Pattern(10, 6));
  auto second = store_->Copy(5, first);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  BlobCatalog catalog = Build();
  auto copies = catalog.Copies(5);
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[0]->offset, first.offset);
  EXPECT_EQ(copies[1]->offset, second->offset);
  EXPECT_EQ(catalog.Latest(5, nullptr), copies[1]);
  EXPECT_TRUE(catalog.Copies(99).empty());
}

TEST_F(BlobCatalogTest, ScansEverySegmentWithProgress) {
  store_.reset();
  options_.max_segment_bytes = 1024;
  auto store = BlobStore::Open(dir_, options_);
  ASSERT_TRUE(store.ok());
  store_ = std::move(*store);
  for (uint64_t id = 1; id <= 5; ++id) Append(id, Pattern(700, static_cast<unsigned>(id)));
  std::vector<CatalogProgress> seen;
  auto catalog = BlobCatalog::Build(*store_, [&](const CatalogProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog->segments().size(), 5u);
  EXPECT_EQ(catalog->records().size(), 5u);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().segment_index, 5u);
  EXPECT_EQ(seen.back().segments, 5u);
  EXPECT_EQ(seen.back().bytes_done, seen.back().bytes_total);
  EXPECT_EQ(seen.back().records, 5u);
}

}  // namespace
}  // namespace glint::storage
