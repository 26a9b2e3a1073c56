#include "codec/pipeline.h"

#include <gtest/gtest.h>

#include "codec/decode.h"
#include "tests/testutil/exif.h"
#include "tests/testutil/images.h"

namespace glint::codec {
namespace {

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

PipelineOptions Box(uint32_t w, uint32_t h, FitMode fit = FitMode::kInside) {
  PipelineOptions o;
  o.geometry.width = w;
  o.geometry.height = h;
  o.geometry.fit = fit;
  return o;
}

ImageHeader HeaderOf(const Rendered& r) {
  auto h = ReadHeader(Span(r.bytes));
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? *h : ImageHeader{};
}

TEST(PipelineTest, AMegapixelPhotoForAThumbnailIsShrunkOnLoad) {
  std::string photo = testutil::MakeJpeg(4000, 3000);
  auto r = Render(Span(photo), Box(150, 0));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->decode_shrink, 8u) << "decoded at 500x375, never at 12 MP";
  EXPECT_EQ(r->width, 150u);
  EXPECT_EQ(r->height, 113u);
  EXPECT_EQ(HeaderOf(*r).format, Format::kJpeg);
}

TEST(PipelineTest, GravatarSquareIsCroppedToFill) {
  std::string photo = testutil::MakeJpeg(300, 200);
  auto r = Render(Span(photo), Box(80, 80, FitMode::kCover));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->width, 80u);
  EXPECT_EQ(r->height, 80u);
}

TEST(PipelineTest, EveryOrientationComesOutUprightWithoutExif) {
  for (int o = 1; o <= 8; ++o) {
    std::string photo = testutil::MakeJpegWithOrientation(64, 32, o);
    auto r = Render(Span(photo), PipelineOptions{});
    ASSERT_TRUE(r.ok()) << o;
    bool swapped = o >= 5;
    EXPECT_EQ(r->width, swapped ? 32u : 64u) << o;
    EXPECT_EQ(r->height, swapped ? 64u : 32u) << o;
    EXPECT_EQ(HeaderOf(*r).exif.orientation, 1) << o;
    EXPECT_EQ(r->bytes.find("Exif"), std::string::npos) << o;
  }
}

TEST(PipelineTest, PngAndWebpExifOrientationIsAppliedToo) {
  testutil::ExifFields f;
  f.orientation = 6;  // stored landscape, shown portrait
  const std::string tiff = testutil::MakeExifBlock(f).substr(6);
  for (const std::string& photo : {testutil::PngWithExif(64, 32, tiff),
                                   testutil::WebpWithExif(testutil::MakeWebp(64, 32), tiff)}) {
    auto r = Render(Span(photo), PipelineOptions{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->width, 32u);
    EXPECT_EQ(r->height, 64u);
    EXPECT_EQ(HeaderOf(*r).exif, ExifInfo{}) << "no EXIF is written into an output";
  }
}

TEST(PipelineTest, CameraExifAndGpsNeverReachAnOutput) {
  testutil::ExifFields f;
  f.make = "Canon";
  f.model = "EOS";
  f.date_time_original = "2024:05:01 14:03:22";
  f.gps = true;
  const std::string photo =
      testutil::JpegWithExif(testutil::MakeJpeg(64, 48), testutil::MakeExifBlock(f));
  for (Format fm : {Format::kJpeg, Format::kPng, Format::kWebp}) {
    PipelineOptions o = Box(32, 0);
    o.format = fm;
    auto r = Render(Span(photo), o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->bytes.find("Exif"), std::string::npos) << FormatName(fm);
    EXPECT_EQ(r->bytes.find("Canon"), std::string::npos) << FormatName(fm);
    EXPECT_EQ(HeaderOf(*r).exif, ExifInfo{});
  }
}

TEST(PipelineTest, RenderAllMakesEverySizeAndABlurHashFromOneDecode) {
  const std::string photo = testutil::MakeJpegWithOrientation(4000, 3000, 6);
  std::vector<PipelineOptions> sizes;
  for (uint32_t w : {1080u, 640u, 150u}) sizes.push_back(Box(w, 0));
  auto set = RenderAll(Span(photo), sizes, HeaderLimits{});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->renders.size(), 3u);
  const uint32_t widths[] = {1080, 640, 150};
  for (size_t i = 0; i < 3; ++i) {
    const Rendered& r = set->renders[i];
    EXPECT_EQ(r.width, widths[i]);
    EXPECT_EQ(r.height, (widths[i] * 4 + 1) / 3) << "upright: portrait";
    EXPECT_EQ(r.decode_shrink, 1u) << "one decode, sized for the 1080 render";
    auto single = Render(Span(photo), sizes[i]);
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(single->width, r.width);
    EXPECT_EQ(single->height, r.height);
  }
  EXPECT_EQ(set->blurhash.size(), 28u);
  EXPECT_EQ(set->blurhash[0], 'T') << "3x4 components for a portrait photo";

  PipelineOptions turned = Box(100, 0);
  turned.rotate = 90;
  EXPECT_EQ(RenderAll(Span(photo), std::span(&turned, 1), HeaderLimits{}).status().code(),
            Code::kInvalidArgument);
  HeaderLimits small;
  small.max_pixels = 1'000'000;
  EXPECT_EQ(RenderAll(Span(photo), sizes, small).status().reason(), "image_too_large");
}

TEST(PipelineTest, EncoderOptionsAndFilterReachTheOutput) {
  const std::string photo = testutil::MakeJpeg(300, 200);
  PipelineOptions o = Box(150, 0);
  o.format = Format::kJpeg;
  o.progressive = true;
  auto progressive = Render(Span(photo), o);
  ASSERT_TRUE(progressive.ok());
  // A progressive JPEG's frame header is SOF2 (FF C2); baseline is SOF0 (FF C0).
  EXPECT_NE(progressive->bytes.find("\xFF\xC2"), std::string::npos);
  o.progressive = false;
  EXPECT_EQ(Render(Span(photo), o)->bytes.find("\xFF\xC2"), std::string::npos);

  o.format = Format::kWebp;
  o.lossless = true;
  auto lossless = Render(Span(photo), o);
  ASSERT_TRUE(lossless.ok());
  EXPECT_NE(lossless->bytes.find("VP8L"), std::string::npos) << "lossless bitstream";

  o = Box(150, 0);
  o.filter = Filter::kLinear;
  auto linear = Render(Span(photo), o);
  o.filter = Filter::kLanczos3;
  auto lanczos = Render(Span(photo), o);
  ASSERT_TRUE(linear.ok() && lanczos.ok());
  EXPECT_EQ(linear->width, 150u);
  EXPECT_NE(linear->bytes, lanczos->bytes) << "the filter changes the pixels";
}

TEST(PipelineTest, RotationSwapsTheBoxAxes) {
  std::string photo = testutil::MakeJpeg(200, 100);
  PipelineOptions o = Box(50, 0);
  o.rotate = 90;
  auto r = Render(Span(photo), o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->width, 50u);
  EXPECT_EQ(r->height, 100u);
}

TEST(PipelineTest, ConvertsBetweenFormats) {
  std::string png = testutil::MakePng(64, 64, true);
  PipelineOptions o = Box(32, 32);
  o.format = Format::kWebp;
  auto webp = Render(Span(png), o);
  ASSERT_TRUE(webp.ok());
  EXPECT_EQ(HeaderOf(*webp).format, Format::kWebp);
  EXPECT_TRUE(HeaderOf(*webp).has_alpha);
  o.format = Format::kJpeg;
  auto jpeg = Render(Span(png), o);
  ASSERT_TRUE(jpeg.ok());
  EXPECT_EQ(HeaderOf(*jpeg).format, Format::kJpeg);
  auto same = Render(Span(png), Box(16, 16));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->format, Format::kPng) << "no format asked: the source's";
}

TEST(PipelineTest, ContainLetterboxesTransparentlyWhereAlphaIsKept) {
  std::string photo = testutil::MakePng(400, 200);
  auto r = Render(Span(photo), Box(100, 100, FitMode::kContain));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->width, 100u);
  EXPECT_EQ(r->height, 100u);
  auto decoded = Decode(Span(r->bytes));
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->image.channels, 4);
  EXPECT_EQ(decoded->image.row(0)[3], 0) << "top band is transparent";
  EXPECT_EQ(decoded->image.row(50)[3], 255);
}

TEST(PipelineTest, CropTakesTheFractionOfTheSource) {
  std::string photo = testutil::MakePng(200, 100);
  PipelineOptions o;
  o.geometry.crop_x = 0.5;
  o.geometry.crop_w = 0.5;
  o.geometry.crop_h = 1;
  auto r = Render(Span(photo), o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->width, 100u);
  EXPECT_EQ(r->height, 100u);
}

TEST(PipelineTest, QualityChangesSize) {
  std::string photo = testutil::MakeJpeg(400, 300);
  PipelineOptions lo = Box(200, 0), hi = Box(200, 0);
  lo.quality = 30;
  hi.quality = 95;
  auto a = Render(Span(photo), lo);
  auto b = Render(Span(photo), hi);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(a->bytes.size(), b->bytes.size());
}

TEST(PipelineTest, BadInputIsRefusedNotCrashed) {
  std::string text = "not an image at all";
  EXPECT_EQ(Render(Span(text), Box(10, 10)).status().code(), Code::kUnsupportedMedia);
  std::string photo = testutil::MakeJpeg(300, 300);
  PipelineOptions tight = Box(10, 10);
  tight.limits.max_pixels = 1000;
  EXPECT_EQ(Render(Span(photo), tight).status().reason(), "image_too_large");
}

}  // namespace
}  // namespace glint::codec
