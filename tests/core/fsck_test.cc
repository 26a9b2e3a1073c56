#include "core/fsck.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "core/badge.h"
#include "core/records.h"
#include "core/service.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "storage/record.h"
#include "tests/testutil/images.h"

namespace glint::core {
namespace {

using storage::BlobLocation;
using storage::Cf;
using storage::U64Key;

constexpr uint64_t kHeaderBytes = 40;  // docs/formats.md, "Blob segment record"
constexpr char kSigningKey[] = "test-signing-key-0123456789abcdef-0123456789";

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

class FsckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/glint_fsck_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_NO_FATAL_FAILURE(Open());
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    auto db = storage::Db::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto blobs = storage::BlobStore::Open(dir_ + "/blobs", blob_options_);
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(*blobs);
    ServiceOptions o;
    o.signing_key = kSigningKey;
    o.kdf = {1, 8192};
    auto service = Service::Create(*db_, *blobs_, clock_, o);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
  }
  void Close() {
    service_.reset();
    blobs_.reset();
    db_.reset();
  }

  // A user with `photos` photos; returns their ids.
  std::vector<PhotoView> MakeUser(const std::string& email, int photos) {
    auto account = service_->CreateAccount(Principal::Admin(), email, "correct horse battery");
    EXPECT_TRUE(account.ok()) << account.status().ToString();
    if (!account.ok()) return {};
    std::vector<PhotoView> out;
    for (int i = 0; i < photos; ++i) {
      std::string jpeg = testutil::MakeJpeg(40 + 8 * i + static_cast<int>(email.size()), 32);
      auto photo = service_->UploadPhoto(Principal{account->id, false}, Span(jpeg));
      EXPECT_TRUE(photo.ok()) << photo.status().ToString();
      if (photo.ok()) out.push_back(*photo);
    }
    return out;
  }

  // Stores a rendered variant of `photo` as core/transformer.cc does: a blob, its index row,
  // and a variant row in today's format (blob id in field 6) or the legacy one (a copy of
  // the location).
  uint64_t AddVariant(const Photo& photo, const std::string& spec, bool legacy) {
    const uint64_t id = service_->AllocateBlobId();
    std::string bytes = testutil::MakeJpeg(16, 12);
    auto loc = blobs_->Append(id, Span(bytes));
    EXPECT_TRUE(loc.ok());
    loc->owner = photo.owner;
    storage::WriteBatch batch;
    batch.Put(Cf::kBlobs, U64Key(id), loc->Encode());
    batch.Put(Cf::kVariants, U64Key(photo.id) + spec,
              legacy ? loc->Encode() : storage::RecordWriter().PutU64(6, id).Finish());
    EXPECT_TRUE(db_->Write(batch).ok());
    return id;
  }

  // A received upload never registered (a pending upload row).
  uint64_t AddPendingUpload(uint64_t user_id) {
    auto ticket = service_->PrepareUpload(Principal{user_id, false}, {}, {});
    EXPECT_TRUE(ticket.ok());
    std::string jpeg = testutil::MakeJpeg(24, 24);
    auto receipt = service_->ReceiveUpload(ticket->grant, ticket->signature, Span(jpeg));
    EXPECT_TRUE(receipt.ok()) << receipt.status().ToString();
    uint64_t blob_id = 0;
    EXPECT_TRUE(db_->Scan(Cf::kUploads, "", 100,
                          [&](std::string_view, std::string_view v) {
                            auto u = ReceivedUpload::Decode(v);
                            if (u.ok() && u->photo_id == 0) blob_id = u->blob_id;
                            return true;
                          })
                    .ok());
    return blob_id;
  }

  std::map<uint64_t, std::string> IndexRows() {
    std::map<uint64_t, std::string> rows;
    EXPECT_TRUE(db_->Scan(Cf::kBlobs, "", SIZE_MAX,
                          [&](std::string_view k, std::string_view v) {
                            rows[*storage::ReadU64BE(k)] = std::string(v);
                            return true;
                          })
                    .ok());
    return rows;
  }

  BlobLocation Row(uint64_t blob_id) {
    auto row = db_->Get(Cf::kBlobs, U64Key(blob_id));
    EXPECT_TRUE(row.ok() && *row) << "no index row for blob " << blob_id;
    if (!row.ok() || !*row) return {};
    return *BlobLocation::Decode(**row);
  }

  void DeleteRow(Cf cf, const std::string& key) {
    storage::WriteBatch batch;
    batch.Delete(cf, key);
    ASSERT_TRUE(db_->Write(batch).ok());
  }

  void FlipByte(uint32_t segment, uint64_t offset) {
    char name[32];
    std::snprintf(name, sizeof name, "/blobs/seg-%08u.log", segment);
    int fd = ::open((dir_ + name).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char c = 0;
    ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
    c = static_cast<char>(~c);
    ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
    ::close(fd);
  }

  FsckReport Fsck(bool repair = false) {
    FsckOptions options;
    options.repair = repair;
    options.batch_ops = 2;  // several batches even in a small store
    auto report = CheckStore(*db_, *blobs_, options, nullptr);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? std::move(*report) : FsckReport();
  }

  RebuildReport Rebuild() {
    RebuildOptions options;
    options.batch_ops = 2;
    auto report = RebuildBlobIndex(*db_, *blobs_, options, nullptr);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? std::move(*report) : RebuildReport();
  }

  static std::string Describe(const FsckReport& r) {
    std::string out;
    for (const Finding& f : r.findings) {
      out += std::string(FindingName(f.kind)) + ": " + f.what + " [" + f.fix_note + "]\n";
    }
    return out;
  }
  static uint64_t Count(const FsckReport& r, FindingKind kind) {
    return r.by_kind[static_cast<size_t>(kind)];
  }
  static const Finding* First(const FsckReport& r, FindingKind kind) {
    for (const Finding& f : r.findings)
      if (f.kind == kind) return &f;
    return nullptr;
  }

  std::string dir_;
  storage::BlobStoreOptions blob_options_;
  ManualClock clock_{1'700'000'000};
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<Service> service_;
};

TEST_F(FsckTest, AHealthyStoreIsClean) {
  auto alice = MakeUser("alice@example.com", 2);
  auto bob = MakeUser("bob@example.com", 1);
  AddVariant(alice[0].photo, "w=16", /*legacy=*/false);
  AddVariant(alice[0].photo, "w=20", /*legacy=*/true);
  AddPendingUpload(bob[0].photo.owner);
  FsckReport r = Fsck();
  EXPECT_TRUE(r.clean()) << Describe(r);
  EXPECT_EQ(r.counts.photos, 3u);
  EXPECT_EQ(r.counts.variants, 2u);
  EXPECT_EQ(r.counts.pending_uploads, 1u);
  EXPECT_EQ(r.counts.records, 6u);
  EXPECT_EQ(r.index_rows, 6u);
  EXPECT_EQ(r.counts.orphans, 0u);
  EXPECT_EQ(r.unreferenced_index_rows, 0u);
}

TEST_F(FsckTest, AFlippedPayloadByteIsReportedNamingThePhoto) {
  auto photos = MakeUser("alice@example.com", 3);
  const Photo& victim = photos[1].photo;
  BlobLocation loc = Row(victim.blob_id);
  FlipByte(loc.segment, loc.offset + kHeaderBytes + 7);

  FsckReport r = Fsck();
  EXPECT_FALSE(r.clean());
  EXPECT_EQ(r.differences, 2u) << Describe(r);  // the damaged bytes and the row pointing there
  const Finding* damaged = First(r, FindingKind::kDamagedRecord);
  ASSERT_NE(damaged, nullptr) << Describe(r);
  EXPECT_EQ(damaged->blob_id, victim.blob_id);
  EXPECT_EQ(damaged->photo_id, victim.id);
  EXPECT_EQ(damaged->offset, loc.offset);
  const Finding* row = First(r, FindingKind::kDamagedIndexRow);
  ASSERT_NE(row, nullptr) << Describe(r);
  EXPECT_EQ(row->photo_id, victim.id);
  EXPECT_NE(row->what.find("photo " + std::to_string(victim.id)), std::string::npos) << row->what;
  EXPECT_FALSE(row->fixable);  // no other copy

  // --repair cannot invent the bytes; the damaged stretch is not a tail, so it stays.
  FsckReport again = Fsck(/*repair=*/true);
  EXPECT_EQ(again.differences, 2u);
  EXPECT_EQ(again.repaired, 0u);
  // The records after the damaged one were still checked: nothing else is wrong.
  EXPECT_EQ(again.counts.records, 2u);
}

TEST_F(FsckTest, AMissingIndexRowIsReportedAndRestoredByRepair) {
  auto photos = MakeUser("alice@example.com", 2);
  const Photo& photo = photos[0].photo;
  const auto before = IndexRows();
  DeleteRow(Cf::kBlobs, U64Key(photo.blob_id));

  FsckReport r = Fsck();
  EXPECT_EQ(r.differences, 1u) << Describe(r);
  ASSERT_EQ(Count(r, FindingKind::kMissingIndexRow), 1u);
  EXPECT_EQ(r.findings[0].photo_id, photo.id);
  EXPECT_TRUE(r.findings[0].fixable);
  EXPECT_FALSE(r.findings[0].repaired);
  EXPECT_FALSE(db_->Get(Cf::kBlobs, U64Key(photo.blob_id))->has_value());  // a dry run

  FsckReport fixed = Fsck(/*repair=*/true);
  EXPECT_EQ(fixed.repaired, 1u) << Describe(fixed);
  EXPECT_EQ(IndexRows(), before);  // owner included
  EXPECT_TRUE(Fsck().clean());
}

TEST_F(FsckTest, ADamagedRecordIsRepointedToAnIntactCopy) {
  auto photos = MakeUser("alice@example.com", 2);
  const Photo& photo = photos[0].photo;
  const BlobLocation original = Row(photo.blob_id);
  // An interrupted compaction: the record was copied, the old segment not yet retired.
  auto copy = blobs_->Copy(photo.blob_id, original);
  ASSERT_TRUE(copy.ok());
  FsckReport spare = Fsck();
  EXPECT_TRUE(spare.clean()) << Describe(spare);
  EXPECT_EQ(spare.counts.spare_copies, 1u);

  FlipByte(original.segment, original.offset + kHeaderBytes + 3);
  FsckReport r = Fsck(/*repair=*/true);
  ASSERT_EQ(Count(r, FindingKind::kDamagedIndexRow), 1u) << Describe(r);
  const Finding* row = First(r, FindingKind::kDamagedIndexRow);
  EXPECT_TRUE(row->repaired) << row->fix_note;
  BlobLocation now = Row(photo.blob_id);
  EXPECT_EQ(now.segment, copy->segment);
  EXPECT_EQ(now.offset, copy->offset);
  EXPECT_EQ(now.owner, photo.owner);
  EXPECT_TRUE(blobs_->Read(now).ok());
  // Only the damaged stretch (in the middle of the segment) is left.
  FsckReport after = Fsck();
  EXPECT_EQ(after.differences, 1u) << Describe(after);
  EXPECT_EQ(Count(after, FindingKind::kDamagedRecord), 1u);
}

TEST_F(FsckTest, RowsOfTombstonedBlobsAreDeletedByRepair) {
  MakeUser("alice@example.com", 1);
  // A row nothing refers to, for a blob a tombstone deleted (an index restored from an older
  // backup would look like this).
  const uint64_t id = service_->AllocateBlobId();
  auto loc = blobs_->Append(id, Span(std::string("gone")));
  ASSERT_TRUE(loc.ok());
  storage::WriteBatch batch;
  batch.Put(Cf::kBlobs, U64Key(id), loc->Encode());
  ASSERT_TRUE(db_->Write(batch).ok());
  std::pair<uint64_t, BlobLocation> deleted{id, *loc};
  ASSERT_TRUE(blobs_->AppendTombstones(std::span(&deleted, 1)).ok());

  FsckReport r = Fsck(/*repair=*/true);
  EXPECT_EQ(Count(r, FindingKind::kTombstonedIndexRow), 1u) << Describe(r);
  EXPECT_EQ(r.repaired, 1u);
  EXPECT_FALSE(db_->Get(Cf::kBlobs, U64Key(id))->has_value());
  FsckReport after = Fsck();
  EXPECT_TRUE(after.clean()) << Describe(after);
  EXPECT_EQ(after.counts.deleted_records, 1u);
  EXPECT_EQ(after.counts.tombstones, 1u);
}

TEST_F(FsckTest, AWrongOwnerIsCorrected) {
  auto photos = MakeUser("alice@example.com", 1);
  const Photo& photo = photos[0].photo;
  BlobLocation loc = Row(photo.blob_id);
  loc.owner = 999;
  storage::WriteBatch batch;
  batch.Put(Cf::kBlobs, U64Key(photo.blob_id), loc.Encode());
  ASSERT_TRUE(db_->Write(batch).ok());
  FsckReport r = Fsck(/*repair=*/true);
  EXPECT_EQ(Count(r, FindingKind::kOwnerMismatch), 1u) << Describe(r);
  EXPECT_EQ(Row(photo.blob_id).owner, photo.owner);
  EXPECT_TRUE(Fsck().clean());
}

TEST_F(FsckTest, VariantRowsThatCannotBeServedAreDropped) {
  auto photos = MakeUser("alice@example.com", 1);
  const Photo& photo = photos[0].photo;
  AddVariant(photo, "w=16", /*legacy=*/false);
  // A legacy row naming a place where no record starts, and a row of a photo that is gone.
  BlobLocation nowhere{1, 3, 10, 42, photo.owner};
  storage::WriteBatch batch;
  batch.Put(Cf::kVariants, U64Key(photo.id) + "w=32", nowhere.Encode());
  batch.Put(Cf::kVariants, U64Key(photo.id + 100) + "w=16",
            storage::RecordWriter().PutU64(6, photo.blob_id).Finish());
  ASSERT_TRUE(db_->Write(batch).ok());
  // And a current variant whose bytes are lost.
  const uint64_t lost = AddVariant(photo, "w=24", /*legacy=*/false);
  BlobLocation lost_loc = Row(lost);
  FlipByte(lost_loc.segment, lost_loc.offset + kHeaderBytes + 1);

  FsckReport r = Fsck(/*repair=*/true);
  EXPECT_EQ(Count(r, FindingKind::kStaleVariantRow), 2u) << Describe(r);
  EXPECT_EQ(Count(r, FindingKind::kDamagedIndexRow), 1u) << Describe(r);
  std::vector<std::string> left;
  ASSERT_TRUE(db_->Scan(Cf::kVariants, "", 100,
                        [&](std::string_view k, std::string_view) {
                          left.emplace_back(k.substr(8));
                          return true;
                        })
                  .ok());
  EXPECT_EQ(left, std::vector<std::string>{"w=16"});
  EXPECT_FALSE(db_->Get(Cf::kBlobs, U64Key(lost))->has_value());
  // The lost variant was the last record: with its row gone, its damaged bytes are a tail
  // nothing points into, and were cut.
  EXPECT_EQ(Count(r, FindingKind::kDamagedRecord), 1u);
  EXPECT_EQ(r.repaired, r.differences) << Describe(r);
  FsckReport after = Fsck();
  EXPECT_TRUE(after.clean()) << Describe(after);
}

TEST_F(FsckTest, ADamagedTailIsTruncatedWhenNothingIndexedFollows) {
  Close();
  blob_options_.max_segment_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Open());
  auto photos = MakeUser("alice@example.com", 1);
  // An orphan at the end of segment 1, then a blob too large for it: segment 1 is sealed.
  auto orphan = blobs_->Append(service_->AllocateBlobId(), Span(std::string(1000, 'o')));
  ASSERT_TRUE(orphan.ok());
  auto big = blobs_->Append(service_->AllocateBlobId(), Span(std::string(64 << 10, 'b')));
  ASSERT_TRUE(big.ok());
  ASSERT_EQ(orphan->segment, 1u);
  ASSERT_EQ(big->segment, 2u);
  FsckReport before = Fsck();
  EXPECT_TRUE(before.clean()) << Describe(before);
  EXPECT_EQ(before.counts.orphans, 2u);
  EXPECT_EQ(before.counts.orphan_bytes, 1000u + (64 << 10));

  FlipByte(orphan->segment, orphan->offset + 1);  // its header
  FsckReport r = Fsck(/*repair=*/true);
  ASSERT_EQ(Count(r, FindingKind::kDamagedRecord), 1u) << Describe(r);
  EXPECT_TRUE(r.findings[0].repaired) << r.findings[0].fix_note;
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/blobs/seg-00000001.log"), orphan->offset);
  FsckReport after = Fsck();
  EXPECT_TRUE(after.clean()) << Describe(after);
  EXPECT_EQ(after.counts.orphans, 1u);
  EXPECT_TRUE(blobs_->Read(Row(photos[0].photo.blob_id)).ok());
}

TEST_F(FsckTest, RebuildRestoresEveryRowExactly) {
  auto alice = MakeUser("alice@example.com", 2);
  auto bob = MakeUser("bob@example.com", 2);
  AddVariant(alice[1].photo, "w=16", /*legacy=*/false);
  AddVariant(bob[0].photo, "w=16", /*legacy=*/true);
  AddPendingUpload(bob[0].photo.owner);
  // An orphan: bytes appended for an upload that never got its row.
  ASSERT_TRUE(blobs_->Append(service_->AllocateBlobId(), Span(std::string("orphan"))).ok());
  const auto before = IndexRows();
  ASSERT_EQ(before.size(), 7u);

  for (const auto& [id, value] : before) DeleteRow(Cf::kBlobs, U64Key(id));
  // And a row that should not be there at all.
  storage::WriteBatch junk;
  junk.Put(Cf::kBlobs, U64Key(12345), BlobLocation{1, 0, 1, 1, 1}.Encode());
  ASSERT_TRUE(db_->Write(junk).ok());

  RebuildReport r = Rebuild();
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.rows_before, 1u);
  EXPECT_EQ(r.rows_deleted, 1u);
  EXPECT_EQ(r.rows_put, 7u);
  EXPECT_EQ(r.rows_after, 7u);
  EXPECT_EQ(r.counts.orphans, 1u);
  EXPECT_EQ(IndexRows(), before);
  EXPECT_TRUE(Fsck().clean());

  // Rebuilding a correct index changes nothing.
  RebuildReport again = Rebuild();
  EXPECT_EQ(again.rows_put, 0u);
  EXPECT_EQ(again.rows_deleted, 0u);
  EXPECT_EQ(IndexRows(), before);
}

TEST_F(FsckTest, RebuildDoesNotResurrectDeletedBlobs) {
  auto photos = MakeUser("alice@example.com", 2);
  const Photo& gone = photos[1].photo;
  // Deleting photo 2 as core/ does: its rows in one batch, then the tombstone.
  const BlobLocation loc = Row(gone.blob_id);
  storage::WriteBatch batch;
  batch.Delete(Cf::kPhotos, U64Key(gone.id));
  batch.Delete(Cf::kUserPhotos, storage::U64PairKey(gone.owner, gone.id));
  batch.Delete(Cf::kBlobs, U64Key(gone.blob_id));
  ASSERT_TRUE(db_->Write(batch).ok());
  std::pair<uint64_t, BlobLocation> deleted{gone.blob_id, loc};
  ASSERT_TRUE(blobs_->AppendTombstones(std::span(&deleted, 1)).ok());
  // A pending upload whose blob was deleted anyway still must not bring it back.
  const uint64_t pending = AddPendingUpload(gone.owner);
  const BlobLocation pending_loc = Row(pending);
  std::pair<uint64_t, BlobLocation> also{pending, pending_loc};
  ASSERT_TRUE(blobs_->AppendTombstones(std::span(&also, 1)).ok());

  RebuildReport r = Rebuild();
  EXPECT_FALSE(db_->Get(Cf::kBlobs, U64Key(gone.blob_id))->has_value());
  EXPECT_FALSE(db_->Get(Cf::kBlobs, U64Key(pending))->has_value());
  EXPECT_TRUE(db_->Get(Cf::kBlobs, U64Key(photos[0].photo.blob_id))->has_value());
  EXPECT_EQ(r.counts.deleted_records, 2u);
  EXPECT_EQ(r.counts.orphans, 0u);
  EXPECT_EQ(r.lost, 1u);  // the pending upload, named
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].blob_id, pending);
}

TEST_F(FsckTest, RebuildTakesTheLatestCopyWithTheExpectedBytes) {
  auto photos = MakeUser("alice@example.com", 1);
  const Photo& photo = photos[0].photo;
  const BlobLocation original = Row(photo.blob_id);
  auto copy = blobs_->Copy(photo.blob_id, original);
  ASSERT_TRUE(copy.ok());
  // Then other bytes under the same id (an id handed out again to a render that lost): the
  // photo's checksum tells them apart.
  ASSERT_TRUE(blobs_->Append(photo.blob_id, Span(std::string("not the photo"))).ok());
  DeleteRow(Cf::kBlobs, U64Key(photo.blob_id));

  RebuildReport r = Rebuild();
  EXPECT_EQ(r.lost, 0u);
  BlobLocation now = Row(photo.blob_id);
  EXPECT_EQ(now.segment, copy->segment);
  EXPECT_EQ(now.offset, copy->offset);
  EXPECT_EQ(now.checksum, photo.checksum);
  EXPECT_EQ(now.owner, photo.owner);
  EXPECT_EQ(r.counts.spare_copies, 2u);
}

TEST_F(FsckTest, RebuildDropsVariantsWhoseBytesAreLost) {
  auto photos = MakeUser("alice@example.com", 1);
  const uint64_t variant = AddVariant(photos[0].photo, "w=16", /*legacy=*/true);
  const BlobLocation loc = Row(variant);
  FlipByte(loc.segment, loc.offset + kHeaderBytes);
  RebuildReport r = Rebuild();
  EXPECT_EQ(r.variants_dropped, 1u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_FALSE(db_->Get(Cf::kBlobs, U64Key(variant))->has_value());
  bool any = false;
  ASSERT_TRUE(db_->Scan(Cf::kVariants, "", 10,
                        [&](std::string_view, std::string_view) {
                          any = true;
                          return false;
                        })
                  .ok());
  EXPECT_FALSE(any);
}

TEST_F(FsckTest, ProgressCoversEveryPhase) {
  MakeUser("alice@example.com", 2);
  std::vector<CheckProgress::Phase> phases;
  auto report = CheckStore(*db_, *blobs_, FsckOptions{}, [&](const CheckProgress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
  });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(phases,
            (std::vector<CheckProgress::Phase>{CheckProgress::kSegments, CheckProgress::kReferences,
                                               CheckProgress::kIndex, CheckProgress::kRows}));
}

constexpr TagBox kBox{0.1, 0.2, 0.3, 0.4};

TEST_F(FsckTest, TagsAndBadgesWrittenByTheServiceAreClean) {
  auto alice = MakeUser("alice@example.com", 2);
  auto bob = MakeUser("bob@example.com", 1);
  const uint64_t a = alice[0].photo.owner, b = bob[0].photo.owner;
  ASSERT_TRUE(service_->TagPhoto({a, false}, alice[0].photo.id, b, kBox).ok());
  ASSERT_TRUE(service_->TagPhoto({a, false}, alice[1].photo.id, a, kBox).ok());
  ASSERT_TRUE(service_->TagPhoto({b, false}, bob[0].photo.id, a, kBox).ok());
  ASSERT_TRUE(service_->RemoveTag({a, false}, bob[0].photo.id, a).ok());
  Badges badges(*db_, clock_, {});
  const std::vector<BadgeEvent> events{{a, b}, {7, b}, {b, a}, {a, b}};
  ASSERT_TRUE(badges.Ingest(Principal::Service(), events).ok());
  ASSERT_TRUE(badges.Ack({a, false}, a).ok());

  FsckReport r = Fsck();
  EXPECT_TRUE(r.clean()) << Describe(r);
  EXPECT_EQ(r.rows.tags, 2u);
  EXPECT_EQ(r.rows.tagged, 2u);
  EXPECT_EQ(r.rows.badges, 2u);         // b counted 2, a acknowledged (0)
  EXPECT_EQ(r.rows.badge_senders, 2u);  // b's senders a and 7
}

TEST_F(FsckTest, TagRowsOutOfStepAreReportedAndRepaired) {
  auto alice = MakeUser("alice@example.com", 1);
  auto bob = MakeUser("bob@example.com", 1);
  const uint64_t a = alice[0].photo.owner, b = bob[0].photo.owner;
  const uint64_t photo = alice[0].photo.id;
  auto tagged = service_->TagPhoto({a, false}, photo, b, kBox);
  ASSERT_TRUE(tagged.ok()) << tagged.status().ToString();
  const TagResult kept = *tagged;
  // Its tagged row lost: bob's list misses the photo.
  DeleteRow(Cf::kTagged, TaggedKey(kept.tag));
  // A tag of a photo that is gone, with both its rows.
  TagRecord orphan = kept.tag;
  orphan.photo_id = 999;
  storage::WriteBatch batch;
  batch.Put(Cf::kTags, TagKey(orphan.photo_id, orphan.user_id), orphan.Encode());
  batch.Put(Cf::kTagged, TaggedKey(orphan), "");
  // A tagged row for a tag that is not there, and one whose key is no tagged key.
  TagRecord ghost = kept.tag;
  ghost.user_id = a;
  batch.Put(Cf::kTagged, TaggedKey(ghost), "");
  batch.Put(Cf::kTagged, "short", "");
  // A tags row that names another photo than its key.
  TagRecord moved = kept.tag;
  moved.user_id = 5;
  batch.Put(Cf::kTags, TagKey(photo + 1, 5), moved.Encode());
  ASSERT_TRUE(db_->Write(batch).ok());

  FsckReport r = Fsck();
  EXPECT_EQ(r.differences, 5u) << Describe(r);
  EXPECT_EQ(Count(r, FindingKind::kMissingTaggedRow), 1u) << Describe(r);
  EXPECT_EQ(Count(r, FindingKind::kOrphanTagRow), 1u) << Describe(r);
  EXPECT_EQ(Count(r, FindingKind::kStrayTaggedRow), 1u) << Describe(r);
  EXPECT_EQ(Count(r, FindingKind::kMalformedRow), 2u) << Describe(r);
  const Finding* missing = First(r, FindingKind::kMissingTaggedRow);
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->photo_id, photo);
  EXPECT_NE(missing->what.find("user " + std::to_string(b)), std::string::npos) << missing->what;
  EXPECT_EQ(First(r, FindingKind::kOrphanTagRow)->photo_id, 999u);
  auto before = service_->ListTaggedPhotos({b, false}, b, "", 10);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->photos.empty());

  r = Fsck(/*repair=*/true);
  EXPECT_EQ(r.repaired, 5u) << Describe(r);
  r = Fsck();
  EXPECT_TRUE(r.clean()) << Describe(r);
  EXPECT_EQ(r.rows.tags, 1u);
  EXPECT_EQ(r.rows.tagged, 1u);
  auto after = service_->ListTaggedPhotos({b, false}, b, "", 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->photos.size(), 1u);
  EXPECT_EQ(after->photos[0].photo.photo.id, photo);
  EXPECT_EQ(after->photos[0].tag.created_at, kept.tag.created_at);
  EXPECT_EQ(after->photos[0].tag.box, kBox);
}

TEST_F(FsckTest, BadgeCountsAreSetToTheNumberOfTheirSenders) {
  Badges badges(*db_, clock_, {});
  const std::vector<BadgeEvent> events{{1, 10}, {2, 10}, {3, 11}};
  ASSERT_TRUE(badges.Ingest(Principal::Service(), events).ok());
  ASSERT_TRUE(Fsck().clean());
  storage::WriteBatch batch;
  batch.Put(Cf::kBadges, U64Key(10), BadgeRecord{5, 1234}.Encode());  // 2 senders
  batch.Put(Cf::kBadgeSenders, storage::U64PairKey(12, 1), "");       // no badges row
  batch.Put(Cf::kBadgeSenders, storage::U64PairKey(12, 2), "");
  batch.Put(Cf::kBadges, U64Key(11), std::string("\xff\xff", 2));  // does not decode
  ASSERT_TRUE(db_->Write(batch).ok());

  FsckReport r = Fsck();
  EXPECT_EQ(r.differences, 3u) << Describe(r);
  EXPECT_EQ(Count(r, FindingKind::kBadgeCountMismatch), 3u) << Describe(r);
  r = Fsck(/*repair=*/true);
  EXPECT_EQ(r.repaired, 3u) << Describe(r);
  EXPECT_TRUE(Fsck().clean());
  auto read = [&](uint64_t receiver) {
    auto row = db_->Get(Cf::kBadges, U64Key(receiver));
    EXPECT_TRUE(row.ok() && *row);
    return row.ok() && *row ? *BadgeRecord::Decode(**row) : BadgeRecord{};
  };
  EXPECT_EQ(read(10).count, 2u);
  EXPECT_EQ(read(10).acked_at, 1234);  // kept
  EXPECT_EQ(read(11).count, 1u);
  EXPECT_EQ(read(12).count, 2u);
  Badges reopened(*db_, clock_, {});
  EXPECT_EQ(*reopened.Count(Principal::Admin(), 12), 2u);
}

TEST_F(FsckTest, ABadgeWithoutSendersIsSetToZero) {
  storage::WriteBatch batch;
  batch.Put(Cf::kBadges, U64Key(20), BadgeRecord{3, 99}.Encode());
  batch.Put(Cf::kBadges, U64Key(21), BadgeRecord{0, 98}.Encode());  // acknowledged: fine
  ASSERT_TRUE(db_->Write(batch).ok());
  FsckReport r = Fsck(/*repair=*/true);
  EXPECT_EQ(Count(r, FindingKind::kBadgeCountMismatch), 1u) << Describe(r);
  EXPECT_EQ(r.differences, 1u) << Describe(r);
  EXPECT_TRUE(Fsck().clean());
  Badges reopened(*db_, clock_, {});
  EXPECT_EQ(*reopened.Count(Principal::Admin(), 20), 0u);
}

}  // namespace
}  // namespace glint::core
