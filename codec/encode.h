// Encoding decoded pixels to JPEG, PNG or WebP: the last step of every transform.
//
// Outputs are pixels only: no EXIF (so no GPS position and no orientation tag; callers
// apply orientation to the pixels first, see codec/orient.h), no ICC profile, no XMP, no
// comments. This is a privacy promise, not an optimisation: tests assert it.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "codec/image.h"
#include "codec/image_header.h"

namespace glint::codec {

struct EncodeOptions {
  Format format = Format::kJpeg;
  int quality = 80;                // 1..100; used by JPEG and lossy WebP, ignored by PNG
  bool progressive = false;        // JPEG only
  bool lossless = false;           // WebP only
  uint32_t background = 0xFFFFFF;  // 0xRRGGBB; alpha is flattened onto it for JPEG
};

// Encodes `image`, which must hold straight (not premultiplied) RGB or RGBA pixels with
// pixels.size() == height * stride().
//
// JPEG: baseline (or progressive when asked), chroma subsampled 4:2:0 below quality 90 and
//   4:4:4 from 90 up; an alpha channel is flattened onto `background` with
//   out = (src * a + bg * (255 - a) + 127) / 255 per channel. libjpeg-turbo's JFIF APP0
//   segment is the only marker segment written besides the image data.
// PNG: 8-bit truecolour (RGB) or truecolour + alpha (RGBA), libspng's default compression;
//   lossless, alpha kept exactly.
// WebP: lossy at `quality` or lossless; alpha kept. Like libwebp's defaults, the encoder may
//   change the RGB of fully transparent pixels (invisible) to compress better.
//
// Returns the encoded file, owned by the caller.
// Errors: kInvalidArgument for a premultiplied image, channels other than 3 or 4, a pixel
// buffer of the wrong size, a zero width or height, a side larger than the format allows
// (65535 for JPEG, 16383 for WebP, 2^31 - 1 for PNG), quality outside 1..100, or
// Format::kUnknown; kInternal when the codec library fails.
Result<std::string> Encode(const Image& image, const EncodeOptions& options);

}  // namespace glint::codec
