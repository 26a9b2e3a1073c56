// EXIF fixtures for tests: blocks written by libexif (an independent writer, so the reader
// under test is checked against real encodings) and put into JPEG, PNG and WebP files the
// way cameras and editors do.
#pragma once

#include <string>
#include <string_view>

namespace glint::testutil {

struct ExifFields {
  int orientation = 0;  // 0 = no Orientation tag
  std::string make, model;
  std::string date_time_original;    // EXIF form "YYYY:MM:DD HH:MM:SS"; "" = absent
  std::string offset_time_original;  // "+02:00"; "" = absent
  bool gps = false;                  // adds a GPS IFD with a latitude and longitude
  bool little_endian = false;        // "II" byte order instead of "MM"
};

// "Exif\0\0" followed by the TIFF structure.
std::string MakeExifBlock(const ExifFields& fields);

// `jpeg` with `block` as an APP1 segment right after SOI.
std::string JpegWithExif(std::string jpeg, std::string_view block);
// An RGB PNG (MakePng's pixels) with an eXIf chunk before IDAT holding `tiff` (no "Exif\0\0").
std::string PngWithExif(int width, int height, std::string_view tiff);
// `webp` (a simple lossy/lossless file) turned into the extended format with an EXIF chunk.
std::string WebpWithExif(const std::string& webp, std::string_view tiff);

}  // namespace glint::testutil
