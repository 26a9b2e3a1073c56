// Byte ranges (RFC 9110 §14): the `Range: bytes=...` request header and the choice between
// 200, 206 and 416 for a representation of known size.
//
// One range is served (206). A header that is malformed, names another unit, or asks for
// several ranges is ignored, as RFC 9110 allows, and the whole representation is sent
// (200): multipart/byteranges is not produced. An `If-Range` that does not match the
// current strong ETag also means the whole representation.
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace glint::http {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t length() const { return last - first + 1; }
};

struct RangeDecision {
  enum Kind { kWhole, kPartial, kUnsatisfiable } kind = kWhole;
  ByteRange range;  // for kPartial
};

// What to answer for a representation of `size` bytes whose strong ETag is `etag`, given the
// request's Range and If-Range values (empty when absent).
RangeDecision DecideRange(std::string_view range_header, std::string_view if_range,
                          std::string_view etag, uint64_t size);

}  // namespace glint::http
