// Sniffing and header reading: the cheap first half of every codec (STYLE rule 4).
//
// ReadHeader() looks at the leading bytes and the container/header only (no pixel decode)
// and reports format, dimensions and the EXIF facts (codec/exif.h), enough to refuse what is not an
// image or is a decompression bomb before any pixel memory is allocated. It treats every byte as
// hostile: truncated, lying or oversized headers are errors, never crashes.
//
// Pure functions over borrowed bytes; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/status.h"
#include "codec/exif.h"

namespace glint::codec {

enum class Format : unsigned char { kUnknown = 0, kJpeg, kPng, kWebp };

// "jpeg", "png", "webp"; "unknown".
std::string_view FormatName(Format f);
// "image/jpeg", ...; "application/octet-stream" for kUnknown.
std::string_view MimeType(Format f);
// Parses "jpeg"/"jpg"/"png"/"webp" (case-insensitive); kUnknown otherwise.
Format FormatFromName(std::string_view name);

// The format named by the magic bytes alone; kUnknown when none matches.
Format Sniff(std::span<const char> bytes);

struct ImageHeader {
  Format format = Format::kUnknown;
  uint32_t width = 0;
  uint32_t height = 0;
  bool has_alpha = false;
  ExifInfo exif;  // orientation (1 when absent), camera and capture time
};

struct HeaderLimits {
  uint32_t max_dimension = 65535;     // per side
  uint64_t max_pixels = 100'000'000;  // width * height (decompression-bomb guard)
};

// Reads the header of a JPEG, PNG or WebP image.
// Errors: kUnsupportedMedia when the bytes are not one of the three formats or the header
// is malformed/truncated or has a zero dimension ("not_an_image"); kTooLarge
// ("image_too_large") when a dimension or the pixel count exceeds `limits`.
Result<ImageHeader> ReadHeader(std::span<const char> bytes, const HeaderLimits& limits = {});

}  // namespace glint::codec
