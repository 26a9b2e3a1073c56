#include "codec/encode.h"

#include <spng.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/types.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "base/status.h"
#include "codec/image.h"
#include "codec/image_header.h"

namespace glint::codec {
namespace {

// Decoded straight from the codec library, independently of glint's own decoder.
struct Decoded {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

Image FlatImage(uint32_t width, uint32_t height, std::vector<uint8_t> pixel) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = static_cast<uint8_t>(pixel.size());
  for (uint32_t i = 0; i < width * height; ++i) {
    image.pixels.insert(image.pixels.end(), pixel.begin(), pixel.end());
  }
  return image;
}

// Smooth, non-flat content so sizes and subsampling behave as on photos.
Image GradientImage(uint32_t width, uint32_t height) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = 3;
  for (uint32_t y = 0; y < height; ++y) {
    for (uint32_t x = 0; x < width; ++x) {
      image.pixels.push_back(static_cast<uint8_t>(x * 255 / width));
      image.pixels.push_back(static_cast<uint8_t>(y * 255 / height));
      image.pixels.push_back(static_cast<uint8_t>((x * y) % 256));
    }
  }
  return image;
}

Decoded DecodeJpeg(const std::string& jpeg) {
  Decoded out;
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  EXPECT_TRUE(tj);
  int subsampling = 0, colorspace = 0;
  auto* data = reinterpret_cast<const unsigned char*>(jpeg.data());
  if (tjDecompressHeader3(tj.get(), data, jpeg.size(), &out.width, &out.height, &subsampling,
                          &colorspace) != 0) {
    ADD_FAILURE() << tjGetErrorStr2(tj.get());
    return {};
  }
  out.channels = 3;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * 3);
  if (tjDecompress2(tj.get(), data, jpeg.size(), out.pixels.data(), out.width, 0, out.height,
                    TJPF_RGB, 0) != 0) {
    ADD_FAILURE() << tjGetErrorStr2(tj.get());
    return {};
  }
  return out;
}

int JpegSubsampling(const std::string& jpeg) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  int width = 0, height = 0, subsampling = -1, colorspace = 0;
  EXPECT_EQ(tjDecompressHeader3(tj.get(), reinterpret_cast<const unsigned char*>(jpeg.data()),
                                jpeg.size(), &width, &height, &subsampling, &colorspace),
            0);
  return subsampling;
}

// Decodes to the PNG's own layout (RGB or RGBA, 8-bit).
Decoded DecodePng(const std::string& png) {
  Decoded out;
  std::unique_ptr<spng_ctx, void (*)(spng_ctx*)> ctx(spng_ctx_new(0), spng_ctx_free);
  EXPECT_TRUE(ctx);
  EXPECT_EQ(spng_set_png_buffer(ctx.get(), png.data(), png.size()), 0);
  spng_ihdr ihdr{};
  if (int rc = spng_get_ihdr(ctx.get(), &ihdr); rc != 0) {
    ADD_FAILURE() << spng_strerror(rc);
    return {};
  }
  EXPECT_EQ(ihdr.bit_depth, 8);
  out.width = static_cast<int>(ihdr.width);
  out.height = static_cast<int>(ihdr.height);
  out.channels = ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ? 4 : 3;
  const int fmt = out.channels == 4 ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
  size_t size = 0;
  EXPECT_EQ(spng_decoded_image_size(ctx.get(), fmt, &size), 0);
  out.pixels.resize(size);
  if (int rc = spng_decode_image(ctx.get(), out.pixels.data(), size, fmt, 0); rc != 0) {
    ADD_FAILURE() << spng_strerror(rc);
    return {};
  }
  return out;
}

Decoded DecodeWebp(const std::string& webp, bool alpha) {
  Decoded out;
  auto* data = reinterpret_cast<const uint8_t*>(webp.data());
  uint8_t* raw = alpha ? WebPDecodeRGBA(data, webp.size(), &out.width, &out.height)
                       : WebPDecodeRGB(data, webp.size(), &out.width, &out.height);
  std::unique_ptr<uint8_t, void (*)(void*)> pixels(raw, WebPFree);
  if (!pixels) {
    ADD_FAILURE() << "WebP decode failed";
    return {};
  }
  out.channels = alpha ? 4 : 3;
  out.pixels.assign(raw, raw + static_cast<size_t>(out.width) * out.height * out.channels);
  return out;
}

std::span<const char> Bytes(const std::string& s) { return {s.data(), s.size()}; }

// Every pixel of `decoded` within `tolerance` of `expected`, per channel.
void ExpectFlat(const Decoded& decoded, const std::vector<uint8_t>& expected, int tolerance) {
  ASSERT_EQ(static_cast<size_t>(decoded.channels), expected.size());
  ASSERT_FALSE(decoded.pixels.empty());
  int worst = 0;
  for (size_t i = 0; i < decoded.pixels.size(); ++i) {
    worst = std::max(worst, std::abs(decoded.pixels[i] - expected[i % expected.size()]));
  }
  EXPECT_LE(worst, tolerance);
}

Result<std::string> EncodeAs(const Image& image, Format format, int quality = 80) {
  EncodeOptions options;
  options.format = format;
  options.quality = quality;
  return Encode(image, options);
}

TEST(EncodeTest, JpegRoundTripsFlatColour) {
  auto jpeg = EncodeAs(FlatImage(33, 17, {200, 100, 50}), Format::kJpeg);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  Decoded decoded = DecodeJpeg(*jpeg);
  EXPECT_EQ(decoded.width, 33);
  EXPECT_EQ(decoded.height, 17);
  ExpectFlat(decoded, {200, 100, 50}, 4);
  auto header = ReadHeader(Bytes(*jpeg));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->format, Format::kJpeg);
  EXPECT_EQ(header->width, 33u);
  EXPECT_EQ(header->height, 17u);
  EXPECT_EQ(header->exif.orientation, 1);
}

TEST(EncodeTest, PngRoundTripsExactly) {
  Image image = GradientImage(31, 19);
  auto png = EncodeAs(image, Format::kPng);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  Decoded decoded = DecodePng(*png);
  EXPECT_EQ(decoded.width, 31);
  EXPECT_EQ(decoded.height, 19);
  EXPECT_EQ(decoded.channels, 3);
  EXPECT_EQ(decoded.pixels, image.pixels);
  auto header = ReadHeader(Bytes(*png));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->format, Format::kPng);
  EXPECT_FALSE(header->has_alpha);
}

TEST(EncodeTest, PngKeepsAlphaExactly) {
  Image image = FlatImage(9, 7, {10, 20, 30, 0});
  for (size_t i = 0; i < image.pixels.size(); i += 4) {
    image.pixels[i + 3] = static_cast<uint8_t>(i * 7 % 256);  // every alpha level differs
  }
  auto png = EncodeAs(image, Format::kPng);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  Decoded decoded = DecodePng(*png);
  EXPECT_EQ(decoded.width, 9);
  EXPECT_EQ(decoded.height, 7);
  EXPECT_EQ(decoded.channels, 4);
  EXPECT_EQ(decoded.pixels, image.pixels);
  auto header = ReadHeader(Bytes(*png));
  ASSERT_TRUE(header.ok());
  EXPECT_TRUE(header->has_alpha);
}

TEST(EncodeTest, LossyWebpRoundTripsFlatColour) {
  auto webp = EncodeAs(FlatImage(40, 24, {30, 160, 220}), Format::kWebp, 90);
  ASSERT_TRUE(webp.ok()) << webp.status().ToString();
  Decoded decoded = DecodeWebp(*webp, /*alpha=*/false);
  EXPECT_EQ(decoded.width, 40);
  EXPECT_EQ(decoded.height, 24);
  ExpectFlat(decoded, {30, 160, 220}, 6);
  auto header = ReadHeader(Bytes(*webp));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->format, Format::kWebp);
  EXPECT_EQ(header->width, 40u);
  EXPECT_EQ(header->height, 24u);
}

TEST(EncodeTest, LosslessWebpRoundTripsExactly) {
  Image image = GradientImage(23, 11);
  EncodeOptions options;
  options.format = Format::kWebp;
  options.lossless = true;
  auto webp = Encode(image, options);
  ASSERT_TRUE(webp.ok()) << webp.status().ToString();
  Decoded decoded = DecodeWebp(*webp, /*alpha=*/false);
  EXPECT_EQ(decoded.width, 23);
  EXPECT_EQ(decoded.height, 11);
  EXPECT_EQ(decoded.pixels, image.pixels);
  auto header = ReadHeader(Bytes(*webp));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->format, Format::kWebp);
}

TEST(EncodeTest, LosslessWebpKeepsAlphaExactly) {
  Image image = FlatImage(12, 8, {250, 40, 90, 0});
  for (size_t i = 0; i < image.pixels.size(); i += 4) {
    image.pixels[i + 3] = static_cast<uint8_t>(1 + i % 254);  // never fully transparent
  }
  EncodeOptions options;
  options.format = Format::kWebp;
  options.lossless = true;
  auto webp = Encode(image, options);
  ASSERT_TRUE(webp.ok()) << webp.status().ToString();
  Decoded decoded = DecodeWebp(*webp, /*alpha=*/true);
  EXPECT_EQ(decoded.pixels, image.pixels);
  auto header = ReadHeader(Bytes(*webp));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_TRUE(header->has_alpha);
}

TEST(EncodeTest, LossyWebpKeepsAlpha) {
  auto webp = EncodeAs(FlatImage(16, 16, {0, 0, 255, 128}), Format::kWebp, 90);
  ASSERT_TRUE(webp.ok()) << webp.status().ToString();
  Decoded decoded = DecodeWebp(*webp, /*alpha=*/true);
  EXPECT_EQ(decoded.width, 16);
  ExpectFlat(decoded, {0, 0, 255, 128}, 6);
  auto header = ReadHeader(Bytes(*webp));
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_TRUE(header->has_alpha);
}

TEST(EncodeTest, NoExifOrGpsIsWritten) {
  for (Format format : {Format::kJpeg, Format::kPng, Format::kWebp}) {
    auto out = EncodeAs(GradientImage(64, 48), format);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->find("Exif"), std::string::npos) << FormatName(format);
    EXPECT_EQ(out->find("GPS"), std::string::npos) << FormatName(format);
    EXPECT_EQ(out->find("eXIf"), std::string::npos) << FormatName(format);  // PNG's EXIF chunk
    EXPECT_EQ(out->find("EXIF"), std::string::npos) << FormatName(format);  // WebP's chunk
  }
  auto jpeg = EncodeAs(GradientImage(64, 48), Format::kJpeg);
  ASSERT_TRUE(jpeg.ok());
  EXPECT_EQ(jpeg->find("\xFF\xE1"), std::string::npos);  // APP1 (Exif, XMP)
  EXPECT_EQ(jpeg->find("\xFF\xE2"), std::string::npos);  // APP2 (ICC)
}

TEST(EncodeTest, ProgressiveJpegIsProgressive) {
  EncodeOptions options;
  options.progressive = true;
  auto progressive = Encode(GradientImage(64, 48), options);
  ASSERT_TRUE(progressive.ok()) << progressive.status().ToString();
  EXPECT_NE(progressive->find("\xFF\xC2"), std::string::npos);  // SOF2
  EXPECT_EQ(DecodeJpeg(*progressive).width, 64);

  options.progressive = false;
  auto baseline = Encode(GradientImage(64, 48), options);
  ASSERT_TRUE(baseline.ok());
  EXPECT_NE(baseline->find("\xFF\xC0"), std::string::npos);  // SOF0
  EXPECT_EQ(baseline->find("\xFF\xC2"), std::string::npos);
}

TEST(EncodeTest, JpegSubsamplingFollowsQuality) {
  auto low = EncodeAs(GradientImage(32, 32), Format::kJpeg, 89);
  auto high = EncodeAs(GradientImage(32, 32), Format::kJpeg, 90);
  ASSERT_TRUE(low.ok() && high.ok());
  EXPECT_EQ(JpegSubsampling(*low), TJSAMP_420);
  EXPECT_EQ(JpegSubsampling(*high), TJSAMP_444);
}

TEST(EncodeTest, AlphaIsFlattenedOntoBackgroundForJpeg) {
  auto jpeg = EncodeAs(FlatImage(16, 16, {255, 0, 0, 128}), Format::kJpeg, 95);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  Decoded decoded = DecodeJpeg(*jpeg);
  EXPECT_EQ(decoded.channels, 3);
  // (255*128 + 255*127 + 127) / 255 = 255; (0*128 + 255*127 + 127) / 255 = 127.
  ExpectFlat(decoded, {255, 127, 127}, 4);
}

TEST(EncodeTest, AlphaIsFlattenedOntoGivenBackground) {
  EncodeOptions options;
  options.quality = 95;
  options.background = 0x0000FF;
  auto jpeg = Encode(FlatImage(16, 16, {0, 255, 0, 0}), options);  // fully transparent
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  ExpectFlat(DecodeJpeg(*jpeg), {0, 0, 255}, 4);
}

TEST(EncodeTest, LowerQualityGivesSmallerJpeg) {
  Image image = GradientImage(128, 96);
  auto low = EncodeAs(image, Format::kJpeg, 20);
  auto high = EncodeAs(image, Format::kJpeg, 95);
  ASSERT_TRUE(low.ok() && high.ok());
  EXPECT_LT(low->size(), high->size());
}

TEST(EncodeTest, QualityOutOfRangeIsRefused) {
  for (Format format : {Format::kJpeg, Format::kPng, Format::kWebp}) {
    for (int quality : {0, -5, 101}) {
      auto out = EncodeAs(FlatImage(4, 4, {1, 2, 3}), format, quality);
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
    }
  }
  for (int quality : {1, 100}) {
    EXPECT_TRUE(EncodeAs(FlatImage(4, 4, {1, 2, 3}), Format::kJpeg, quality).ok());
    EXPECT_TRUE(EncodeAs(FlatImage(4, 4, {1, 2, 3}), Format::kWebp, quality).ok());
  }
}

TEST(EncodeTest, PremultipliedInputIsRefused) {
  Image image = FlatImage(4, 4, {10, 10, 10, 128});
  image.premultiplied = true;
  for (Format format : {Format::kJpeg, Format::kPng, Format::kWebp}) {
    auto out = EncodeAs(image, format);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
  }
}

TEST(EncodeTest, EmptyOrMalformedImageIsRefused) {
  Image empty;
  EXPECT_EQ(EncodeAs(empty, Format::kPng).status().code(), Code::kInvalidArgument);
  Image zero_height = FlatImage(4, 0, {1, 2, 3});
  EXPECT_EQ(EncodeAs(zero_height, Format::kJpeg).status().code(), Code::kInvalidArgument);
  Image short_buffer = FlatImage(4, 4, {1, 2, 3});
  short_buffer.pixels.pop_back();
  EXPECT_EQ(EncodeAs(short_buffer, Format::kJpeg).status().code(), Code::kInvalidArgument);
  Image two_channels = FlatImage(4, 4, {1, 2});
  EXPECT_EQ(EncodeAs(two_channels, Format::kPng).status().code(), Code::kInvalidArgument);
}

TEST(EncodeTest, UnknownFormatIsRefused) {
  EXPECT_EQ(EncodeAs(FlatImage(4, 4, {1, 2, 3}), Format::kUnknown).status().code(),
            Code::kInvalidArgument);
}

TEST(EncodeTest, WebpBeyondItsDimensionLimitIsRefused) {
  // WebP sides stop at 16383 (WEBP_MAX_DIMENSION); PNG has no such limit.
  Image wide = FlatImage(16384, 1, {1, 2, 3});
  EXPECT_EQ(EncodeAs(wide, Format::kWebp).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(EncodeAs(wide, Format::kPng).ok());
}

}  // namespace
}  // namespace glint::codec
