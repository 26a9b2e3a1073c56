#include "codec/exif.h"

#include <gtest/gtest.h>

#include <string>

#include "codec/image_header.h"
#include "tests/testutil/exif.h"
#include "tests/testutil/images.h"

namespace glint::codec {
namespace {

using testutil::ExifFields;
using testutil::MakeExifBlock;

std::span<const unsigned char> Bytes(const std::string& s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

ExifFields Camera() {
  ExifFields f;
  f.orientation = 6;
  f.make = "Canon";
  f.model = "Canon EOS R5";
  f.date_time_original = "2024:05:01 14:03:22";
  return f;
}

TEST(ExifTest, ReadsOrientationCameraAndCaptureTime) {
  for (bool little_endian : {false, true}) {
    ExifFields f = Camera();
    f.little_endian = little_endian;
    ExifInfo info = ParseExif(Bytes(MakeExifBlock(f)));
    EXPECT_EQ(info.orientation, 6) << little_endian;
    EXPECT_EQ(info.camera_make, "Canon");
    EXPECT_EQ(info.camera_model, "Canon EOS R5");
    EXPECT_EQ(info.taken_at, "2024-05-01T14:03:22");
  }
}

TEST(ExifTest, AppendsTheUtcOffsetWhenRecorded) {
  ExifFields f = Camera();
  f.offset_time_original = "+02:00";
  EXPECT_EQ(ParseExif(Bytes(MakeExifBlock(f))).taken_at, "2024-05-01T14:03:22+02:00");
  f.offset_time_original = "bogus!";
  EXPECT_EQ(ParseExif(Bytes(MakeExifBlock(f))).taken_at, "2024-05-01T14:03:22");
}

TEST(ExifTest, AcceptsTheTiffStructureWithoutTheExifIdentifier) {
  std::string block = MakeExifBlock(Camera());
  EXPECT_EQ(ParseExif(Bytes(block.substr(6))), ParseExif(Bytes(block)));
}

TEST(ExifTest, UnsetOrMalformedDatesAreDropped) {
  for (const char* bad : {"0000:00:00 00:00:00", "    :  :     :  :  ", "2024-05-01 14:03:22",
                          "2024:13:01 14:03:22", "2024:05:01 25:03:22", "2024:05:01"}) {
    ExifFields f;
    f.date_time_original = bad;
    EXPECT_EQ(ParseExif(Bytes(MakeExifBlock(f))).taken_at, "") << bad;
  }
}

TEST(ExifTest, TextIsTrimmedAndStrippedOfControlBytes) {
  ExifFields f;
  f.make = "  NIKON CORPORATION   ";
  f.model = "D\x01\x1b[31m850\x7f";
  ExifInfo info = ParseExif(Bytes(MakeExifBlock(f)));
  EXPECT_EQ(info.camera_make, "NIKON CORPORATION");
  EXPECT_EQ(info.camera_model, "D[31m850");
  f.model = std::string(300, 'x');
  EXPECT_EQ(ParseExif(Bytes(MakeExifBlock(f))).camera_model.size(), 64u);
}

TEST(ExifTest, OutOfRangeOrientationReadsAsUpright) {
  for (int value : {9, 0xFFFF}) {
    ExifFields f;
    f.orientation = value;
    EXPECT_EQ(ParseExif(Bytes(MakeExifBlock(f))).orientation, 1) << value;
  }
}

TEST(ExifTest, HostileBlocksGiveTheDefaults) {
  const std::string block = MakeExifBlock(Camera());
  EXPECT_EQ(ParseExif({}), ExifInfo{});
  EXPECT_EQ(ParseExif(Bytes(std::string("Exif\0\0", 6))), ExifInfo{});
  EXPECT_EQ(ParseExif(Bytes(std::string(100, '\xFF'))), ExifInfo{});
  // Every truncation and a sweep of single-byte corruptions: never a crash (ASan watches),
  // and a value only when it is one the block could hold.
  for (size_t n = 0; n < block.size(); ++n) {
    ExifInfo info = ParseExif(Bytes(block.substr(0, n)));
    EXPECT_GE(info.orientation, 1);
    EXPECT_LE(info.orientation, 8);
  }
  for (size_t i = 6; i < block.size(); ++i) {
    for (unsigned char v : {0x00, 0x7F, 0xFF}) {
      std::string bad = block;
      bad[i] = static_cast<char>(v);
      ExifInfo info = ParseExif(Bytes(bad));
      EXPECT_LE(info.camera_model.size(), 64u);
      EXPECT_LE(info.orientation, 8);
    }
  }
}

TEST(ExifTest, HeadersOfAllThreeFormatsCarryTheirExif) {
  const std::string block = MakeExifBlock(Camera());
  const std::string tiff = block.substr(6);
  const std::string files[] = {
      testutil::JpegWithExif(testutil::MakeJpeg(40, 30), block),
      testutil::PngWithExif(40, 30, tiff),
      testutil::WebpWithExif(testutil::MakeWebp(40, 30), tiff),
      // Some writers keep the identifier inside WebP's chunk too.
      testutil::WebpWithExif(testutil::MakeWebp(40, 30, true), block),
  };
  for (const std::string& file : files) {
    auto header = ReadHeader(std::span<const char>(file.data(), file.size()));
    ASSERT_TRUE(header.ok()) << header.status().ToString();
    EXPECT_EQ(header->width, 40u);
    EXPECT_EQ(header->exif.orientation, 6) << FormatName(header->format);
    EXPECT_EQ(header->exif.camera_model, "Canon EOS R5") << FormatName(header->format);
    EXPECT_EQ(header->exif.taken_at, "2024-05-01T14:03:22");
  }
}

TEST(ExifTest, FilesWithoutExifAreUprightWithNoFacts) {
  for (const std::string& file :
       {testutil::MakeJpeg(20, 10), testutil::MakePng(20, 10), testutil::MakeWebp(20, 10)}) {
    auto header = ReadHeader(std::span<const char>(file.data(), file.size()));
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->exif, ExifInfo{});
  }
}

}  // namespace
}  // namespace glint::codec
