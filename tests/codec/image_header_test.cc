#include "codec/image_header.h"

#include <webp/encode.h>
#include <webp/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testutil/images.h"

namespace glint::codec {
namespace {

using testutil::MakeJpeg;
using testutil::MakeJpegWithOrientation;
using testutil::MakePng;
using testutil::MakeWebp;

// PNG chunks are checksummed; crafted chunks need a real CRC or libspng drops them.
uint32_t Crc32(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char ch : bytes) {
    crc ^= static_cast<unsigned char>(ch);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string BigEndian32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string PngChunk(std::string_view type, std::string_view data) {
  std::string body = std::string(type) + std::string(data);
  return BigEndian32(static_cast<uint32_t>(data.size())) + body + BigEndian32(Crc32(body));
}

// Rewrites the IHDR of a libspng-made PNG (signature, then IHDR at offset 8) to claim
// another size, with a valid CRC so only the size is a lie.
std::string WithPngSize(std::string png, uint32_t width, uint32_t height) {
  png.replace(16, 4, BigEndian32(width));
  png.replace(20, 4, BigEndian32(height));
  png.replace(29, 4, BigEndian32(Crc32(std::string_view(png).substr(12, 17))));
  return png;
}

std::string InsertBeforeIdat(std::string png, const std::string& chunk) {
  const size_t idat = png.find("IDAT");
  EXPECT_NE(idat, std::string::npos);
  png.insert(idat - 4, chunk);
  return png;
}

// An APP1 Exif segment in little-endian ("II") order: IFD0 holds `entries` (12 bytes
// each, already little-endian) and starts at `ifd0_offset` within the TIFF block.
std::string LittleEndianExifSegment(const std::vector<std::string>& entries,
                                    uint32_t ifd0_offset = 8, uint16_t declared_count = 0) {
  auto le16 = [](uint32_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
  };
  auto le32 = [&](uint32_t v) { return le16(v & 0xFFFF) + le16(v >> 16); };
  std::string tiff = "II" + le16(42) + le32(ifd0_offset);
  tiff += le16(declared_count != 0 ? declared_count : static_cast<uint16_t>(entries.size()));
  for (const std::string& e : entries) tiff += e;
  tiff += le32(0);
  std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t length = payload.size() + 2;
  return std::string{'\xFF', '\xE1', static_cast<char>(length >> 8), static_cast<char>(length)} +
         payload;
}

std::string LittleEndianEntry(uint16_t tag, uint16_t type, uint32_t count, uint32_t value) {
  std::string e;
  for (uint32_t v : {uint32_t{tag}, uint32_t{type}}) {
    e += {static_cast<char>(v), static_cast<char>(v >> 8)};
  }
  for (uint32_t v : {count, value}) {
    e += {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
          static_cast<char>(v >> 24)};
  }
  return e;
}

// Offset just past the JFIF APP0 segment that turbojpeg writes after SOI.
size_t AfterApp0(const std::string& jpeg) {
  EXPECT_EQ(static_cast<unsigned char>(jpeg[3]), 0xE0);
  return 4 + ((static_cast<unsigned char>(jpeg[4]) << 8) | static_cast<unsigned char>(jpeg[5]));
}

void ExpectNotAnImage(const Result<ImageHeader>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnsupportedMedia) << r.status().ToString();
  EXPECT_EQ(r.status().reason(), "not_an_image");
  EXPECT_FALSE(r.status().message().empty());
}

void ExpectTooLarge(const Result<ImageHeader>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge) << r.status().ToString();
  EXPECT_EQ(r.status().reason(), "image_too_large");
}

TEST(ImageHeaderTest, SniffNamesFormats) {
  EXPECT_EQ(Sniff(MakeJpeg(8, 8)), Format::kJpeg);
  EXPECT_EQ(Sniff(MakePng(8, 8)), Format::kPng);
  EXPECT_EQ(Sniff(MakeWebp(8, 8)), Format::kWebp);
  EXPECT_EQ(Sniff(std::string_view("\xFF\xD8\xFF")), Format::kJpeg);
  EXPECT_EQ(Sniff(std::string_view("RIFF\0\0\0\0WEBP", 12)), Format::kWebp);
  EXPECT_EQ(Sniff(std::string_view("GIF89a")), Format::kUnknown);
  EXPECT_EQ(Sniff(std::span<const char>()), Format::kUnknown);
}

TEST(ImageHeaderTest, SniffNeedsTheWholeMagic) {
  EXPECT_EQ(Sniff(std::string_view("\xFF\xD8")), Format::kUnknown);
  EXPECT_EQ(Sniff(std::string_view("\x89PNG\r\n\x1A")), Format::kUnknown);
  EXPECT_EQ(Sniff(std::string_view("RIFF\0\0\0\0WAVE", 12)), Format::kUnknown);
  EXPECT_EQ(Sniff(std::string_view("RIFF\0\0\0\0WEB", 11)), Format::kUnknown);
}

TEST(ImageHeaderTest, FormatNamesRoundTrip) {
  for (Format f : {Format::kJpeg, Format::kPng, Format::kWebp}) {
    EXPECT_EQ(FormatFromName(FormatName(f)), f);
  }
  EXPECT_EQ(FormatName(Format::kJpeg), "jpeg");
  EXPECT_EQ(FormatName(Format::kUnknown), "unknown");
  EXPECT_EQ(MimeType(Format::kJpeg), "image/jpeg");
  EXPECT_EQ(MimeType(Format::kPng), "image/png");
  EXPECT_EQ(MimeType(Format::kWebp), "image/webp");
  EXPECT_EQ(MimeType(Format::kUnknown), "application/octet-stream");
  EXPECT_EQ(FormatFromName("JPG"), Format::kJpeg);
  EXPECT_EQ(FormatFromName("Jpeg"), Format::kJpeg);
  EXPECT_EQ(FormatFromName("WebP"), Format::kWebp);
  EXPECT_EQ(FormatFromName("gif"), Format::kUnknown);
  EXPECT_EQ(FormatFromName(""), Format::kUnknown);
  EXPECT_EQ(FormatFromName("unknown"), Format::kUnknown);
  EXPECT_EQ(FormatFromName("pngx"), Format::kUnknown);
}

TEST(ImageHeaderTest, JpegHeaderGivesSize) {
  for (auto [w, h] : {std::pair{640, 480}, std::pair{33, 17}, std::pair{1, 1}}) {
    auto r = ReadHeader(MakeJpeg(w, h));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->format, Format::kJpeg);
    EXPECT_EQ(r->width, static_cast<uint32_t>(w));
    EXPECT_EQ(r->height, static_cast<uint32_t>(h));
    EXPECT_EQ(r->exif.orientation, 1);
    EXPECT_FALSE(r->has_alpha);
  }
}

TEST(ImageHeaderTest, EveryExifOrientationIsRead) {
  for (int orientation = 1; orientation <= 8; ++orientation) {
    auto r = ReadHeader(MakeJpegWithOrientation(40, 30, orientation));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exif.orientation, orientation);
    // Orientation is reported, not applied: the header gives the stored size.
    EXPECT_EQ(r->width, 40u);
    EXPECT_EQ(r->height, 30u);
  }
}

TEST(ImageHeaderTest, LittleEndianExifAfterOtherSegmentsAndTagsIsRead) {
  std::string jpeg = MakeJpeg(24, 16);
  // An XMP APP1 first (must be skipped), then Exif with Orientation as the third tag.
  const std::string xmp_payload("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>", 41);
  const size_t xmp_length = xmp_payload.size() + 2;
  const std::string xmp = std::string{'\xFF', '\xE1', static_cast<char>(xmp_length >> 8),
                                      static_cast<char>(xmp_length)} +
                          xmp_payload;
  const std::string exif = LittleEndianExifSegment({
      LittleEndianEntry(0x010F, 2, 4, 0),  // Make, ASCII (value offset unused)
      LittleEndianEntry(0x0110, 2, 4, 0),  // Model
      LittleEndianEntry(0x0112, 3, 1, 6),  // Orientation = 6
  });
  jpeg.insert(AfterApp0(jpeg), xmp + exif);
  auto r = ReadHeader(jpeg);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exif.orientation, 6);
  EXPECT_EQ(r->width, 24u);
}

TEST(ImageHeaderTest, OutOfRangeOrWronglyTypedOrientationReadsAsUpright) {
  const std::vector<std::string> bad_entries = {
      LittleEndianEntry(0x0112, 3, 1, 0),  // 0 is not an orientation
      LittleEndianEntry(0x0112, 3, 1, 9),  // nor is 9
      LittleEndianEntry(0x0112, 4, 1, 6),  // LONG, not SHORT
      LittleEndianEntry(0x0112, 3, 0, 6),  // count 0
  };
  for (const std::string& entry : bad_entries) {
    std::string jpeg = MakeJpeg(16, 16);
    jpeg.insert(2, LittleEndianExifSegment({entry}));
    auto r = ReadHeader(jpeg);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exif.orientation, 1);
  }
}

TEST(ImageHeaderTest, ExifOffsetsPastTheSegmentAreIgnored) {
  const std::string orientation6 = LittleEndianEntry(0x0112, 3, 1, 6);
  // IFD0 offset far past the end, and an entry count far beyond the bytes present.
  for (const std::string& segment :
       {LittleEndianExifSegment({orientation6}, 0xFFFFFFF0u),
        LittleEndianExifSegment({orientation6}, 0xFFFFu),
        LittleEndianExifSegment({LittleEndianEntry(0x0100, 3, 1, 5)}, 8, 0xFFFF)}) {
    std::string jpeg = MakeJpeg(16, 16);
    jpeg.insert(2, segment);
    auto r = ReadHeader(jpeg);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exif.orientation, 1);
  }
}

TEST(ImageHeaderTest, EveryCorruptionOfTheExifBlockIsSafe) {
  // Flip each byte of the Exif segment in turn: the result may be refused or read, but
  // never crashes or reads out of range (this test earns its keep under ASan).
  const std::string good = MakeJpegWithOrientation(16, 16, 3);
  for (size_t i = 2; i < 2 + 36; ++i) {
    for (unsigned char value : {0x00, 0x08, 0xFF}) {
      std::string jpeg = good;
      jpeg[i] = static_cast<char>(value);
      auto r = ReadHeader(jpeg);
      if (r.ok()) {
        EXPECT_GE(r->exif.orientation, 1);
        EXPECT_LE(r->exif.orientation, 8);
      } else {
        EXPECT_EQ(r.status().code(), Code::kUnsupportedMedia);
      }
    }
  }
}

TEST(ImageHeaderTest, JpegWithStrayBytesBeforeAMarkerIsAccepted) {
  // libjpeg only warns about this, and turbojpeg 2.1 turns warnings into a failed call;
  // the image still decodes, so the header must not refuse it.
  // The Exif segment after the junk is still found, as libjpeg would find it.
  std::string jpeg = MakeJpeg(20, 10);
  jpeg.insert(AfterApp0(jpeg),
              "junk" + LittleEndianExifSegment({LittleEndianEntry(0x0112, 3, 1, 8)}));
  auto r = ReadHeader(jpeg);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->width, 20u);
  EXPECT_EQ(r->height, 10u);
  EXPECT_EQ(r->exif.orientation, 8);
}

TEST(ImageHeaderTest, PngHeaderGivesSize) {
  auto r = ReadHeader(MakePng(300, 200));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, Format::kPng);
  EXPECT_EQ(r->width, 300u);
  EXPECT_EQ(r->height, 200u);
  EXPECT_EQ(r->exif.orientation, 1);
  EXPECT_FALSE(r->has_alpha);
}

TEST(ImageHeaderTest, PngWithAlphaReportsAlpha) {
  auto r = ReadHeader(MakePng(30, 20, /*alpha=*/true));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_alpha);
  EXPECT_EQ(r->width, 30u);
}

TEST(ImageHeaderTest, PngWithTrnsChunkReportsAlpha) {
  // Truecolor tRNS: one 16-bit sample per channel names the transparent colour.
  const std::string trns = PngChunk("tRNS", std::string("\0\1\0\2\0\3", 6));
  auto r = ReadHeader(InsertBeforeIdat(MakePng(10, 10), trns));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_alpha);
}

TEST(ImageHeaderTest, WebpLossyHeader) {
  auto r = ReadHeader(MakeWebp(120, 90));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, Format::kWebp);
  EXPECT_EQ(r->width, 120u);
  EXPECT_EQ(r->height, 90u);
  EXPECT_EQ(r->exif.orientation, 1);
  EXPECT_FALSE(r->has_alpha);
}

TEST(ImageHeaderTest, WebpLosslessHeader) {
  auto r = ReadHeader(MakeWebp(77, 13, /*lossless=*/true));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, Format::kWebp);
  EXPECT_EQ(r->width, 77u);
  EXPECT_EQ(r->height, 13u);
  EXPECT_FALSE(r->has_alpha);
}

TEST(ImageHeaderTest, WebpWithAlphaReportsAlpha) {
  std::vector<uint8_t> rgba(8 * 8 * 4, 0x80);
  rgba[3] = 0;  // one transparent pixel, so the encoder keeps the alpha channel
  uint8_t* raw = nullptr;
  const size_t size = WebPEncodeLosslessRGBA(rgba.data(), 8, 8, 8 * 4, &raw);
  std::unique_ptr<uint8_t, void (*)(void*)> owned(raw, WebPFree);
  ASSERT_GT(size, 0u);
  auto r = ReadHeader(std::span<const char>(reinterpret_cast<const char*>(raw), size));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_alpha);
  EXPECT_EQ(r->width, 8u);
}

TEST(ImageHeaderTest, TruncatedJpegIsRefused) {
  const std::string jpeg = MakeJpeg(64, 64);
  for (size_t keep : {size_t{3}, size_t{10}, size_t{100}}) {
    SCOPED_TRACE(keep);
    ExpectNotAnImage(ReadHeader(std::string_view(jpeg).substr(0, keep)));
  }
}

TEST(ImageHeaderTest, TruncatedPngIsRefused) {
  const std::string png = MakePng(64, 64);
  // 33 bytes hold the whole IHDR, 40 almost reach the first IDAT: a header read still
  // has to see the structure up to the image data.
  for (size_t keep : {size_t{8}, size_t{16}, size_t{24}, size_t{32}, size_t{33}, size_t{40}}) {
    SCOPED_TRACE(keep);
    ExpectNotAnImage(ReadHeader(std::string_view(png).substr(0, keep)));
  }
}

TEST(ImageHeaderTest, PngWithCorruptIhdrChecksumIsRefused) {
  std::string png = MakePng(16, 16);
  png[29] = static_cast<char>(png[29] ^ 0x01);
  ExpectNotAnImage(ReadHeader(png));
}

TEST(ImageHeaderTest, TruncatedWebpIsRefused) {
  const std::string webp = MakeWebp(64, 64);
  for (size_t keep : {size_t{12}, size_t{20}, size_t{25}}) {
    SCOPED_TRACE(keep);
    ExpectNotAnImage(ReadHeader(std::string_view(webp).substr(0, keep)));
  }
}

TEST(ImageHeaderTest, EveryPrefixIsRefusedOrReadSafely) {
  // Header parsing must hold up at every possible cut, not just the ones above.
  for (const std::string& image : {MakeJpegWithOrientation(16, 16, 5), MakePng(16, 16, true),
                                   MakeWebp(16, 16), MakeWebp(16, 16, true)}) {
    const Format format = Sniff(image);
    for (size_t keep = 0; keep <= image.size(); ++keep) {
      auto r = ReadHeader(std::string_view(image).substr(0, keep));
      if (r.ok()) {
        EXPECT_EQ(r->format, format);
        EXPECT_EQ(r->width, 16u);
        EXPECT_EQ(r->height, 16u);
      } else {
        EXPECT_EQ(r.status().code(), Code::kUnsupportedMedia) << keep;
      }
    }
    EXPECT_TRUE(ReadHeader(image).ok());
  }
}

TEST(ImageHeaderTest, GarbageIsNotAnImage) {
  std::string garbage(4096, '\0');
  uint32_t x = 12345;
  for (char& c : garbage) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  ExpectNotAnImage(ReadHeader(garbage));
}

TEST(ImageHeaderTest, GarbageAfterTheMagicIsNotAnImage) {
  const std::string junk(200, '\x5A');
  for (const std::string& magic : {std::string("\xFF\xD8\xFF"), std::string("\x89PNG\r\n\x1A\n"),
                                   std::string("RIFF\xC8\0\0\0WEBP", 12)}) {
    SCOPED_TRACE(FormatName(Sniff(magic)));
    ExpectNotAnImage(ReadHeader(magic + junk));
  }
}

TEST(ImageHeaderTest, TextFileIsNotAnImage) {
  auto r = ReadHeader(std::string_view("Hello, this is a plain text file.\nNot a picture.\n"));
  ExpectNotAnImage(r);
  EXPECT_EQ(r.status().message(), "the bytes are not a JPEG, PNG or WebP image");
}

TEST(ImageHeaderTest, EmptyInputIsRefused) {
  ExpectNotAnImage(ReadHeader(std::span<const char>()));
}

TEST(ImageHeaderTest, BombIsRefusedFromHeader) {
  // A complete, checksummed 1x1 PNG whose IHDR claims 100000x100000: refused from the
  // header alone, never allocating ten billion pixels.
  ExpectTooLarge(ReadHeader(WithPngSize(MakePng(1, 1), 100000, 100000)));
  // Within the per-side limit, but 3.6 gigapixels.
  ExpectTooLarge(ReadHeader(WithPngSize(MakePng(1, 1), 60000, 60000)));
  // The patching itself is sound: an honest size still reads.
  auto r = ReadHeader(WithPngSize(MakePng(1, 1), 1, 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->width, 1u);
}

TEST(ImageHeaderTest, PixelLimitAppliesToRealImages) {
  HeaderLimits limits;
  limits.max_pixels = 64 * 64 - 1;
  ExpectTooLarge(ReadHeader(MakeJpeg(64, 64), limits));
  ExpectTooLarge(ReadHeader(MakePng(64, 64), limits));
  ExpectTooLarge(ReadHeader(MakeWebp(64, 64), limits));
  limits.max_pixels = 64 * 64;  // the limit itself is allowed
  EXPECT_TRUE(ReadHeader(MakeJpeg(64, 64), limits).ok());
  EXPECT_TRUE(ReadHeader(MakePng(64, 64), limits).ok());
  EXPECT_TRUE(ReadHeader(MakeWebp(64, 64), limits).ok());
}

TEST(ImageHeaderTest, DimensionLimitAppliesToEachSide) {
  HeaderLimits limits;
  limits.max_dimension = 99;
  ExpectTooLarge(ReadHeader(MakeJpeg(100, 10), limits));
  ExpectTooLarge(ReadHeader(MakePng(10, 100), limits));
  ExpectTooLarge(ReadHeader(MakeWebp(100, 10), limits));
  limits.max_dimension = 100;
  EXPECT_TRUE(ReadHeader(MakeJpeg(100, 10), limits).ok());
  EXPECT_TRUE(ReadHeader(MakePng(10, 100), limits).ok());
  EXPECT_TRUE(ReadHeader(MakeWebp(100, 10), limits).ok());
}

TEST(ImageHeaderTest, ZeroSizedPngIsNotAnImage) {
  ExpectNotAnImage(ReadHeader(WithPngSize(MakePng(1, 1), 0, 1)));
  ExpectNotAnImage(ReadHeader(WithPngSize(MakePng(1, 1), 1, 0)));
}

TEST(ImageHeaderTest, ZeroHeightJpegIsNotAnImage) {
  // SOF0 stores height then width after the precision byte; height 0 means "DNL-defined",
  // which no decoder we use supports.
  std::string jpeg = MakeJpeg(8, 8);
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 5] = '\0';
  jpeg[sof + 6] = '\0';
  ExpectNotAnImage(ReadHeader(jpeg));
}

TEST(ImageHeaderTest, GeneratedImagesAreDeterministic) {
  EXPECT_EQ(MakeJpeg(50, 40), MakeJpeg(50, 40));
  EXPECT_EQ(MakePng(50, 40, true), MakePng(50, 40, true));
  EXPECT_EQ(MakeWebp(50, 40), MakeWebp(50, 40));
  EXPECT_NE(MakeJpeg(50, 40, 50), MakeJpeg(50, 40, 95));
}

}  // namespace
}  // namespace glint::codec
