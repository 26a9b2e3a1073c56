#include "codec/decode.h"
#include "codec/handles.h"

#include <gtest/gtest.h>
#include <spng.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testutil/images.h"

namespace glint::codec {
namespace {

using testutil::MakeJpeg;
using testutil::MakeJpegWithOrientation;
using testutil::MakePng;
using testutil::MakeWebp;

using Pixels = std::vector<unsigned char>;

std::span<const char> Bytes(const std::string& s) { return {s.data(), s.size()}; }

// `width` x `height` pixels, each a copy of `pixel`.
Pixels Flat(int width, int height, std::initializer_list<unsigned char> pixel) {
  Pixels out;
  out.reserve(static_cast<size_t>(width) * height * pixel.size());
  for (int i = 0; i < width * height; ++i) out.insert(out.end(), pixel.begin(), pixel.end());
  return out;
}

std::string EncodeJpeg(const Pixels& pixels, int width, int height, TJPF format, TJSAMP subsampling,
                       int quality = 95, int flags = 0) {
  TjHandle tj(tjInitCompress());
  EXPECT_TRUE(tj);
  unsigned char* raw = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(tj.get(), pixels.data(), width, 0, height, format, &raw, &size,
                             subsampling, quality, flags);
  TjBuffer jpeg(raw);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(tj.get());
  if (rc != 0) return {};
  return std::string(reinterpret_cast<const char*>(jpeg.get()), size);
}

// Encodes `raw` (rows in the PNG's own sample layout) with the given header and optional
// palette and transparency chunks.
std::string EncodePng(spng_ihdr ihdr, const Pixels& raw, spng_plte* plte = nullptr,
                      spng_trns* trns = nullptr) {
  SpngCtx ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  EXPECT_TRUE(ctx);
  int rc = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (rc == 0) rc = spng_set_ihdr(ctx.get(), &ihdr);
  if (rc == 0 && plte != nullptr) rc = spng_set_plte(ctx.get(), plte);
  if (rc == 0 && trns != nullptr) rc = spng_set_trns(ctx.get(), trns);
  if (rc == 0) {
    rc = spng_encode_image(ctx.get(), raw.data(), raw.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  }
  EXPECT_EQ(rc, 0) << spng_strerror(rc);
  size_t size = 0;
  MallocBuffer png(spng_get_png_buffer(ctx.get(), &size, &rc));
  EXPECT_TRUE(png) << spng_strerror(rc);
  if (!png) return {};
  return std::string(static_cast<const char*>(png.get()), size);
}

spng_ihdr PngHeader(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t color_type,
                    uint8_t interlace = SPNG_INTERLACE_NONE) {
  spng_ihdr ihdr{};
  ihdr.width = width;
  ihdr.height = height;
  ihdr.bit_depth = bit_depth;
  ihdr.color_type = color_type;
  ihdr.interlace_method = interlace;
  return ihdr;
}

std::string EncodeWebp(const Pixels& pixels, int width, int height, int channels, bool lossless,
                       float quality = 90) {
  uint8_t* raw = nullptr;
  const int stride = width * channels;
  size_t size = 0;
  if (channels == 4) {
    size = lossless ? WebPEncodeLosslessRGBA(pixels.data(), width, height, stride, &raw)
                    : WebPEncodeRGBA(pixels.data(), width, height, stride, quality, &raw);
  } else {
    size = lossless ? WebPEncodeLosslessRGB(pixels.data(), width, height, stride, &raw)
                    : WebPEncodeRGB(pixels.data(), width, height, stride, quality, &raw);
  }
  WebpBuffer webp(raw);
  EXPECT_GT(size, 0u);
  return std::string(reinterpret_cast<const char*>(webp.get()), size);
}

void PutLe(std::string& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::string RiffChunk(std::string_view fourcc, const std::string& payload) {
  std::string chunk(fourcc);
  PutLe(chunk, static_cast<uint32_t>(payload.size()), 4);
  chunk += payload;
  if (payload.size() % 2 != 0) chunk.push_back('\0');
  return chunk;
}

struct Frame {
  uint32_t x, y, width, height;  // x and y even (the format stores them halved)
  Pixels rgba;
};

// An animated WebP assembled by hand (VP8X + ANIM + one ANMF per frame, each holding a
// lossless VP8L bitstream), so the test needs neither libwebpmux nor a checked-in file.
std::string AnimatedWebp(uint32_t canvas_width, uint32_t canvas_height,
                         const std::vector<Frame>& frames) {
  std::string vp8x;
  vp8x.push_back(0x02 | 0x10);  // animation, alpha
  PutLe(vp8x, 0, 3);
  PutLe(vp8x, canvas_width - 1, 3);
  PutLe(vp8x, canvas_height - 1, 3);
  std::string anim;
  PutLe(anim, 0xFFFFFFFF, 4);  // background colour (a hint the decoder may ignore)
  PutLe(anim, 0, 2);           // loop forever
  std::string body = RiffChunk("VP8X", vp8x) + RiffChunk("ANIM", anim);
  for (const Frame& f : frames) {
    const std::string still = EncodeWebp(f.rgba, static_cast<int>(f.width),
                                         static_cast<int>(f.height), 4, /*lossless=*/true);
    std::string anmf;
    PutLe(anmf, f.x / 2, 3);
    PutLe(anmf, f.y / 2, 3);
    PutLe(anmf, f.width - 1, 3);
    PutLe(anmf, f.height - 1, 3);
    PutLe(anmf, 100, 3);       // duration (ms)
    anmf.push_back(0x02);      // do not blend, do not dispose
    anmf += still.substr(12);  // the VP8L chunk, after "RIFF" size "WEBP"
    body += RiffChunk("ANMF", anmf);
  }
  std::string riff = "RIFF";
  PutLe(riff, static_cast<uint32_t>(4 + body.size()), 4);
  return riff + "WEBP" + body;
}

// The largest difference between any sample of `image` and the matching one of `pixel`.
int MaxDeviation(const Image& image, std::initializer_list<int> pixel) {
  EXPECT_EQ(image.channels, pixel.size());
  int worst = 0;
  for (size_t i = 0; i < image.pixels.size(); i += image.channels) {
    int c = 0;
    for (const int expected : pixel) {
      worst = std::max(worst, std::abs(image.pixels[i + c++] - expected));
    }
  }
  return worst;
}

std::vector<int> PixelAt(const Image& image, uint32_t x, uint32_t y) {
  const uint8_t* p = image.row(y) + static_cast<size_t>(x) * image.channels;
  return std::vector<int>(p, p + image.channels);
}

void ExpectDecodesTo(const Result<Decoded>& decoded, Format format, uint32_t width, uint32_t height,
                     uint8_t channels) {
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.format, format);
  EXPECT_EQ(decoded->image.width, width);
  EXPECT_EQ(decoded->image.height, height);
  EXPECT_EQ(decoded->image.channels, channels);
  EXPECT_FALSE(decoded->image.premultiplied);
  EXPECT_EQ(decoded->image.pixels.size(), size_t{width} * height * channels);
}

void ExpectCorrupt(const Result<Decoded>& decoded, std::string_view what) {
  ASSERT_FALSE(decoded.ok()) << what;
  EXPECT_EQ(decoded.status().code(), Code::kUnsupportedMedia) << what;
  EXPECT_EQ(decoded.status().reason(), "corrupt_image")
      << what << ": " << decoded.status().ToString();
}

TEST(DecodeTest, JpegDecodesAtFullSizeWithoutATarget) {
  const std::string smooth = MakeJpeg(320, 240);
  const Result<Decoded> decoded = Decode(Bytes(smooth));
  ExpectDecodesTo(decoded, Format::kJpeg, 320, 240, 3);
  EXPECT_EQ(decoded->shrink, 1u);
  EXPECT_EQ(decoded->header.width, 320u);

  const std::string flat = EncodeJpeg(Flat(64, 48, {200, 100, 50}), 64, 48, TJPF_RGB, TJSAMP_444);
  const Result<Decoded> flat_decoded = Decode(Bytes(flat));
  ExpectDecodesTo(flat_decoded, Format::kJpeg, 64, 48, 3);
  EXPECT_LE(MaxDeviation(flat_decoded->image, {200, 100, 50}), 3);
}

TEST(DecodeTest, JpegOrientationIsReportedButNotApplied) {
  const Result<Decoded> decoded = Decode(Bytes(MakeJpegWithOrientation(40, 30, 6)));
  ExpectDecodesTo(decoded, Format::kJpeg, 40, 30, 3);
  EXPECT_EQ(decoded->header.exif.orientation, 6);
}

TEST(DecodeTest, JpegShrinkForPicksLargestScaleKeeping2x) {
  EXPECT_EQ(JpegShrinkFor(4000, 3000, 150, 150), 8u);
  EXPECT_EQ(JpegShrinkFor(1024, 1024, 640, 640), 1u);
  EXPECT_EQ(JpegShrinkFor(1024, 1024, 256, 256), 2u);
  EXPECT_EQ(JpegShrinkFor(1024, 1024, 100, 100), 4u);
  EXPECT_EQ(JpegShrinkFor(1024, 1024, 0, 0), 1u);
  // Exactly 2x is enough; one pixel short is not.
  EXPECT_EQ(JpegShrinkFor(1600, 1600, 100, 100), 8u);
  EXPECT_EQ(JpegShrinkFor(1599, 1599, 100, 100), 8u);  // ceil(1599 / 8) = 200
  EXPECT_EQ(JpegShrinkFor(1592, 1600, 100, 100), 4u);  // 199 < 200
  // Both sides must keep 2x: a cover crop of a panorama is bounded by its short side.
  EXPECT_EQ(JpegShrinkFor(4000, 1000, 150, 150), 2u);
  // One side given: the other is unconstrained.
  EXPECT_EQ(JpegShrinkFor(4000, 3000, 250, 0), 8u);
  EXPECT_EQ(JpegShrinkFor(4000, 3000, 0, 400), 2u);
  // Upscaling: no shrink.
  EXPECT_EQ(JpegShrinkFor(100, 100, 400, 400), 1u);
}

TEST(DecodeTest, A12MegapixelJpegForA150ThumbnailIsDecodedAtOneEighth) {
  const std::string jpeg = MakeJpeg(4000, 3000);
  DecodeOptions options;
  options.target_width = 150;
  options.target_height = 150;
  const Result<Decoded> decoded = Decode(Bytes(jpeg), options);
  ExpectDecodesTo(decoded, Format::kJpeg, 500, 375, 3);
  EXPECT_EQ(decoded->shrink, 8u);
  EXPECT_EQ(decoded->header.width, 4000u);
  EXPECT_EQ(decoded->header.height, 3000u);
}

TEST(DecodeTest, ShrunkJpegMatchesABoxAveragedFullDecode) {
  const std::string jpeg = MakeJpeg(800, 600, 95);
  const Result<Decoded> full = Decode(Bytes(jpeg));
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  DecodeOptions options;
  options.target_width = 100;
  options.target_height = 75;
  const Result<Decoded> shrunk = Decode(Bytes(jpeg), options);
  ExpectDecodesTo(shrunk, Format::kJpeg, 200, 150, 3);
  ASSERT_EQ(shrunk->shrink, 4u);
  int64_t total_error = 0;
  int worst = 0;
  for (uint32_t y = 0; y < 150; ++y) {
    for (uint32_t x = 0; x < 200; ++x) {
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (uint32_t dy = 0; dy < 4; ++dy) {
          for (uint32_t dx = 0; dx < 4; ++dx)
            sum += full->image.row(y * 4 + dy)[(x * 4 + dx) * 3 + c];
        }
        const int error = std::abs((sum + 8) / 16 - shrunk->image.row(y)[x * 3 + c]);
        total_error += error;
        worst = std::max(worst, error);
      }
    }
  }
  EXPECT_LE(worst, 12);
  EXPECT_LT(static_cast<double>(total_error) / (200 * 150 * 3), 1.5);
}

TEST(DecodeTest, ShrunkJpegSidesRoundUp) {
  DecodeOptions options;
  options.target_width = 50;
  options.target_height = 50;
  const Result<Decoded> decoded = Decode(Bytes(MakeJpeg(1001, 999)), options);
  ExpectDecodesTo(decoded, Format::kJpeg, 126, 125, 3);
  EXPECT_EQ(decoded->shrink, 8u);
}

TEST(DecodeTest, PngAndWebpIgnoreTheShrinkHint) {
  DecodeOptions options;
  options.target_width = 10;
  options.target_height = 10;
  const Result<Decoded> png = Decode(Bytes(MakePng(300, 200)), options);
  ExpectDecodesTo(png, Format::kPng, 300, 200, 3);
  EXPECT_EQ(png->shrink, 1u);
  const Result<Decoded> webp = Decode(Bytes(MakeWebp(300, 200)), options);
  ExpectDecodesTo(webp, Format::kWebp, 300, 200, 3);
  EXPECT_EQ(webp->shrink, 1u);
}

TEST(DecodeTest, ProgressiveJpegDecodes) {
  // Top half one colour, bottom half another, so the scans carry real AC data.
  Pixels pixels = Flat(96, 80, {30, 160, 220});
  const Pixels bottom = Flat(96, 40, {240, 200, 20});
  std::copy(bottom.begin(), bottom.end(), pixels.begin() + 96 * 40 * 3);
  const std::string jpeg = EncodeJpeg(pixels, 96, 80, TJPF_RGB, TJSAMP_444, 95, TJFLAG_PROGRESSIVE);
  ASSERT_NE(jpeg.find("\xFF\xC2"), std::string::npos) << "not a progressive (SOF2) JPEG";

  const Result<Decoded> decoded = Decode(Bytes(jpeg));
  ExpectDecodesTo(decoded, Format::kJpeg, 96, 80, 3);
  const std::vector<int> top = PixelAt(decoded->image, 48, 10);
  const std::vector<int> low = PixelAt(decoded->image, 48, 70);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(top[c], (std::vector<int>{30, 160, 220})[c], 4);
    EXPECT_NEAR(low[c], (std::vector<int>{240, 200, 20})[c], 4);
  }

  DecodeOptions options;
  options.target_width = 24;
  options.target_height = 20;
  const Result<Decoded> shrunk = Decode(Bytes(jpeg), options);
  ExpectDecodesTo(shrunk, Format::kJpeg, 48, 40, 3);
  EXPECT_EQ(shrunk->shrink, 2u);
}

TEST(DecodeTest, GrayscaleJpegBecomesRgb) {
  const std::string jpeg = EncodeJpeg(Flat(40, 24, {128}), 40, 24, TJPF_GRAY, TJSAMP_GRAY);
  const Result<Decoded> decoded = Decode(Bytes(jpeg));
  ExpectDecodesTo(decoded, Format::kJpeg, 40, 24, 3);
  EXPECT_LE(MaxDeviation(decoded->image, {128, 128, 128}), 2);
}

// turbojpeg compresses TJPF_CMYK pixels as YCCK and always writes an Adobe APP14 marker
// (transform 2), storing the samples exactly as given: it is agnostic about inversion,
// and decompressing gives the same samples back. Photoshop's convention for files with
// that marker, which libvips and ImageMagick read, is inverted CMYK (255 = no ink), so the
// test writes 255 - ink, as Photoshop would.
std::string AdobeCmykJpeg(int c, int m, int y, int k) {
  const auto inv = [](int ink) { return static_cast<unsigned char>(255 - ink); };
  const std::string jpeg = EncodeJpeg(Flat(32, 32, {inv(c), inv(m), inv(y), inv(k)}), 32, 32,
                                      TJPF_CMYK, TJSAMP_444, 100);
  EXPECT_EQ(jpeg.substr(2, 9), std::string("\xFF\xEE\x00\x0E"
                                           "Adobe",
                                           9))
      << "expected turbojpeg's Adobe marker right after SOI";
  return jpeg;
}

TEST(DecodeTest, CmykJpegIsConvertedToRgb) {
  struct Case {
    int c, m, y, k;                  // ink, 0..255
    std::initializer_list<int> rgb;  // (255 - ink) * (255 - K) / 255
  };
  const Case cases[] = {
      {0, 0, 0, 0, {255, 255, 255}},     // no ink: white
      {255, 0, 0, 0, {0, 255, 255}},     // full cyan
      {0, 255, 255, 0, {255, 0, 0}},     // magenta + yellow: red
      {0, 0, 0, 128, {127, 127, 127}},   // half black
      {0, 0, 0, 255, {0, 0, 0}},         // full black
      {51, 153, 0, 64, {153, 77, 191}},  // a mixture
  };
  for (const Case& test : cases) {
    const std::string jpeg = AdobeCmykJpeg(test.c, test.m, test.y, test.k);
    const Result<Decoded> decoded = Decode(Bytes(jpeg));
    ExpectDecodesTo(decoded, Format::kJpeg, 32, 32, 3);
    EXPECT_LE(MaxDeviation(decoded->image, test.rgb), 3)
        << "CMYK ink " << test.c << "," << test.m << "," << test.y << "," << test.k
        << " decoded to " << PixelAt(decoded->image, 0, 0)[0] << ","
        << PixelAt(decoded->image, 0, 0)[1] << "," << PixelAt(decoded->image, 0, 0)[2];
  }
}

TEST(DecodeTest, JpegWarningsDoNotFailTheDecode) {
  std::string jpeg = MakeJpeg(64, 48);
  ASSERT_EQ(jpeg.substr(jpeg.size() - 2), "\xFF\xD9");
  jpeg.insert(jpeg.size() - 2, "\x12\x34\x56");  // stray bytes before EOI
  // libjpeg-turbo reports "Corrupt JPEG data: 3 extraneous bytes before marker 0xd9" as a
  // warning...
  TjHandle tj(tjInitDecompress());
  Pixels out(64 * 48 * 3);
  const int rc = tjDecompress2(tj.get(), reinterpret_cast<const unsigned char*>(jpeg.data()),
                               jpeg.size(), out.data(), 64, 0, 48, TJPF_RGB, 0);
  ASSERT_EQ(rc, -1);
  ASSERT_EQ(tjGetErrorCode(tj.get()), TJERR_WARNING) << tjGetErrorStr2(tj.get());
  // ...which, the data being complete, does not fail the decode.
  ExpectDecodesTo(Decode(Bytes(jpeg)), Format::kJpeg, 64, 48, 3);
}

TEST(DecodeTest, PngDecodesRgbAndRgba) {
  ExpectDecodesTo(Decode(Bytes(MakePng(64, 48))), Format::kPng, 64, 48, 3);
  const Result<Decoded> alpha = Decode(Bytes(MakePng(64, 48, /*alpha=*/true)));
  ExpectDecodesTo(alpha, Format::kPng, 64, 48, 4);
  EXPECT_TRUE(alpha->header.has_alpha);

  const std::string rgb =
      EncodePng(PngHeader(7, 5, 8, SPNG_COLOR_TYPE_TRUECOLOR), Flat(7, 5, {200, 100, 50}));
  const Result<Decoded> rgb_decoded = Decode(Bytes(rgb));
  ExpectDecodesTo(rgb_decoded, Format::kPng, 7, 5, 3);
  EXPECT_EQ(MaxDeviation(rgb_decoded->image, {200, 100, 50}), 0);

  const std::string rgba = EncodePng(PngHeader(7, 5, 8, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA),
                                     Flat(7, 5, {200, 100, 50, 77}));
  const Result<Decoded> rgba_decoded = Decode(Bytes(rgba));
  ExpectDecodesTo(rgba_decoded, Format::kPng, 7, 5, 4);
  // Straight alpha: the colour is not multiplied by it.
  EXPECT_EQ(MaxDeviation(rgba_decoded->image, {200, 100, 50, 77}), 0);
}

TEST(DecodeTest, Png16BitDecodes) {
  // Samples whose two bytes are equal read the same in either byte order, and reduce to
  // that byte whether libspng shifts or rounds.
  const std::string rgb = EncodePng(PngHeader(9, 4, 16, SPNG_COLOR_TYPE_TRUECOLOR),
                                    Flat(9, 4, {0xC8, 0xC8, 0x64, 0x64, 0x32, 0x32}));
  const Result<Decoded> rgb_decoded = Decode(Bytes(rgb));
  ExpectDecodesTo(rgb_decoded, Format::kPng, 9, 4, 3);
  EXPECT_EQ(MaxDeviation(rgb_decoded->image, {200, 100, 50}), 0);

  const std::string rgba = EncodePng(PngHeader(9, 4, 16, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA),
                                     Flat(9, 4, {0xC8, 0xC8, 0x64, 0x64, 0x32, 0x32, 0x80, 0x80}));
  const Result<Decoded> rgba_decoded = Decode(Bytes(rgba));
  ExpectDecodesTo(rgba_decoded, Format::kPng, 9, 4, 4);
  EXPECT_EQ(MaxDeviation(rgba_decoded->image, {200, 100, 50, 128}), 0);
}

TEST(DecodeTest, PalettePngWithTrnsHasAlpha) {
  // 2-bit palette indices, four to a byte, most significant first; the width is not a
  // multiple of four so each row ends in a partial byte.
  constexpr uint32_t kWidth = 5, kHeight = 3;
  spng_plte plte{};
  plte.n_entries = 4;
  plte.entries[0] = {255, 0, 0, 0};
  plte.entries[1] = {0, 255, 0, 0};
  plte.entries[2] = {0, 0, 255, 0};
  plte.entries[3] = {10, 20, 30, 0};
  spng_trns trns{};
  trns.n_type3_entries = 3;  // index 3 has no entry: opaque
  trns.type3_alpha[0] = 255;
  trns.type3_alpha[1] = 128;
  trns.type3_alpha[2] = 0;
  // Pixel (x, y) has index (x + y) % 4.
  Pixels raw;
  for (uint32_t y = 0; y < kHeight; ++y) {
    unsigned char b[2] = {0, 0};
    for (uint32_t x = 0; x < kWidth; ++x) {
      b[x / 4] |= static_cast<unsigned char>(((x + y) % 4) << (6 - 2 * (x % 4)));
    }
    raw.insert(raw.end(), b, b + 2);
  }
  const std::string png =
      EncodePng(PngHeader(kWidth, kHeight, 2, SPNG_COLOR_TYPE_INDEXED), raw, &plte, &trns);
  const Result<Decoded> decoded = Decode(Bytes(png));
  ExpectDecodesTo(decoded, Format::kPng, kWidth, kHeight, 4);
  EXPECT_TRUE(decoded->header.has_alpha);
  const std::vector<int> expected[4] = {
      {255, 0, 0, 255}, {0, 255, 0, 128}, {0, 0, 255, 0}, {10, 20, 30, 255}};
  for (uint32_t y = 0; y < kHeight; ++y) {
    for (uint32_t x = 0; x < kWidth; ++x) {
      EXPECT_EQ(PixelAt(decoded->image, x, y), expected[(x + y) % 4]) << x << "," << y;
    }
  }
}

TEST(DecodeTest, GrayAlphaPngHasAlpha) {
  const std::string png =
      EncodePng(PngHeader(6, 6, 8, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA), Flat(6, 6, {100, 50}));
  const Result<Decoded> decoded = Decode(Bytes(png));
  ExpectDecodesTo(decoded, Format::kPng, 6, 6, 4);
  EXPECT_EQ(MaxDeviation(decoded->image, {100, 100, 100, 50}), 0);
}

TEST(DecodeTest, GrayPngWithTrnsKeyHasAlpha) {
  // 8-bit gray where value 7 is the transparent key.
  Pixels raw = Flat(4, 2, {200});
  raw[1] = 7;
  spng_trns trns{};
  trns.gray = 7;
  const std::string png =
      EncodePng(PngHeader(4, 2, 8, SPNG_COLOR_TYPE_GRAYSCALE), raw, nullptr, &trns);
  const Result<Decoded> decoded = Decode(Bytes(png));
  ExpectDecodesTo(decoded, Format::kPng, 4, 2, 4);
  EXPECT_EQ(PixelAt(decoded->image, 0, 0), (std::vector<int>{200, 200, 200, 255}));
  EXPECT_EQ(PixelAt(decoded->image, 1, 0)[3], 0);
  EXPECT_EQ(PixelAt(decoded->image, 3, 1), (std::vector<int>{200, 200, 200, 255}));
}

TEST(DecodeTest, InterlacedPngDecodes) {
  // A pattern, not a flat colour, so that Adam7 pass placement is checked pixel by pixel.
  constexpr uint32_t kWidth = 19, kHeight = 13;
  Pixels raw;
  for (uint32_t y = 0; y < kHeight; ++y) {
    for (uint32_t x = 0; x < kWidth; ++x) {
      raw.push_back(static_cast<unsigned char>(x * 13));
      raw.push_back(static_cast<unsigned char>(y * 19));
      raw.push_back(static_cast<unsigned char>((x * y) & 0xFF));
    }
  }
  const std::string png = EncodePng(
      PngHeader(kWidth, kHeight, 8, SPNG_COLOR_TYPE_TRUECOLOR, SPNG_INTERLACE_ADAM7), raw);
  ASSERT_EQ(static_cast<unsigned char>(png[28]), 1) << "IHDR interlace method should be Adam7";
  const Result<Decoded> decoded = Decode(Bytes(png));
  ExpectDecodesTo(decoded, Format::kPng, kWidth, kHeight, 3);
  EXPECT_EQ(decoded->image.pixels, std::vector<uint8_t>(raw.begin(), raw.end()));
}

TEST(DecodeTest, WebpLossyLosslessAndAlphaDecode) {
  ExpectDecodesTo(Decode(Bytes(MakeWebp(64, 48))), Format::kWebp, 64, 48, 3);
  ExpectDecodesTo(Decode(Bytes(MakeWebp(64, 48, /*lossless=*/true))), Format::kWebp, 64, 48, 3);

  const Result<Decoded> lossy =
      Decode(Bytes(EncodeWebp(Flat(32, 32, {200, 100, 50}), 32, 32, 3, /*lossless=*/false)));
  ExpectDecodesTo(lossy, Format::kWebp, 32, 32, 3);
  EXPECT_LE(MaxDeviation(lossy->image, {200, 100, 50}), 6);

  Pixels pattern;
  for (int i = 0; i < 17 * 11; ++i) {
    pattern.insert(pattern.end(),
                   {static_cast<unsigned char>(i), static_cast<unsigned char>(i * 3),
                    static_cast<unsigned char>(i * 7), static_cast<unsigned char>(255 - i)});
  }
  const Result<Decoded> lossless = Decode(Bytes(EncodeWebp(pattern, 17, 11, 4, /*lossless=*/true)));
  ExpectDecodesTo(lossless, Format::kWebp, 17, 11, 4);
  EXPECT_TRUE(lossless->header.has_alpha);
  EXPECT_EQ(lossless->image.pixels, std::vector<uint8_t>(pattern.begin(), pattern.end()));

  const Result<Decoded> lossy_alpha =
      Decode(Bytes(EncodeWebp(Flat(32, 32, {200, 100, 50, 90}), 32, 32, 4, /*lossless=*/false)));
  ExpectDecodesTo(lossy_alpha, Format::kWebp, 32, 32, 4);
  // Straight alpha; lossy WebP stores alpha losslessly by default.
  EXPECT_LE(MaxDeviation(lossy_alpha->image, {200, 100, 50, 90}), 6);
  EXPECT_EQ(lossy_alpha->image.pixels[3], 90);
}

TEST(DecodeTest, AnimatedWebpDecodesItsFirstFrame) {
  // A red 8x8 first frame in the corner of a 16x16 canvas, then a green full frame.
  const std::string partial = AnimatedWebp(
      16, 16,
      {{0, 0, 8, 8, Flat(8, 8, {255, 0, 0, 255})}, {0, 0, 16, 16, Flat(16, 16, {0, 255, 0, 255})}});
  const Result<Decoded> decoded = Decode(Bytes(partial));
  ExpectDecodesTo(decoded, Format::kWebp, 16, 16, 4);
  EXPECT_EQ(PixelAt(decoded->image, 0, 0), (std::vector<int>{255, 0, 0, 255}));
  EXPECT_EQ(PixelAt(decoded->image, 7, 7), (std::vector<int>{255, 0, 0, 255}));
  EXPECT_EQ(PixelAt(decoded->image, 12, 12)[3], 0);  // outside the first frame: transparent

  // A first frame that covers the canvas opaquely gives RGB.
  const std::string full = AnimatedWebp(
      16, 16,
      {{0, 0, 16, 16, Flat(16, 16, {0, 0, 255, 255})}, {0, 0, 8, 8, Flat(8, 8, {255, 0, 0, 255})}});
  const Result<Decoded> opaque = Decode(Bytes(full));
  ExpectDecodesTo(opaque, Format::kWebp, 16, 16, 3);
  EXPECT_EQ(MaxDeviation(opaque->image, {0, 0, 255}), 0);
}

TEST(DecodeTest, TruncatedPixelDataIsCorruptNotACrash) {
  const struct {
    std::string name;
    std::string bytes;
  } inputs[] = {
      {"baseline jpeg", MakeJpeg(256, 256)},
      {"progressive jpeg", EncodeJpeg(Flat(256, 256, {10, 200, 90}), 256, 256, TJPF_RGB, TJSAMP_420,
                                      90, TJFLAG_PROGRESSIVE)},
      {"png", MakePng(256, 256)},
      {"interlaced png",
       EncodePng(PngHeader(64, 64, 8, SPNG_COLOR_TYPE_GRAYSCALE, SPNG_INTERLACE_ADAM7),
                 [] {
                   Pixels p(64 * 64);
                   for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<unsigned char>(i * 31);
                   return p;
                 }())},
      {"lossy webp", MakeWebp(256, 256)},
      {"lossless webp", MakeWebp(256, 256, /*lossless=*/true)},
  };
  for (const auto& input : inputs) {
    ASSERT_TRUE(Decode(Bytes(input.bytes)).ok()) << input.name;
    // Halfway is well into the pixel data: the headers are a few hundred bytes at most.
    const std::string cut = input.bytes.substr(0, input.bytes.size() / 2);
    ASSERT_TRUE(ReadHeader(Bytes(cut)).ok()) << input.name;
    ExpectCorrupt(Decode(Bytes(cut)), input.name);
    // Just short of the end: the last bytes of the pixel data, or the end marker, missing.
    const std::string almost = input.bytes.substr(0, input.bytes.size() - 20);
    ExpectCorrupt(Decode(Bytes(almost)), input.name + " missing its last 20 bytes");
  }
}

// Every prefix and every single-byte corruption of small files is either refused with a
// codec error or decoded into a consistent image; under ASan/UBSan this is a small fuzz.
TEST(DecodeTest, PrefixesAndFlippedBytesNeverCrash) {
  const std::string inputs[] = {
      MakeJpeg(24, 16),
      EncodeJpeg(Flat(24, 16, {10, 20, 30, 40}), 24, 16, TJPF_CMYK, TJSAMP_420, 80),
      EncodeJpeg(Flat(24, 16, {1, 2, 3}), 24, 16, TJPF_RGB, TJSAMP_422, 80, TJFLAG_PROGRESSIVE),
      MakePng(24, 16, /*alpha=*/true),
      MakeWebp(24, 16),
      MakeWebp(24, 16, /*lossless=*/true),
      AnimatedWebp(
          16, 16,
          {{0, 0, 8, 8, Flat(8, 8, {255, 0, 0, 255})}, {2, 2, 8, 8, Flat(8, 8, {0, 255, 0, 128})}}),
  };
  const auto check = [](const std::string& bytes) {
    const Result<Decoded> decoded = Decode(Bytes(bytes));
    if (decoded.ok()) {
      const Image& image = decoded->image;
      ASSERT_TRUE(image.channels == 3 || image.channels == 4);
      ASSERT_EQ(image.pixels.size(), size_t{image.width} * image.height * image.channels);
    } else {
      const Code code = decoded.status().code();
      ASSERT_TRUE(code == Code::kUnsupportedMedia || code == Code::kTooLarge)
          << decoded.status().ToString();
    }
  };
  for (const std::string& input : inputs) {
    for (size_t size = 0; size < input.size(); ++size) check(input.substr(0, size));
    for (size_t i = 0; i < input.size(); ++i) {
      std::string flipped = input;
      flipped[i] = static_cast<char>(flipped[i] ^ 0x5A);
      check(flipped);
    }
  }
}

TEST(DecodeTest, BombIsRefusedBeforeDecoding) {
  DecodeOptions options;
  options.limits.max_pixels = 1000;
  options.target_width = 8;  // a shrink hint does not get a bomb past the limit
  options.target_height = 8;
  for (const std::string& bytes : {MakeJpeg(100, 100), MakePng(100, 100), MakeWebp(100, 100)}) {
    const Result<Decoded> decoded = Decode(Bytes(bytes), options);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kTooLarge);
    EXPECT_EQ(decoded.status().reason(), "image_too_large");
  }
  DecodeOptions narrow;
  narrow.limits.max_dimension = 50;
  const Result<Decoded> decoded = Decode(Bytes(MakePng(100, 10)), narrow);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kTooLarge);
}

TEST(DecodeTest, NotAnImageIsRefused) {
  for (const std::string& bytes :
       {std::string(), std::string("hello, world"), std::string("GIF89a\x01\x00\x01\x00", 10),
        MakeJpeg(16, 16).substr(0, 40)}) {
    const Result<Decoded> decoded = Decode(Bytes(bytes));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kUnsupportedMedia);
    EXPECT_EQ(decoded.status().reason(), "not_an_image");
  }
}

}  // namespace
}  // namespace glint::codec
