// The resizer: scales decoded pixels to an exact size for thumbnails and renditions.
//
// libvips' two-step plan (resample/resize.c): an integer box shrink takes large factors down
// to at most ~2-3x cheaply, then a separable filter ("reduce") does the rest, one axis at a
// time, with fixed-point weights (codec/resize.cc documents the arithmetic). Shrink-on-load in
// the decoders comes before this and is not done here.
//
// Stateless functions on value types: safe to call from any thread, concurrently.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "codec/image.h"

namespace glint::codec {

enum class Filter {
  kLanczos3,    // sinc windowed by sinc, radius 3: sharpest; the default, like libvips
  kCatmullRom,  // cheaper: bicubic a = -0.5, radius 2
  kLinear,      // triangle, radius 1: cheapest, softest
};

// Resamples `src` to exactly `width` x `height` with a separable filter, one axis at a time
// (the axis that shrinks most first). Downscaling widens the kernel by the scale
// (area-correct, like libvips' reduce); for a large factor it first box-shrinks by an integer
// factor so the filter sees at most ~2-3x (libvips' shrink + reduce). Pixel centres are
// aligned (output pixel x samples source position (x + 0.5) * src.width / width - 0.5), edges
// are extended by repetition. A 4-channel image is premultiplied before and un-premultiplied
// after: input and output are straight alpha unless src.premultiplied, in which case both are
// premultiplied. Intermediates are 8-bit, so translucent colours are exact only to the 8-bit
// premultiplied round trip (an opaque or 3-channel flat colour stays exactly flat).
//
// Returns a new Image (owned by the caller) with src's channels and premultiplied flag.
// Errors: kInvalidArgument for a zero target size, an empty source, channels other than 3 or
// 4, or a pixel buffer whose size does not match width * height * channels.
// Uses the best SIMD target of the running CPU (see SimdTargetName()).
Result<Image> Resize(const Image& src, uint32_t width, uint32_t height,
                     Filter filter = Filter::kLanczos3);

// Resize() with the portable scalar kernels only. The result is bit-identical to Resize()
// (tests compare the two paths).
Result<Image> ResizeScalarForTesting(const Image& src, uint32_t width, uint32_t height,
                                     Filter filter = Filter::kLanczos3);

// Name of the SIMD target Resize() runs on, chosen at run time ("AVX3", "AVX2", "SSE4",
// "EMU128"...). A static string.
const char* SimdTargetName();

}  // namespace glint::codec
