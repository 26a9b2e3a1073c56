#include "core/renditions.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <thread>

#include "storage/record.h"
#include "tests/testutil/exif.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint::core {
namespace {

namespace asio = boost::asio;
using storage::Cf;

class RenditionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(storage::Db::Open(dir_.path() + "/db", {})).value();
    blobs_ = std::move(storage::BlobStore::Open(dir_.path() + "/blobs", {})).value();
    ServiceOptions o;
    o.signing_key = std::string(32, 'k');
    o.kdf = {1, 8192};  // libsodium's minimum: tests need no real password cost
    service_ = std::move(Service::Create(*db_, *blobs_, clock_, o)).value();
    TransformerOptions t;
    t.cpu_threads = 1;
    transformer_ = std::make_unique<Transformer>(
        *db_, *blobs_, [this] { return service_->AllocateBlobId(); }, t);
    user_ = std::move(service_->CreateAccount(Principal::Admin(), "ann@example.com", "password1"))
                .value()
                .id;
  }

  void TearDown() override {
    if (worker_) worker_->Stop();
    service_->SetPhotoListener(nullptr);
  }

  void StartWorker(RenditionOptions options = {}) {
    options.retry_pause = std::chrono::milliseconds(50);
    worker_ = std::make_unique<RenditionWorker>(*service_, *transformer_, *db_, options);
    service_->SetPhotoListener([w = worker_.get()](uint64_t id) { w->Notify(id); });
    worker_->Start();
  }

  PhotoView Upload(const std::string& bytes) {
    return std::move(service_->UploadPhoto(Principal{user_, false},
                                           std::span<const char>(bytes.data(), bytes.size())))
        .value();
  }

  // Waits (bounded) until the worker has finished `n` photos.
  void WaitCompleted(uint64_t n) {
    for (int i = 0; i < 3000 && worker_->completed() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(worker_->completed(), n);
  }

  Photo Load(uint64_t id) {
    return std::move(service_->GetPhoto(Principal::Admin(), id)).value().photo;
  }

  bool Due(uint64_t id) { return db_->Get(Cf::kRenditionsDue, storage::U64Key(id))->has_value(); }

  testutil::TempDir dir_;
  ManualClock clock_{1'700'000'000};
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<RenditionWorker> worker_;
  uint64_t user_ = 0;
};

TEST_F(RenditionsTest, RegistrationKeepsExifFactsAndUprightSize) {
  testutil::ExifFields f;
  f.orientation = 6;
  f.make = "Canon";
  f.model = "Canon EOS R5";
  f.date_time_original = "2024:05:01 14:03:22";
  f.offset_time_original = "+02:00";
  f.gps = true;
  PhotoView v =
      Upload(testutil::JpegWithExif(testutil::MakeJpeg(400, 300), testutil::MakeExifBlock(f)));
  EXPECT_EQ(v.photo.width, 300u) << "stored 400x300, shown turned";
  EXPECT_EQ(v.photo.height, 400u);
  EXPECT_EQ(v.photo.camera.make, "Canon");
  EXPECT_EQ(v.photo.camera.model, "Canon EOS R5");
  EXPECT_EQ(v.photo.camera.taken_at, "2024-05-01T14:03:22+02:00");
  EXPECT_EQ(Load(v.photo.id).camera, v.photo.camera) << "kept in the record";
  EXPECT_TRUE(Due(v.photo.id)) << "queued durably with the photo";
}

TEST_F(RenditionsTest, MakesTheBlurHashAndCommonSizesFromOneDecode) {
  StartWorker();
  PhotoView v = Upload(testutil::MakeJpeg(2000, 1500));
  ASSERT_NO_FATAL_FAILURE(WaitCompleted(1));
  Photo p = Load(v.photo.id);
  EXPECT_EQ(p.blurhash.size(), 28u);
  EXPECT_FALSE(Due(v.photo.id));
  EXPECT_EQ(transformer_->renders(), 3u);

  // `?w=640` now comes from the store: no render.
  auto location = service_->AuthorizeBlob(Principal::Admin(), p.blob_id);
  ASSERT_TRUE(location.ok());
  SourceRef source{p.id, *location, p.owner};
  std::vector<std::pair<std::string, std::string>> params = {{"w", "640"}};
  TransformSpec spec = std::move(ParseTransform(params, TransformLimits{})).value();
  asio::io_context io;
  auto fut = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::optional<Result<Variant>>> {
        co_return co_await transformer_->Get(source, spec);
      },
      asio::use_future);
  io.run();
  auto variant = *fut.get();
  ASSERT_TRUE(variant.ok()) << variant.status().ToString();
  auto header =
      codec::ReadHeader(std::span<const char>(variant->bytes->data(), variant->bytes->size()));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->width, 640u);
  EXPECT_EQ(header->height, 480u);
  EXPECT_EQ(transformer_->renders(), 3u);
}

TEST_F(RenditionsTest, WorkLeftByAStoppedServerIsDoneAtTheNextStart) {
  // No worker: the photos' rows wait in the store.
  PhotoView a = Upload(testutil::MakeJpeg(300, 200));
  PhotoView b = Upload(testutil::MakePng(200, 300, true));
  ASSERT_TRUE(Due(a.photo.id) && Due(b.photo.id));
  RenditionOptions only_hash;
  only_hash.widths = {};
  StartWorker(only_hash);
  ASSERT_NO_FATAL_FAILURE(WaitCompleted(2));
  EXPECT_EQ(Load(a.photo.id).blurhash[0], 'L') << "4x3 for landscape";
  EXPECT_EQ(Load(b.photo.id).blurhash[0], 'T') << "3x4 for portrait";
  EXPECT_EQ(transformer_->renders(), 0u);
  EXPECT_FALSE(Due(a.photo.id) || Due(b.photo.id));
}

TEST_F(RenditionsTest, AnUndecodableSourceIsDroppedNotRetriedForever) {
  StartWorker();
  // A sound header over pixel data cut short: accepted at upload (header checks only).
  std::string jpeg = testutil::MakeJpeg(600, 400);
  jpeg.resize(jpeg.size() / 2);
  PhotoView bad = Upload(jpeg);
  PhotoView good = Upload(testutil::MakeJpeg(300, 200));
  ASSERT_NO_FATAL_FAILURE(WaitCompleted(2));
  EXPECT_EQ(Load(bad.photo.id).blurhash, "");
  EXPECT_FALSE(Due(bad.photo.id));
  EXPECT_FALSE(Load(good.photo.id).blurhash.empty());
}

TEST_F(RenditionsTest, AVariantAskedForFirstIsNotRenderedAgain) {
  PhotoView v = Upload(testutil::MakeJpeg(800, 600));
  Photo p = Load(v.photo.id);
  auto location = service_->AuthorizeBlob(Principal::Admin(), p.blob_id);
  ASSERT_TRUE(location.ok());
  std::vector<std::pair<std::string, std::string>> params = {{"w", "150"}};
  TransformSpec spec = std::move(ParseTransform(params, TransformLimits{})).value();
  SourceRef source{p.id, *location, p.owner};
  // Rendered through the renditions path itself first, then the full set.
  ASSERT_TRUE(transformer_->RenderRenditions(source, std::span(&spec, 1)).ok());
  EXPECT_EQ(transformer_->renders(), 1u);
  StartWorker();
  worker_->Notify(v.photo.id);
  ASSERT_NO_FATAL_FAILURE(WaitCompleted(1));
  EXPECT_EQ(transformer_->renders(), 3u) << "640 and 1080 only";
}

TEST(ParseWidthsTest, AcceptsAListAndNamesTheBadItem) {
  EXPECT_EQ(*ParseWidths("150,640,1080"), (std::vector<uint32_t>{150, 640, 1080}));
  EXPECT_EQ(*ParseWidths(" 32 , 32,64"), (std::vector<uint32_t>{32, 64}));
  EXPECT_TRUE(ParseWidths("")->empty());
  for (const char* bad : {"0", "abc", "150,,640", "99999", "-5", "1.5"}) {
    auto r = ParseWidths(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseWidths("1,abc").status().message().find("\"abc\""), std::string::npos);
}

}  // namespace
}  // namespace glint::core
