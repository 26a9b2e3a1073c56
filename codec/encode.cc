#include "codec/encode.h"
#include "codec/handles.h"

#include <spng.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <webp/types.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace glint::codec {
namespace {

// libjpeg's own ceiling; tjCompress2 also takes the row pitch as an int, which this keeps
// in range (65535 * 3 < INT_MAX).
constexpr uint32_t kMaxJpegDimension = 65535;
constexpr uint32_t kMaxPngDimension = 0x7FFFFFFF;  // PNG's 2^31 - 1
// Below this JPEG quality chroma is subsampled 4:2:0; from it up, 4:4:4, because at high
// quality the colour smearing of 4:2:0 on edges is what people notice first.
constexpr int kJpegFullChromaQuality = 90;

Status Validate(const Image& image, const EncodeOptions& options) {
  if (image.premultiplied) {
    return InvalidArgument("encoder needs straight (not premultiplied) alpha");
  }
  if (image.channels != 3 && image.channels != 4) {
    return InvalidArgument("encoder needs 3 or 4 channels, got " + std::to_string(image.channels));
  }
  if (image.width == 0 || image.height == 0) {
    return InvalidArgument("cannot encode an empty image");
  }
  if (image.pixels.size() / image.stride() != image.height ||
      image.pixels.size() % image.stride() != 0) {
    return InvalidArgument("pixel buffer does not match width * height * channels");
  }
  if (options.quality < 1 || options.quality > 100) {
    return InvalidArgument("quality must be 1..100, got " + std::to_string(options.quality));
  }
  uint32_t max_dimension = 0;
  switch (options.format) {
    case Format::kJpeg:
      max_dimension = kMaxJpegDimension;
      break;
    case Format::kPng:
      max_dimension = kMaxPngDimension;
      break;
    case Format::kWebp:
      max_dimension = WEBP_MAX_DIMENSION;
      break;
    case Format::kUnknown:
      return InvalidArgument("no output format given");
  }
  if (image.width > max_dimension || image.height > max_dimension) {
    return InvalidArgument(std::to_string(image.width) + "x" + std::to_string(image.height) +
                           " is too large for " + std::string(FormatName(options.format)));
  }
  return Status::Ok();
}

// RGBA -> RGB composited over `background` (0xRRGGBB).
std::vector<uint8_t> FlattenAlpha(const Image& image, uint32_t background) {
  const unsigned bg[3] = {(background >> 16) & 0xFFu, (background >> 8) & 0xFFu,
                          background & 0xFFu};
  const size_t count = static_cast<size_t>(image.width) * image.height;
  std::vector<uint8_t> rgb(count * 3);
  const uint8_t* src = image.pixels.data();
  uint8_t* dst = rgb.data();
  for (size_t i = 0; i < count; ++i, src += 4, dst += 3) {
    const unsigned a = src[3];
    for (int c = 0; c < 3; ++c) {
      dst[c] = static_cast<uint8_t>((src[c] * a + bg[c] * (255 - a) + 127) / 255);
    }
  }
  return rgb;
}

Result<std::string> EncodeJpeg(const Image& image, const EncodeOptions& options) {
  std::vector<uint8_t> flattened;
  const uint8_t* rgb = image.pixels.data();
  if (image.has_alpha()) {
    flattened = FlattenAlpha(image, options.background);
    rgb = flattened.data();
  }
  TjHandle tj(tjInitCompress());
  if (!tj) return Internal("tjInitCompress failed");
  const int subsampling = options.quality < kJpegFullChromaQuality ? TJSAMP_420 : TJSAMP_444;
  const int flags = options.progressive ? TJFLAG_PROGRESSIVE : 0;
  unsigned char* raw = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(tj.get(), rgb, static_cast<int>(image.width),
                             static_cast<int>(image.width) * 3, static_cast<int>(image.height),
                             TJPF_RGB, &raw, &size, subsampling, options.quality, flags);
  TjBuffer jpeg(raw);
  if (rc != 0 || !jpeg) {
    return Internal(std::string("JPEG encoding failed: ") + tjGetErrorStr2(tj.get()));
  }
  return std::string(reinterpret_cast<const char*>(jpeg.get()), size);
}

Result<std::string> EncodePng(const Image& image) {
  SpngCtx ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  if (!ctx) return Internal("spng_ctx_new failed");
  spng_ihdr ihdr{};
  ihdr.width = image.width;
  ihdr.height = image.height;
  ihdr.bit_depth = 8;
  ihdr.color_type = image.has_alpha() ? SPNG_COLOR_TYPE_TRUECOLOR_ALPHA : SPNG_COLOR_TYPE_TRUECOLOR;
  int rc = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (rc == 0) rc = spng_set_ihdr(ctx.get(), &ihdr);
  if (rc == 0) {
    rc = spng_encode_image(ctx.get(), image.pixels.data(), image.pixels.size(), SPNG_FMT_PNG,
                           SPNG_ENCODE_FINALIZE);
  }
  if (rc != 0) return Internal(std::string("PNG encoding failed: ") + spng_strerror(rc));
  size_t size = 0;
  MallocBuffer png(spng_get_png_buffer(ctx.get(), &size, &rc));
  if (!png || rc != 0) {
    return Internal(std::string("PNG encoding failed: ") + spng_strerror(rc));
  }
  return std::string(static_cast<const char*>(png.get()), size);
}

Result<std::string> EncodeWebp(const Image& image, const EncodeOptions& options) {
  const int width = static_cast<int>(image.width);
  const int height = static_cast<int>(image.height);
  const int stride = static_cast<int>(image.stride());
  const float quality = static_cast<float>(options.quality);
  const uint8_t* pixels = image.pixels.data();
  uint8_t* raw = nullptr;
  size_t size = 0;
  if (options.lossless) {
    size = image.has_alpha() ? WebPEncodeLosslessRGBA(pixels, width, height, stride, &raw)
                             : WebPEncodeLosslessRGB(pixels, width, height, stride, &raw);
  } else {
    size = image.has_alpha() ? WebPEncodeRGBA(pixels, width, height, stride, quality, &raw)
                             : WebPEncodeRGB(pixels, width, height, stride, quality, &raw);
  }
  WebpBuffer webp(raw);
  if (size == 0 || !webp) return Internal("WebP encoding failed");
  return std::string(reinterpret_cast<const char*>(webp.get()), size);
}

}  // namespace

Result<std::string> Encode(const Image& image, const EncodeOptions& options) {
  GLINT_RETURN_IF_ERROR(Validate(image, options));
  switch (options.format) {
    case Format::kJpeg:
      return EncodeJpeg(image, options);
    case Format::kPng:
      return EncodePng(image);
    case Format::kWebp:
      return EncodeWebp(image, options);
    case Format::kUnknown:
      break;
  }
  return InvalidArgument("no output format given");
}

}  // namespace glint::codec
