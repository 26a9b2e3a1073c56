#include "codec/decode.h"
#include "codec/handles.h"

#include <spng.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace glint::codec {
namespace {

constexpr char kCorruptImage[] = "corrupt_image";
constexpr char kImageTooLarge[] = "image_too_large";

// The DCT scales tried by shrink-on-load, largest first.
constexpr uint32_t kJpegShrinks[] = {8, 4, 2};

Status Corrupt(std::string message) { return UnsupportedMedia(std::move(message), kCorruptImage); }

struct AnimDecoderDelete {
  void operator()(WebPAnimDecoder* dec) const { WebPAnimDecoderDelete(dec); }
};
using AnimDecoder = std::unique_ptr<WebPAnimDecoder, AnimDecoderDelete>;

// An Image of the given size with zeroed pixels. The caller has checked the size against
// the limits, so the product cannot overflow size_t.
Image AllocateImage(uint32_t width, uint32_t height, uint8_t channels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.resize(image.stride() * height);
  return image;
}

// What Decode needs to know about a JPEG's marker structure that turbojpeg does not say.
struct JpegLayout {
  bool adobe = false;     // an Adobe APP14 segment precedes the first scan
  bool complete = false;  // the data reaches an EOI marker
};

// Walks the marker segments (skipped by their length, so an EXIF thumbnail's markers are
// never seen) and the entropy-coded data between them, in which 0xFF is always followed
// by 0x00 stuffing or a RSTn marker. Each step advances, so the walk is linear in the size.
JpegLayout ScanJpegLayout(std::span<const unsigned char> jpeg) {
  JpegLayout layout;
  bool in_scan = false;
  size_t pos = 2;  // after SOI
  while (pos < jpeg.size()) {
    if (jpeg[pos] != 0xFF) {
      ++pos;  // entropy-coded data, or stray bytes that libjpeg only warns about
      continue;
    }
    while (pos < jpeg.size() && jpeg[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= jpeg.size()) break;
    const unsigned char marker = jpeg[pos++];
    if (marker == 0xD9) {
      layout.complete = true;
      break;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (jpeg.size() - pos < 2) break;
    const size_t length = (size_t{jpeg[pos]} << 8) | jpeg[pos + 1];
    if (length < 2 || length > jpeg.size() - pos) break;
    // libjpeg's examine_app14 wants at least 12 bytes of payload starting "Adobe".
    constexpr std::string_view kAdobe("Adobe");
    if (marker == 0xEE && !in_scan && length - 2 >= 12 &&
        std::memcmp(jpeg.data() + pos + 2, kAdobe.data(), kAdobe.size()) == 0) {
      layout.adobe = true;
    }
    if (marker == 0xDA) in_scan = true;
    pos += length;
  }
  return layout;
}

uint8_t Mul255(uint32_t a, uint32_t b) { return static_cast<uint8_t>((a * b + 127) / 255); }

// CMYK (as libjpeg hands it over, 4 bytes a pixel) to RGB without a colour profile: each
// of C, M, Y is taken with K as an ink amount subtracted from white. Inverted (Adobe)
// samples already hold 255 - ink.
void CmykToRgb(std::span<const unsigned char> cmyk, bool inverted, Image& image) {
  uint8_t* out = image.pixels.data();
  for (size_t i = 0; i + 3 < cmyk.size(); i += 4) {
    uint32_t c = cmyk[i], m = cmyk[i + 1], y = cmyk[i + 2], k = cmyk[i + 3];
    if (!inverted) {
      c = 255 - c;
      m = 255 - m;
      y = 255 - y;
      k = 255 - k;
    }
    *out++ = Mul255(c, k);
    *out++ = Mul255(m, k);
    *out++ = Mul255(y, k);
  }
}

Result<Decoded> DecodeJpeg(std::span<const unsigned char> bytes, const ImageHeader& header,
                           const DecodeOptions& options) {
  TjHandle tj(tjInitDecompress());
  if (!tj) return Internal("could not create a JPEG decoder");
  int width = 0, height = 0, subsampling = -1, colorspace = -1;
  // A nonzero return with the outputs filled in is a warning ReadHeader() has already
  // accepted (see image_header.cc); only the colour space is needed here.
  tjDecompressHeader3(tj.get(), bytes.data(), bytes.size(), &width, &height, &subsampling,
                      &colorspace);
  if (width <= 0 || height <= 0 || colorspace < 0) {
    return Corrupt(std::string("malformed JPEG header (") + tjGetErrorStr2(tj.get()) + ")");
  }

  // Fall back to a smaller shrink should this libjpeg-turbo lack a scale (all have 1/2,
  // 1/4 and 1/8 since 1.2).
  int factor_count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&factor_count);
  uint32_t shrink =
      JpegShrinkFor(header.width, header.height, options.target_width, options.target_height);
  tjscalingfactor scale{1, 1};
  for (; shrink > 1; shrink /= 2) {
    const tjscalingfactor* end = factors + std::max(factor_count, 0);
    const tjscalingfactor* found = std::find_if(factors, end, [shrink](const tjscalingfactor& f) {
      return f.num == 1 && f.denom == static_cast<int>(shrink);
    });
    if (found != end) {
      scale = *found;
      break;
    }
  }
  const int out_width = TJSCALED(width, scale);
  const int out_height = TJSCALED(height, scale);

  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  Decoded decoded;
  decoded.header = header;
  decoded.shrink = shrink;
  decoded.image =
      AllocateImage(static_cast<uint32_t>(out_width), static_cast<uint32_t>(out_height), 3);
  std::vector<unsigned char> cmyk_pixels;
  if (cmyk) cmyk_pixels.resize(static_cast<size_t>(out_width) * 4 * out_height);
  unsigned char* out = cmyk ? cmyk_pixels.data() : decoded.image.pixels.data();

  // Default (accurate integer) IDCT and fancy upsampling; TJFLAG_LIMITSCANS refuses
  // progressive files built to burn CPU with thousands of tiny scans.
  const int rc = tjDecompress2(tj.get(), bytes.data(), bytes.size(), out, out_width, 0, out_height,
                               cmyk ? TJPF_CMYK : TJPF_RGB, TJFLAG_LIMITSCANS);
  const bool warned = rc != 0;
  if (warned && tjGetErrorCode(tj.get()) != TJERR_WARNING) {
    // A fatal error stops libjpeg part-way through the output buffer.
    return Corrupt(std::string("the JPEG pixel data is corrupt (") + tjGetErrorStr2(tj.get()) +
                   ")");
  }
  // After a warning libjpeg has still written every row (damaged content is accepted, as
  // in browsers), except that it pads a file which ends early with grey rows: that is a
  // cut-off upload, not a picture to keep. A file decoded without warnings reached its EOI.
  if (warned || cmyk) {
    const JpegLayout layout = ScanJpegLayout(bytes);
    if (warned && !layout.complete) return Corrupt("the JPEG data is truncated");
    if (cmyk) CmykToRgb(cmyk_pixels, layout.adobe, decoded.image);
  }
  return decoded;
}

Result<Decoded> DecodePng(std::span<const unsigned char> bytes, const ImageHeader& header,
                          const DecodeOptions& options) {
  // zlib's Adler-32 of the image data is not checked (as libvips does): chunk CRCs still
  // are, stored bytes carry their own checksum, and a wrong Adler-32 cannot make the
  // inflated data any less bounded.
  SpngCtx ctx(spng_ctx_new(SPNG_CTX_IGNORE_ADLER32));
  if (!ctx) return Internal("could not create a PNG decoder");
  const uint32_t max_side = std::min(options.limits.max_dimension, kSpngMaxDimension);
  if (spng_set_image_limits(ctx.get(), max_side, max_side) != 0 ||
      spng_set_chunk_limits(ctx.get(), kPngMaxChunkBytes, kPngMaxChunkCacheBytes) != 0 ||
      spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()) != 0) {
    return Internal("could not configure the PNG decoder");
  }
  spng_ihdr ihdr{};
  int rc = spng_get_ihdr(ctx.get(), &ihdr);
  if (rc != 0) return Corrupt(std::string("malformed PNG header (") + spng_strerror(rc) + ")");
  spng_trns trns{};
  const bool has_trns = spng_get_trns(ctx.get(), &trns) == 0;
  const bool alpha = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                     ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA || has_trns;
  const int format = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
  const uint8_t channels = alpha ? 4 : 3;

  size_t size = 0;
  rc = spng_decoded_image_size(ctx.get(), format, &size);
  if (rc != 0) return Corrupt(std::string("malformed PNG (") + spng_strerror(rc) + ")");
  Decoded decoded;
  decoded.header = header;
  decoded.image = AllocateImage(ihdr.width, ihdr.height, channels);
  if (size != decoded.image.pixels.size()) {
    return Internal("libspng disagrees about the decoded PNG size");
  }
  rc = spng_decode_image(ctx.get(), decoded.image.pixels.data(), size, format, SPNG_DECODE_TRNS);
  if (rc == SPNG_ECHUNK_LIMITS) {
    return TooLarge("the PNG's metadata chunks exceed the size limit", kImageTooLarge);
  }
  if (rc != 0) {
    return Corrupt(std::string("the PNG pixel data is corrupt (") + spng_strerror(rc) + ")");
  }
  return decoded;
}

// Drops the alpha channel of an RGBA image in which every pixel is opaque.
void DropOpaqueAlpha(Image& image) {
  const std::vector<uint8_t>& px = image.pixels;
  for (size_t i = 3; i < px.size(); i += 4) {
    if (px[i] != 255) return;
  }
  size_t out = 0;
  for (size_t i = 0; i < image.pixels.size(); i += 4) {
    image.pixels[out++] = image.pixels[i];
    image.pixels[out++] = image.pixels[i + 1];
    image.pixels[out++] = image.pixels[i + 2];
  }
  image.pixels.resize(out);
  image.pixels.shrink_to_fit();
  image.channels = 3;
}

Result<Decoded> DecodeAnimatedWebpFirstFrame(std::span<const unsigned char> bytes,
                                             const ImageHeader& header) {
  WebPAnimDecoderOptions anim_options;
  if (!WebPAnimDecoderOptionsInit(&anim_options)) {
    return Internal("libwebpdemux version mismatch");
  }
  anim_options.color_mode = MODE_RGBA;  // straight alpha
  anim_options.use_threads = 0;
  const WebPData data{bytes.data(), bytes.size()};
  AnimDecoder dec(WebPAnimDecoderNew(&data, &anim_options));
  if (!dec) return Corrupt("the animated WebP is corrupt or truncated");
  WebPAnimInfo info{};
  if (!WebPAnimDecoderGetInfo(dec.get(), &info) || info.canvas_width != header.width ||
      info.canvas_height != header.height || info.frame_count < 1) {
    return Corrupt("the animated WebP's canvas disagrees with its header");
  }
  uint8_t* frame = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(dec.get(), &frame, &timestamp) || frame == nullptr) {
    return Corrupt("the first frame of the animated WebP is corrupt");
  }
  Decoded decoded;
  decoded.header = header;
  decoded.image = AllocateImage(header.width, header.height, 4);
  // The frame buffer belongs to the decoder and is canvas-sized RGBA.
  std::memcpy(decoded.image.pixels.data(), frame, decoded.image.pixels.size());
  DropOpaqueAlpha(decoded.image);
  return decoded;
}

Result<Decoded> DecodeWebp(std::span<const unsigned char> bytes, const ImageHeader& header) {
  WebPBitstreamFeatures features{};
  if (WebPGetFeatures(bytes.data(), bytes.size(), &features) != VP8_STATUS_OK) {
    return Corrupt("malformed WebP header");
  }
  if (features.has_animation) return DecodeAnimatedWebpFirstFrame(bytes, header);
  if (features.width < 0 || static_cast<uint32_t>(features.width) != header.width ||
      features.height < 0 || static_cast<uint32_t>(features.height) != header.height) {
    return Corrupt("malformed WebP header");
  }
  const bool alpha = features.has_alpha != 0;
  Decoded decoded;
  decoded.header = header;
  decoded.image = AllocateImage(header.width, header.height, alpha ? 4 : 3);
  Image& image = decoded.image;
  // The stride of a side within the limits fits in an int (65535 * 4).
  const int stride = static_cast<int>(image.stride());
  const uint8_t* ok = alpha ? WebPDecodeRGBAInto(bytes.data(), bytes.size(), image.pixels.data(),
                                                 image.pixels.size(), stride)
                            : WebPDecodeRGBInto(bytes.data(), bytes.size(), image.pixels.data(),
                                                image.pixels.size(), stride);
  if (ok == nullptr) return Corrupt("the WebP pixel data is corrupt or truncated");
  return decoded;
}

}  // namespace

uint32_t JpegShrinkFor(uint32_t width, uint32_t height, uint32_t target_w, uint32_t target_h) {
  if (target_w == 0 && target_h == 0) return 1;
  for (const uint32_t shrink : kJpegShrinks) {
    // libjpeg rounds a scaled side up (TJSCALED).
    const uint64_t scaled_w = (uint64_t{width} + shrink - 1) / shrink;
    const uint64_t scaled_h = (uint64_t{height} + shrink - 1) / shrink;
    if ((target_w == 0 || scaled_w >= 2 * uint64_t{target_w}) &&
        (target_h == 0 || scaled_h >= 2 * uint64_t{target_h})) {
      return shrink;
    }
  }
  return 1;
}

Result<Decoded> Decode(std::span<const char> bytes, const DecodeOptions& options) {
  GLINT_ASSIGN_OR_RETURN(const ImageHeader header, ReadHeader(bytes, options.limits));
  return Decode(bytes, header, options);
}

Result<Decoded> Decode(std::span<const char> bytes, const ImageHeader& header,
                       const DecodeOptions& options) {
  const std::span<const unsigned char> b(reinterpret_cast<const unsigned char*>(bytes.data()),
                                         bytes.size());
  switch (header.format) {
    case Format::kJpeg:
      return DecodeJpeg(b, header, options);
    case Format::kPng:
      return DecodePng(b, header, options);
    case Format::kWebp:
      return DecodeWebp(b, header);
    case Format::kUnknown:
      break;
  }
  return Internal("ReadHeader accepted an unknown format");
}

}  // namespace glint::codec
