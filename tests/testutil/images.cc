#include "tests/testutil/images.h"
#include "codec/handles.h"

#include <spng.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <webp/types.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace glint::testutil {
namespace {

using codec::MallocBuffer;
using codec::SpngCtx;
using codec::TjBuffer;
using codec::TjHandle;
using codec::WebpBuffer;

void CheckSize(int width, int height) {
  // 65500 is JPEG's ceiling; the others accept more but no test needs it.
  if (width < 1 || height < 1 || width > 65500 || height > 65500) {
    throw std::invalid_argument("testutil image size out of range: " + std::to_string(width) + "x" +
                                std::to_string(height));
  }
}

// Integer arithmetic only, so the pixels are identical on every platform and build mode.
std::vector<unsigned char> SmoothPixels(int width, int height, int channels) {
  struct Disc {
    int cx_per_mille, cy_per_mille, r_per_mille;
    int r, g, b;
  };
  static constexpr Disc kDiscs[] = {
      {300, 350, 220, 230, 180, 60},
      {700, 600, 180, 40, 90, 200},
      {550, 200, 120, 250, 250, 240},
  };
  const int64_t w = width, h = height;
  const int64_t span_x = std::max<int64_t>(1, w - 1);
  const int64_t span_y = std::max<int64_t>(1, h - 1);
  const int64_t min_side = std::min(w, h);
  std::vector<unsigned char> out(static_cast<size_t>(w * h * channels));
  size_t i = 0;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      int64_t rgb[3] = {
          40 + x * 160 / span_x,
          30 + y * 170 / span_y,
          200 - (x + y) * 150 / (span_x + span_y),
      };
      for (const Disc& d : kDiscs) {
        const int64_t dx = x - w * d.cx_per_mille / 1000;
        const int64_t dy = y - h * d.cy_per_mille / 1000;
        const int64_t radius = std::max<int64_t>(1, min_side * d.r_per_mille / 1000);
        const int64_t d2 = dx * dx + dy * dy, r2 = radius * radius;
        if (d2 >= r2) continue;
        // Weight 0..256 falling off quadratically: a soft edge, no hard contour.
        const int64_t weight = 256 - d2 * 256 / r2;
        const int64_t disc[3] = {d.r, d.g, d.b};
        for (int c = 0; c < 3; ++c) rgb[c] = (rgb[c] * (256 - weight) + disc[c] * weight) / 256;
      }
      for (int c = 0; c < 3; ++c) out[i++] = static_cast<unsigned char>(rgb[c]);
      if (channels == 4) {
        const int64_t ex = std::abs(2 * x - span_x) * 256 / span_x;  // 0 centre .. 256 edge
        const int64_t ey = std::abs(2 * y - span_y) * 256 / span_y;
        out[i++] = static_cast<unsigned char>(255 - std::max(ex, ey) * 191 / 256);
      }
    }
  }
  return out;
}

}  // namespace

std::string MakeJpeg(int width, int height, int quality) {
  CheckSize(width, height);
  if (quality < 1 || quality > 100) throw std::invalid_argument("JPEG quality out of range");
  const std::vector<unsigned char> rgb = SmoothPixels(width, height, 3);
  TjHandle tj(tjInitCompress());
  if (!tj) throw std::runtime_error("tjInitCompress failed");
  unsigned char* raw = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(tj.get(), rgb.data(), width, 0, height, TJPF_RGB, &raw, &size,
                             TJSAMP_420, quality, 0);
  TjBuffer jpeg(raw);
  if (rc != 0) throw std::runtime_error(std::string("tjCompress2: ") + tjGetErrorStr2(tj.get()));
  return std::string(reinterpret_cast<const char*>(jpeg.get()), size);
}

std::string MakeJpegWithOrientation(int width, int height, int orientation) {
  if (orientation < 1 || orientation > 8) {
    throw std::invalid_argument("EXIF orientation must be 1..8");
  }
  std::string jpeg = MakeJpeg(width, height);
  // APP1 length 34 = 2 (length) + 6 ("Exif\0\0") + 8 (TIFF header) + 2 (entry count)
  // + 12 (one IFD entry) + 4 (next-IFD offset).
  static constexpr unsigned char kExifHead[] = {
      0xFF, 0xE1, 0x00, 34,                // APP1, length
      'E',  'x',  'i',  'f',  0, 0,        // identifier
      'M',  'M',  0x00, 42,   0, 0, 0, 8,  // big-endian TIFF, IFD0 at offset 8
      0x00, 0x01,                          // one entry
      0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1,  // Orientation, SHORT, count 1
  };
  std::string segment(reinterpret_cast<const char*>(kExifHead), sizeof(kExifHead));
  segment += {0x00, static_cast<char>(orientation), 0x00, 0x00};  // value, padded
  segment += std::string(4, '\0');                                // no next IFD
  jpeg.insert(2, segment);
  return jpeg;
}

std::string MakePng(int width, int height, bool alpha) {
  CheckSize(width, height);
  const std::vector<unsigned char> pixels = SmoothPixels(width, height, alpha ? 4 : 3);
  SpngCtx ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  if (!ctx) throw std::runtime_error("spng_ctx_new failed");
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(width);
  ihdr.height = static_cast<uint32_t>(height);
  ihdr.bit_depth = 8;
  ihdr.color_type = alpha ? SPNG_COLOR_TYPE_TRUECOLOR_ALPHA : SPNG_COLOR_TYPE_TRUECOLOR;
  int rc = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (rc == 0) rc = spng_set_ihdr(ctx.get(), &ihdr);
  if (rc == 0) {
    rc = spng_encode_image(ctx.get(), pixels.data(), pixels.size(), SPNG_FMT_PNG,
                           SPNG_ENCODE_FINALIZE);
  }
  if (rc != 0) throw std::runtime_error(std::string("spng encode: ") + spng_strerror(rc));
  size_t size = 0;
  MallocBuffer png(spng_get_png_buffer(ctx.get(), &size, &rc));
  if (!png || rc != 0) {
    throw std::runtime_error(std::string("spng_get_png_buffer: ") + spng_strerror(rc));
  }
  return std::string(static_cast<const char*>(png.get()), size);
}

std::string MakeWebp(int width, int height, bool lossless) {
  CheckSize(width, height);
  const std::vector<unsigned char> rgb = SmoothPixels(width, height, 3);
  uint8_t* raw = nullptr;
  const size_t size = lossless ? WebPEncodeLosslessRGB(rgb.data(), width, height, width * 3, &raw)
                               : WebPEncodeRGB(rgb.data(), width, height, width * 3, 80.0f, &raw);
  WebpBuffer webp(raw);
  if (size == 0 || !webp) throw std::runtime_error("WebP encoding failed");
  return std::string(reinterpret_cast<const char*>(webp.get()), size);
}

}  // namespace glint::testutil
