// Pixel decoding: the second, expensive half of every codec (STYLE rules 4 and 5).
//
// Decode() always runs ReadHeader() first, so what is not an image, or is a decompression
// bomb, is refused from the header alone, before any pixel memory is allocated. It then
// decodes to 8-bit RGB or straight-alpha RGBA, shrinking on load where the format makes
// that cheap (JPEG's DCT scaling) so that a thumbnail is never made from a full-size decode.
//
// What Decode() does NOT do: apply the EXIF orientation (a separate step does; the source
// orientation is reported in Decoded::header), colour-manage (ICC profiles and PNG gAMA
// are ignored), or premultiply alpha.
//
// Format notes, all part of the contract:
//   JPEG  baseline and progressive; grayscale is expanded to RGB. CMYK and YCCK are
//         converted to RGB with the naive formula R = (255-C)(255-K)/255 on ink amounts.
//         A file carrying an Adobe APP14 marker is taken to store inverted CMYK (255 = no
//         ink), as Photoshop writes it and libvips reads it; a CMYK file without that
//         marker is taken to store ink amounts directly (libvips again; ImageMagick
//         inverts every CMYK JPEG). turbojpeg itself stores CMYK samples as given.
//         libjpeg warnings (e.g. extraneous bytes before a marker, a damaged Huffman code)
//         do not fail the decode, as in browsers and libvips; a file whose data ends before
//         its EOI marker (a cut-off upload) does, with "corrupt_image", rather than being
//         accepted with libjpeg's grey fill for the missing rows. Progressive files with
//         more than 500 scans are refused (libjpeg-turbo's scan limit, a CPU-bomb guard).
//   PNG   every bit depth, colour type and interlacing; 16-bit samples are reduced to 8
//         bits. RGBA when the colour type has alpha or a tRNS chunk is present, else RGB.
//   WebP  lossy, lossless, with or without alpha. An animated WebP decodes to its first
//         frame composited on the (transparent) canvas, at canvas size; it is RGBA unless
//         every pixel of that frame is opaque.
//
// Pure functions over borrowed bytes; safe from any thread. The result owns its pixels.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "codec/image.h"
#include "codec/image_header.h"

namespace glint::codec {

struct DecodeOptions {
  // The final size the caller will resize to; only a hint for shrink-on-load. 0 on one
  // side leaves that axis unconstrained; 0 on both means decode at full size.
  uint32_t target_width = 0;
  uint32_t target_height = 0;
  HeaderLimits limits;  // refused from the header, before pixel memory is allocated
};

struct Decoded {
  Image image;          // RGB (3) or RGBA (4, straight alpha, not premultiplied)
  ImageHeader header;   // of the source (full size, orientation)
  uint32_t shrink = 1;  // the decoder's own downscale factor applied (JPEG DCT: 1, 2, 4, 8)
};

// Decodes a JPEG, PNG or WebP image.
//
// Shrink-on-load: for JPEG it picks the largest DCT scale 1/2, 1/4 or 1/8 such that the
// scaled image is still at least 2x the target in both dimensions (so the final filter
// has >= 2x to work with), see JpegShrinkFor(); the decoded size is then
// ceil(header.width / shrink) x ceil(header.height / shrink). PNG and WebP have no cheap
// shrink and always decode at full size with shrink = 1.
//
// Errors: those of ReadHeader() (kUnsupportedMedia "not_an_image", kTooLarge
// "image_too_large"), plus kUnsupportedMedia "corrupt_image" when the header is sound but
// the pixel data is bad or truncated, and kInternal if a codec library cannot be set up.
Result<Decoded> Decode(std::span<const char> bytes, const DecodeOptions& options = {});

// Decode() for a caller that has already read the header: `header` must be what
// ReadHeader(bytes, options.limits) returned, so the checks it made stand (the pipeline reads
// the header first to plan, and this spares a second header read and EXIF parse).
Result<Decoded> Decode(std::span<const char> bytes, const ImageHeader& header,
                       const DecodeOptions& options);

// The DCT shrink factor (1, 2, 4 or 8) Decode() uses for a `width` x `height` JPEG and
// the given target (same meaning of 0 as in DecodeOptions). Pure; exposed for tests and
// the resize planner.
uint32_t JpegShrinkFor(uint32_t width, uint32_t height, uint32_t target_w, uint32_t target_h);

}  // namespace glint::codec
