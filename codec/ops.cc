#include "codec/ops.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <vector>

namespace glint::codec {
namespace {

Image Blank(uint32_t width, uint32_t height, uint8_t channels) {
  Image out;
  out.width = width;
  out.height = height;
  out.channels = channels;
  out.pixels.assign(static_cast<size_t>(width) * height * channels, 0);
  return out;
}

uint8_t Clamp8(float v) { return static_cast<uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f)); }

// Normalised 1-D Gaussian of radius ceil(3 sigma).
std::vector<float> GaussianKernel(double sigma) {
  int radius = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
  std::vector<float> k(2 * radius + 1);
  double sum = 0;
  for (int i = -radius; i <= radius; ++i)
    sum += k[i + radius] = static_cast<float>(std::exp(-(i * i) / (2 * sigma * sigma)));
  for (float& v : k) v = static_cast<float>(v / sum);
  return k;
}

// Convolves float planes (interleaved, `channels` per pixel) along x then y, clamping edges.
std::vector<float> Convolve(const std::vector<float>& in, uint32_t w, uint32_t h, int channels,
                            const std::vector<float>& k) {
  int radius = static_cast<int>(k.size() / 2);
  std::vector<float> tmp(in.size()), out(in.size());
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) {
        float acc = 0;
        for (int i = -radius; i <= radius; ++i) {
          int sx = std::clamp(static_cast<int>(x) + i, 0, static_cast<int>(w) - 1);
          acc += k[i + radius] * in[(static_cast<size_t>(y) * w + sx) * channels + c];
        }
        tmp[(static_cast<size_t>(y) * w + x) * channels + c] = acc;
      }
    }
  }
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) {
        float acc = 0;
        for (int i = -radius; i <= radius; ++i) {
          int sy = std::clamp(static_cast<int>(y) + i, 0, static_cast<int>(h) - 1);
          acc += k[i + radius] * tmp[(static_cast<size_t>(sy) * w + x) * channels + c];
        }
        out[(static_cast<size_t>(y) * w + x) * channels + c] = acc;
      }
    }
  }
  return out;
}

}  // namespace

Image Extract(const Image& image, const Rect& rect) {
  assert(rect.x + rect.width <= image.width && rect.y + rect.height <= image.height);
  Image out = Blank(rect.width, rect.height, image.channels);
  out.premultiplied = image.premultiplied;
  for (uint32_t y = 0; y < rect.height; ++y)
    std::memcpy(out.row(y), image.row(rect.y + y) + static_cast<size_t>(rect.x) * image.channels,
                out.stride());
  return out;
}

Image Grayscale(const Image& image) {
  Image out = image;
  for (size_t i = 0; i + 2 < out.pixels.size(); i += out.channels) {
    uint8_t* p = &out.pixels[i];
    uint8_t yv = static_cast<uint8_t>((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
    p[0] = p[1] = p[2] = yv;
  }
  return out;
}

Image GaussianBlur(const Image& image, double sigma) {
  const int ch = image.channels;
  std::vector<float> in(image.pixels.size());
  for (size_t i = 0; i < in.size(); i += ch) {
    float a = ch == 4 ? image.pixels[i + 3] / 255.0f : 1.0f;
    for (int c = 0; c < 3; ++c) in[i + c] = image.pixels[i + c] * a;
    if (ch == 4) in[i + 3] = image.pixels[i + 3];
  }
  std::vector<float> blurred = Convolve(in, image.width, image.height, ch, GaussianKernel(sigma));
  Image out = image;
  for (size_t i = 0; i < blurred.size(); i += ch) {
    float a = ch == 4 ? blurred[i + 3] / 255.0f : 1.0f;
    for (int c = 0; c < 3; ++c) out.pixels[i + c] = a > 0 ? Clamp8(blurred[i + c] / a) : 0;
    if (ch == 4) out.pixels[i + 3] = Clamp8(blurred[i + 3]);
  }
  return out;
}

Image Sharpen(const Image& image, double sigma) {
  Image soft = GaussianBlur(image, sigma);
  Image out = image;
  for (size_t i = 0; i < out.pixels.size(); i += out.channels) {
    for (int c = 0; c < 3; ++c) {
      float v = image.pixels[i + c];
      out.pixels[i + c] = Clamp8(v + (v - soft.pixels[i + c]));
    }
  }
  return out;
}

Image Flatten(const Image& image, uint32_t rgb) {
  if (image.channels != 4) return image;
  const uint32_t bg[3] = {(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255};
  Image out = Blank(image.width, image.height, 3);
  const size_t n = static_cast<size_t>(image.width) * image.height;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* s = &image.pixels[i * 4];
    uint32_t a = s[3];
    for (int c = 0; c < 3; ++c)
      out.pixels[i * 3 + c] = static_cast<uint8_t>((s[c] * a + bg[c] * (255 - a) + 127) / 255);
  }
  return out;
}

Image Embed(const Image& image, uint32_t width, uint32_t height, uint32_t x, uint32_t y,
            std::optional<uint32_t> rgb) {
  assert(x + image.width <= width && y + image.height <= height);
  const uint8_t ch = rgb ? image.channels : 4;
  Image out = Blank(width, height, ch);
  if (rgb) {
    for (size_t i = 0; i < out.pixels.size(); i += ch) {
      out.pixels[i] = (*rgb >> 16) & 255;
      out.pixels[i + 1] = (*rgb >> 8) & 255;
      out.pixels[i + 2] = *rgb & 255;
      if (ch == 4) out.pixels[i + 3] = 255;
    }
  }
  for (uint32_t row = 0; row < image.height; ++row) {
    uint8_t* dst = out.row(y + row) + static_cast<size_t>(x) * ch;
    const uint8_t* src = image.row(row);
    if (ch == image.channels) {
      std::memcpy(dst, src, image.stride());
    } else {  // RGB onto a transparent canvas: opaque pixels
      for (uint32_t i = 0; i < image.width; ++i) {
        std::memcpy(dst + i * 4, src + i * 3, 3);
        dst[i * 4 + 3] = 255;
      }
    }
  }
  return out;
}

}  // namespace glint::codec
