#include "core/transformer.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "core/records.h"
#include "storage/record.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint::core {
namespace {

namespace asio = boost::asio;
using storage::Cf;

// co_spawn's future needs a default-constructible value.
asio::awaitable<std::optional<Result<Variant>>> Wrapped(Transformer& t, SourceRef source,
                                                        TransformSpec spec) {
  co_return co_await t.Get(source, spec);
}

class TransformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(storage::Db::Open(dir_.path() + "/db", {})).value();
    blobs_ = std::move(storage::BlobStore::Open(dir_.path() + "/blobs", {})).value();
    std::string jpeg = testutil::MakeJpeg(400, 300);
    source_.photo_id = 7;
    source_.owner = 1;
    source_.blob =
        std::move(blobs_->Append(next_blob_++, std::span<const char>(jpeg.data(), jpeg.size())))
            .value();
    // Variants are recorded only while their photo exists.
    Photo photo;
    photo.id = source_.photo_id;
    photo.owner = source_.owner;
    photo.blob_id = 1;
    storage::WriteBatch batch;
    batch.Put(Cf::kPhotos, storage::U64Key(photo.id), photo.Encode());
    ASSERT_TRUE(db_->Write(batch).ok());
  }

  std::string KeyOf(const TransformSpec& spec) const {
    return storage::U64Key(source_.photo_id) + spec.CanonicalKey();
  }

  std::optional<std::string> Row(Cf cf, const std::string& key) {
    return std::move(db_->Get(cf, key)).value();
  }

  std::unique_ptr<Transformer> Make(size_t max_queue = 64) {
    TransformerOptions o;
    o.cpu_threads = 2;
    o.max_queue = max_queue;
    return std::make_unique<Transformer>(
        *db_, *blobs_, [this] { return next_blob_++; }, o);
  }

  static TransformSpec Spec(std::vector<std::pair<std::string, std::string>> params) {
    return std::move(ParseTransform(params, TransformLimits{})).value();
  }

  Result<Variant> GetOne(Transformer& t, const TransformSpec& spec) {
    asio::io_context io;
    auto fut = asio::co_spawn(io, Wrapped(t, source_, spec), asio::use_future);
    io.run();
    return *fut.get();
  }

  testutil::TempDir dir_;
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::atomic<uint64_t> next_blob_{1};
  SourceRef source_;
};

TEST_F(TransformerTest, RendersOnceThenServesFromMemory) {
  auto t = Make();
  TransformSpec spec = Spec({{"w", "100"}});
  auto first = GetOne(*t, spec);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto header =
      codec::ReadHeader(std::span<const char>(first->bytes->data(), first->bytes->size()));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->width, 100u);
  EXPECT_EQ(header->height, 75u);
  EXPECT_EQ(first->format, codec::Format::kJpeg);
  auto second = GetOne(*t, Spec({{"w", "100"}}));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(t->renders(), 1u);
  EXPECT_EQ(*second->bytes, *first->bytes);
  EXPECT_EQ(second->etag, first->etag);
}

TEST_F(TransformerTest, ConcurrentMissesShareOneRender) {
  auto t = Make();
  TransformSpec spec = Spec({{"s", "64"}, {"fm", "webp"}});
  asio::io_context io;
  std::vector<std::future<std::optional<Result<Variant>>>> results;
  for (int i = 0; i < 20; ++i)
    results.push_back(asio::co_spawn(io, Wrapped(*t, source_, spec), asio::use_future));
  io.run();
  std::string bytes;
  for (auto& f : results) {
    Result<Variant> v = *f.get();
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    if (bytes.empty()) bytes = *v->bytes;
    EXPECT_EQ(*v->bytes, bytes);
    EXPECT_EQ(v->format, codec::Format::kWebp);
  }
  EXPECT_EQ(t->renders(), 1u) << "one transform for twenty concurrent requests";
}

TEST_F(TransformerTest, RenderedVariantsSurviveARestart) {
  TransformSpec spec = Spec({{"w", "50"}, {"fm", "png"}});
  std::string etag;
  {
    auto t = Make();
    auto v = GetOne(*t, spec);
    ASSERT_TRUE(v.ok());
    etag = v->etag;
  }
  auto again = Make();
  auto v = GetOne(*again, spec);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(again->renders(), 0u) << "read back from the blob store, not recomputed";
  EXPECT_EQ(v->etag, etag);
  EXPECT_EQ(v->format, codec::Format::kPng);
}

TEST_F(TransformerTest, FullQueueRefusesMissesButServesStoredVariants) {
  TransformSpec stored = Spec({{"w", "40"}});
  ASSERT_TRUE(GetOne(*Make(), stored).ok());
  auto busy = Make(/*max_queue=*/0);
  auto miss = GetOne(*busy, Spec({{"w", "41"}}));
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.status().code(), Code::kUnavailable);
  EXPECT_EQ(miss.status().reason(), "server_busy");
  EXPECT_TRUE(GetOne(*busy, stored).ok());
}

TEST_F(TransformerTest, DistinctSpecsAreDistinctVariants) {
  auto t = Make();
  auto a = GetOne(*t, Spec({{"w", "60"}}));
  auto b = GetOne(*t, Spec({{"w", "60"}, {"grayscale", ""}}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->etag, b->etag);
  EXPECT_EQ(t->renders(), 2u);
}

TEST_F(TransformerTest, VariantRowNamesItsBlobById) {
  auto t = Make();
  TransformSpec spec = Spec({{"w", "80"}});
  auto v = GetOne(*t, spec);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto row = Row(Cf::kVariants, KeyOf(spec));
  ASSERT_TRUE(row);
  auto rec = VariantRecord::Decode(*row);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_FALSE(rec->legacy);
  ASSERT_NE(rec->blob_id, 0u);
  auto blob_row = Row(Cf::kBlobs, storage::U64Key(rec->blob_id));
  ASSERT_TRUE(blob_row) << "the id resolves through the blobs column family";
  auto loc = storage::BlobLocation::Decode(*blob_row);
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ(loc->owner, source_.owner);
  EXPECT_EQ(*blobs_->Read(*loc), *v->bytes);
}

TEST_F(TransformerTest, LegacyVariantRowsAreStillServed) {
  // A data dir written before variant records: the row is a copy of the BlobLocation.
  TransformSpec spec = Spec({{"w", "30"}, {"fm", "png"}});
  const std::string png = testutil::MakePng(30, 22);
  const uint64_t id = next_blob_++;
  auto loc = blobs_->Append(id, std::span<const char>(png.data(), png.size()));
  ASSERT_TRUE(loc.ok());
  loc->owner = source_.owner;
  storage::WriteBatch batch;
  batch.Put(Cf::kBlobs, storage::U64Key(id), loc->Encode());
  batch.Put(Cf::kVariants, KeyOf(spec), loc->Encode());
  ASSERT_TRUE(db_->Write(batch).ok());

  auto t = Make();
  auto v = GetOne(*t, spec);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v->bytes, png);
  EXPECT_EQ(v->format, codec::Format::kPng);
  EXPECT_EQ(t->renders(), 0u) << "read through the legacy row, not rendered again";
}

TEST_F(TransformerTest, VariantOfADeletedPhotoIsNotRecorded) {
  storage::WriteBatch batch;
  batch.Delete(Cf::kPhotos, storage::U64Key(source_.photo_id));
  ASSERT_TRUE(db_->Write(batch).ok());
  auto t = Make();
  TransformSpec spec = Spec({{"w", "70"}});
  const uint64_t next = next_blob_;
  auto v = GetOne(*t, spec);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kNotFound);
  EXPECT_EQ(v.status().reason(), "photo_not_found");
  EXPECT_EQ(t->renders(), 1u);
  EXPECT_FALSE(Row(Cf::kVariants, KeyOf(spec)));
  EXPECT_FALSE(Row(Cf::kBlobs, storage::U64Key(next))) << "the appended blob is unreferenced";
  std::vector<TransformSpec> specs = {Spec({{"w", "20"}})};
  auto renditions = t->RenderRenditions(source_, specs);
  EXPECT_EQ(renditions.status().reason(), "photo_not_found");
  EXPECT_FALSE(Row(Cf::kVariants, KeyOf(specs[0])));
}

TEST_F(TransformerTest, ForgetPhotoDropsOnlyThatPhotosVariantsFromMemory) {
  auto t = Make();
  TransformSpec spec = Spec({{"w", "60"}});
  ASSERT_TRUE(GetOne(*t, spec).ok());
  ASSERT_TRUE(GetOne(*t, spec).ok());
  EXPECT_EQ(t->renders(), 1u);
  t->ForgetPhoto(source_.photo_id + 1);
  // Without the row, only memory could answer without a render.
  storage::WriteBatch batch;
  batch.Delete(Cf::kVariants, KeyOf(spec));
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(GetOne(*t, spec).ok());
  EXPECT_EQ(t->renders(), 1u) << "another photo's forgetting keeps this one";
  t->ForgetPhoto(source_.photo_id);
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(GetOne(*t, spec).ok());
  EXPECT_EQ(t->renders(), 1u + 1u) << "forgotten: rendered again";
}

}  // namespace
}  // namespace glint::core
