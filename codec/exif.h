// The EXIF facts glint keeps about a photo, read with libexif from the TIFF structure that
// JPEG (APP1 "Exif\0\0"), PNG (eXIf) and WebP (EXIF chunk) files carry.
//
// Only what glint uses is extracted: the orientation (to turn output upright), the camera
// and the capture time (photo metadata). Nothing else is kept, GPS positions above all;
// and no EXIF block is ever written into an output (codec/encode.h).
//
// Every byte is hostile: a missing, truncated or malformed block yields the defaults (an
// upright photo with no camera or time), never an error, since broken EXIF is common in the
// wild and must not make an otherwise good photo unusable.
//
// Pure functions over borrowed bytes; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace glint::codec {

struct ExifInfo {
  uint8_t orientation = 1;   // 1..8 (tag 0x0112); 1 when absent or out of range
  std::string camera_make;   // "Canon" (tag 0x010F), trimmed; empty when absent
  std::string camera_model;  // "Canon EOS R5" (tag 0x0110), trimmed; empty when absent
  // When the photo was taken, ISO 8601: "2024-05-01T14:03:22", with "+02:00" appended when
  // the file records its UTC offset (OffsetTimeOriginal). From DateTimeOriginal, else
  // DateTimeDigitized; empty when neither is a valid date.
  std::string taken_at;

  bool operator==(const ExifInfo&) const = default;
};

// The largest EXIF block parsed; real ones are at most 64 KiB (a JPEG segment's limit).
inline constexpr size_t kMaxExifBytes = 1 << 20;

// Parses an EXIF block: the TIFF structure ("II*\0" or "MM\0*" ...), optionally preceded by
// the "Exif\0\0" identifier. Text fields keep printable characters only and at most 64 bytes.
ExifInfo ParseExif(std::span<const unsigned char> block);

}  // namespace glint::codec
