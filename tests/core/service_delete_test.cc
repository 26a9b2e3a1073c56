// Service::DeletePhoto: every row goes in one write, every blob gets a tombstone, and
// renders racing the delete leave nothing behind.
#include "core/service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <set>
#include <thread>
#include <tuple>

#include "core/email.h"
#include "core/records.h"
#include "core/transformer.h"
#include "storage/record.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint::core {
namespace {

namespace asio = boost::asio;
using storage::Cf;
using storage::U64Key;
using storage::U64PairKey;

constexpr char kPassword[] = "correct horse battery staple";

asio::awaitable<std::optional<Result<Variant>>> Wrapped(Transformer& t, SourceRef source,
                                                        TransformSpec spec) {
  co_return co_await t.Get(source, spec);
}

class DeletePhotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(storage::Db::Open(dir_.path() + "/db", {})).value();
    blobs_ = std::move(storage::BlobStore::Open(dir_.path() + "/blobs", {})).value();
    ServiceOptions o;
    o.signing_key = std::string(32, 'k');
    o.kdf = {1, 8192};  // libsodium's minimum: tests need no real password cost
    service_ = std::move(Service::Create(*db_, *blobs_, clock_, o)).value();
    TransformerOptions t;
    t.cpu_threads = 2;
    transformer_ = std::make_unique<Transformer>(
        *db_, *blobs_, [this] { return service_->AllocateBlobId(); }, t);
    // As tools/config.cc wires it.
    service_->SetPhotoDeletedListener(
        [t = transformer_.get()](uint64_t id) { t->ForgetPhoto(id); });
    ann_ = Principal{NewUser("ann@example.com"), false};
    bob_ = Principal{NewUser("bob@example.com"), false};
  }

  void TearDown() override { service_->SetPhotoDeletedListener(nullptr); }

  uint64_t NewUser(std::string_view email) {
    return std::move(service_->CreateAccount(Principal::Admin(), email, kPassword)).value().id;
  }

  PhotoView Upload(const Principal& who, const std::string& bytes) {
    auto view = service_->UploadPhoto(who, std::span<const char>(bytes.data(), bytes.size()));
    EXPECT_TRUE(view.ok()) << view.status().ToString();
    return std::move(view).value();
  }

  static TransformSpec Spec(std::vector<std::pair<std::string, std::string>> params) {
    return std::move(ParseTransform(params, TransformLimits{})).value();
  }

  SourceRef SourceOf(const PhotoView& v) {
    auto loc = service_->AuthorizeBlob(Principal::Admin(), v.photo.blob_id);
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    return SourceRef{v.photo.id, loc.ok() ? *loc : storage::BlobLocation{}, v.photo.owner};
  }

  Result<Variant> Render(const SourceRef& source, const TransformSpec& spec) {
    asio::io_context io;
    auto fut = asio::co_spawn(io, Wrapped(*transformer_, source, spec), asio::use_future);
    io.run();
    return *fut.get();
  }

  bool Has(Cf cf, const std::string& key) { return db_->Get(cf, key)->has_value(); }

  // The rows of `cf` under `prefix`.
  size_t Count(Cf cf, const std::string& prefix) {
    size_t n = 0;
    EXPECT_TRUE(db_->Scan(cf, prefix, SIZE_MAX,
                          [&](auto, auto) {
                            ++n;
                            return true;
                          })
                    .ok());
    return n;
  }

  // The blob ids the variants rows of `photo_id` name.
  std::vector<uint64_t> VariantBlobs(uint64_t photo_id) {
    std::vector<uint64_t> ids;
    EXPECT_TRUE(db_->Scan(Cf::kVariants, U64Key(photo_id), SIZE_MAX,
                          [&](std::string_view, std::string_view value) {
                            ids.push_back(VariantRecord::Decode(value).value().blob_id);
                            return true;
                          })
                    .ok());
    return ids;
  }

  storage::BlobLocation LocationOf(uint64_t blob_id) {
    auto row = db_->Get(Cf::kBlobs, U64Key(blob_id));
    EXPECT_TRUE(row.ok() && *row) << "no blobs row for " << blob_id;
    return row.ok() && *row ? storage::BlobLocation::Decode(**row).value()
                            : storage::BlobLocation{};
  }

  // (blob id, deleted segment, deleted offset) of every tombstone in the store.
  std::set<std::tuple<uint64_t, uint32_t, uint64_t>> Tombstones() {
    std::set<std::tuple<uint64_t, uint32_t, uint64_t>> out;
    for (const storage::SegmentInfo& seg : blobs_->Segments()) {
      Status s = blobs_->ScanSegment(seg.number, true, [&](const storage::ScannedRecord& r) {
        if (r.tombstone) out.emplace(r.blob_id, r.deleted_segment, r.deleted_offset);
        return true;
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return out;
  }

  static std::string Hash(std::string_view email, bool sha) {
    EmailHashes h = HashEmail(NormalizeEmail(email).value());
    return sha ? h.sha256 : h.md5;
  }

  testutil::TempDir dir_;
  ManualClock clock_{1'700'000'000};
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Transformer> transformer_;
  Principal ann_, bob_;
};

TEST_F(DeletePhotoTest, RemovesEveryRowAndTombstonesEveryBlob) {
  PhotoView photo = Upload(ann_, testutil::MakeJpeg(120, 90));
  ASSERT_TRUE(photo.active);
  const uint64_t id = photo.photo.id;
  SourceRef source = SourceOf(photo);
  ASSERT_TRUE(Render(source, Spec({{"w", "60"}})).ok());
  ASSERT_TRUE(Render(source, Spec({{"s", "32"}, {"fm", "webp"}})).ok());
  std::vector<uint64_t> blobs = VariantBlobs(id);
  ASSERT_EQ(blobs.size(), 2u);
  blobs.push_back(photo.photo.blob_id);
  std::set<std::tuple<uint64_t, uint32_t, uint64_t>> expected;
  for (uint64_t b : blobs) {
    storage::BlobLocation loc = LocationOf(b);
    expected.emplace(b, loc.segment, loc.offset);
  }
  ASSERT_TRUE(Has(Cf::kRenditionsDue, U64Key(id)));
  // A resolved avatar sits in the cache; the delete must not leave it there.
  ASSERT_TRUE(service_->ResolveAvatar(Hash("ann@example.com", false)).ok());
  ASSERT_TRUE(Tombstones().empty());

  ASSERT_TRUE(service_->DeletePhoto(ann_, id).ok());

  EXPECT_FALSE(Has(Cf::kPhotos, U64Key(id)));
  EXPECT_FALSE(Has(Cf::kUserPhotos, U64PairKey(ann_.user_id, id)));
  EXPECT_FALSE(Has(Cf::kRenditionsDue, U64Key(id)));
  EXPECT_EQ(Count(Cf::kVariants, U64Key(id)), 0u);
  for (uint64_t b : blobs) EXPECT_FALSE(Has(Cf::kBlobs, U64Key(b))) << "blob " << b;
  EXPECT_EQ(Tombstones(), expected) << "one tombstone per blob, naming where it was";

  EXPECT_EQ(service_->GetAccount(ann_, ann_.user_id)->active_photo, 0u);
  for (bool sha : {false, true}) {
    auto avatar = service_->ResolveAvatar(Hash("ann@example.com", sha));
    ASSERT_TRUE(avatar.ok()) << avatar.status().ToString();
    EXPECT_EQ(avatar->photo_id, 0u);
    EXPECT_EQ(avatar->missing, "no_avatar");
  }
  EXPECT_EQ(service_->GetPhoto(ann_, id).status().reason(), "photo_not_found");
  EXPECT_EQ(service_->AuthorizeBlob(ann_, photo.photo.blob_id).status().reason(), "blob_not_found");
  EXPECT_TRUE(service_->ListPhotos(ann_, ann_.user_id, 0, 10)->empty());
}

TEST_F(DeletePhotoTest, OnlyTheOwnerOrAnAdminMayDelete) {
  PhotoView photo = Upload(ann_, testutil::MakePng(20, 10));
  const uint64_t id = photo.photo.id;
  for (const Principal& who : {bob_, Principal::Anonymous()}) {
    Status s = service_->DeletePhoto(who, id);
    EXPECT_EQ(s.code(), Code::kNotFound) << "as GetPhoto: someone else's photo is missing";
    EXPECT_EQ(s.reason(), "photo_not_found");
  }
  EXPECT_TRUE(Has(Cf::kPhotos, U64Key(id)));
  EXPECT_TRUE(Tombstones().empty());

  EXPECT_TRUE(service_->DeletePhoto(Principal::Admin(), id).ok());
  EXPECT_FALSE(Has(Cf::kPhotos, U64Key(id)));
  Status again = service_->DeletePhoto(Principal::Admin(), id);
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_EQ(again.reason(), "photo_not_found");
  EXPECT_EQ(service_->DeletePhoto(ann_, id).reason(), "photo_not_found");
  EXPECT_EQ(service_->DeletePhoto(ann_, 999).reason(), "photo_not_found");
  EXPECT_EQ(Tombstones().size(), 1u) << "the second delete marks nothing";
}

TEST_F(DeletePhotoTest, DeletingAnotherPhotoKeepsTheAvatar) {
  PhotoView active = Upload(ann_, testutil::MakeJpeg(40, 30));
  PhotoView other = Upload(ann_, testutil::MakePng(30, 20));
  ASSERT_TRUE(active.active);
  ASSERT_FALSE(other.active);
  ASSERT_TRUE(service_->DeletePhoto(ann_, other.photo.id).ok());
  auto avatar = service_->ResolveAvatar(Hash("ann@example.com", true));
  ASSERT_TRUE(avatar.ok()) << avatar.status().ToString();
  EXPECT_EQ(avatar->photo_id, active.photo.id);
  EXPECT_EQ(service_->GetAccount(ann_, ann_.user_id)->active_photo, active.photo.id);
  EXPECT_TRUE(service_->GetPhoto(ann_, active.photo.id).ok());
}

TEST_F(DeletePhotoTest, ARegisteredUploadStaysUsedAfterItsPhotoIsDeleted) {
  const std::string jpeg = testutil::MakeJpeg(32, 32);
  auto ticket = service_->PrepareUpload(ann_, {}, {});
  ASSERT_TRUE(ticket.ok());
  auto receipt = service_->ReceiveUpload(ticket->grant, ticket->signature,
                                         std::span<const char>(jpeg.data(), jpeg.size()));
  ASSERT_TRUE(receipt.ok());
  auto photo = service_->RegisterUpload(ann_, receipt->upload_id);
  ASSERT_TRUE(photo.ok());
  ASSERT_TRUE(service_->DeletePhoto(ann_, photo->photo.id).ok());
  // Its blob is gone, its mark is not: a 409, not a "missing blob" server error.
  EXPECT_EQ(service_->RegisterUpload(ann_, receipt->upload_id).status().reason(),
            "upload_already_registered");
}

TEST_F(DeletePhotoTest, LegacyVariantRowsAreDeletedWithTheirBlobs) {
  PhotoView photo = Upload(ann_, testutil::MakeJpeg(120, 90));
  const uint64_t id = photo.photo.id;
  TransformSpec spec = Spec({{"w", "50"}});
  auto rendered = Render(SourceOf(photo), spec);
  ASSERT_TRUE(rendered.ok());
  // Rewrite the row as code before variant records wrote it: a copy of the BlobLocation.
  const std::string key = U64Key(id) + spec.CanonicalKey();
  std::vector<uint64_t> variant_blobs = VariantBlobs(id);
  ASSERT_EQ(variant_blobs.size(), 1u);
  const uint64_t variant_blob = variant_blobs[0];
  storage::BlobLocation loc = LocationOf(variant_blob);
  storage::WriteBatch legacy;
  legacy.Put(Cf::kVariants, key, loc.Encode());
  ASSERT_TRUE(db_->Write(legacy).ok());
  ASSERT_TRUE(VariantRecord::Decode(**db_->Get(Cf::kVariants, key))->legacy);

  // Still served, from a fresh transformer (nothing in memory), without a render.
  Transformer fresh(*db_, *blobs_, [this] { return service_->AllocateBlobId(); }, {});
  asio::io_context io;
  auto fut = asio::co_spawn(io, Wrapped(fresh, SourceOf(photo), spec), asio::use_future);
  io.run();
  Result<Variant> read = *fut.get();
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read->bytes, *rendered->bytes);
  EXPECT_EQ(fresh.renders(), 0u);

  storage::BlobLocation original = LocationOf(photo.photo.blob_id);
  ASSERT_TRUE(service_->DeletePhoto(ann_, id).ok());
  EXPECT_FALSE(Has(Cf::kVariants, key));
  EXPECT_FALSE(Has(Cf::kBlobs, U64Key(variant_blob))) << "its id was found in the segment";
  std::set<std::tuple<uint64_t, uint32_t, uint64_t>> expected = {
      {photo.photo.blob_id, original.segment, original.offset},
      {variant_blob, loc.segment, loc.offset}};
  EXPECT_EQ(Tombstones(), expected);
}

TEST_F(DeletePhotoTest, DeletedPhotoIsNotServedFromMemoryNorRecordedAgain) {
  PhotoView photo = Upload(ann_, testutil::MakeJpeg(120, 90));
  SourceRef source = SourceOf(photo);
  TransformSpec spec = Spec({{"w", "40"}});
  ASSERT_TRUE(Render(source, spec).ok());
  ASSERT_TRUE(Render(source, spec).ok());
  ASSERT_EQ(transformer_->renders(), 1u) << "the second came from memory";

  ASSERT_TRUE(service_->DeletePhoto(ann_, photo.photo.id).ok());
  // A request that resolved the photo before the delete reaches the transformer after it.
  auto late = Render(source, spec);
  ASSERT_FALSE(late.ok()) << "served from memory after the delete";
  EXPECT_EQ(late.status().reason(), "photo_not_found");
  EXPECT_EQ(transformer_->renders(), 2u);
  EXPECT_EQ(Count(Cf::kVariants, U64Key(photo.photo.id)), 0u);

  // The background renditions finishing late do not bring the photo back.
  EXPECT_TRUE(service_->RecordRenditions(photo.photo.id, "LEHV6nWB2yk8pyo0adR*.7kCMdnj").ok());
  EXPECT_FALSE(Has(Cf::kPhotos, U64Key(photo.photo.id)));
}

TEST_F(DeletePhotoTest, RendersRacingTheDeleteLeaveNoVariantRows) {
  for (int round = 0; round < 3; ++round) {
    PhotoView photo = Upload(ann_, testutil::MakeJpeg(64, 48));
    SourceRef source = SourceOf(photo);
    std::atomic<int> stored{0};
    std::atomic<bool> done{false};
    std::thread renderer([&] {
      for (int w = 8; w < 40; ++w) {
        auto v = Render(source, Spec({{"w", std::to_string(w)}}));
        if (v.ok()) {
          ++stored;
        } else {
          EXPECT_EQ(v.status().reason(), "photo_not_found");
        }
      }
      done = true;
    });
    // Delete once some variants are stored, while later ones are being rendered.
    while (stored == 0 && !done) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * round));
    Status s = service_->DeletePhoto(ann_, photo.photo.id);
    renderer.join();
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_GT(stored, 0);
    EXPECT_EQ(Count(Cf::kVariants, U64Key(photo.photo.id)), 0u) << "round " << round;
    // Every blob row left belongs to a photo that still exists: none here.
    EXPECT_EQ(Count(Cf::kBlobs, ""), 0u) << "round " << round;
  }
}

}  // namespace
}  // namespace glint::core
