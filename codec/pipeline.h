// One transform, bytes to bytes: read the header (limits), decode with shrink-on-load, turn
// upright (EXIF orientation), rotate/flip, take the planned region, resample, apply the pixel
// operations, place on the canvas, and encode (no metadata is ever written).
//
// CPU-heavy (tens of milliseconds for a photo): callers run it on the CPU pool, never on an
// event loop. Pure function of its inputs; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/image_header.h"
#include "codec/plan.h"
#include "codec/resize.h"

namespace glint::codec {

struct PipelineOptions {
  GeometryRequest geometry;  // applied to the upright, rotated source
  int rotate = 0;            // clockwise 0/90/180/270, after EXIF orientation
  bool flip_horizontal = false;
  bool flip_vertical = false;
  bool grayscale = false;
  double blur = 0;     // sigma; 0 = none
  double sharpen = 0;  // sigma; 0 = none
  // Flattening colour for formats without alpha and the contain canvas; unset = white for
  // JPEG, transparent where the output keeps alpha.
  std::optional<uint32_t> background;
  Format format = Format::kUnknown;  // kUnknown = the source's format
  int quality = 80;
  bool progressive = false;  // JPEG output
  bool lossless = false;     // WebP output
  Filter filter = Filter::kLanczos3;
  HeaderLimits limits;
};

struct Rendered {
  std::string bytes;
  Format format = Format::kUnknown;
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t decode_shrink = 1;  // the decoder's own downscale (JPEG DCT scaling)
};

// Errors: those of ReadHeader/Decode (415 not_an_image / corrupt_image, 413
// image_too_large) and of Encode.
Result<Rendered> Render(std::span<const char> source, const PipelineOptions& options);

struct RenderSet {
  std::vector<Rendered> renders;  // one per option, in order
  std::string blurhash;           // of the upright source (codec/blurhash.h)
};

// Several renders of one source from a single decode, and its BlurHash: the work done for a
// newly registered photo (its common sizes and its placeholder). The source is decoded once,
// shrunk on load only as far as the largest render allows; each render then proceeds as
// Render() would from there. So a small render's pixels can differ slightly from what
// Render() alone gives (it would shrink further on load), as two valid resamplings do.
// `limits` apply to the source (each option's own limits are ignored).
// Errors: Render()'s, and kInvalidArgument when an option rotates or flips (only the EXIF
// orientation is applied here).
Result<RenderSet> RenderAll(std::span<const char> source, std::span<const PipelineOptions> options,
                            const HeaderLimits& limits);

}  // namespace glint::codec
