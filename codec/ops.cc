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

// Above this sigma the blur is three box blurs (cost independent of sigma); at or below,
// an exact Gaussian kernel of radius ceil(3 sigma) <= 6 is cheaper.
constexpr double kExactGaussianMaxSigma = 2.0;

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

// Interleaved float planes: `w` x `h` pixels of `channels` samples, rows packed.
struct Planes {
  std::vector<float> v;
  uint32_t w, h;
  int channels;
  size_t stride() const { return static_cast<size_t>(w) * channels; }
  float* row(uint32_t y) { return v.data() + y * stride(); }
};

// Row `src` of `w` pixels copied with `r` clamped pixels on each side.
void PadRow(const float* src, uint32_t w, int channels, int r, std::vector<float>& out) {
  out.resize((static_cast<size_t>(w) + 2 * r) * channels);
  for (int i = 0; i < r; ++i) {
    std::memcpy(&out[static_cast<size_t>(i) * channels], src, channels * sizeof(float));
    std::memcpy(&out[(static_cast<size_t>(w) + r + i) * channels],
                src + (static_cast<size_t>(w) - 1) * channels, channels * sizeof(float));
  }
  std::memcpy(&out[static_cast<size_t>(r) * channels], src, w * channels * sizeof(float));
}

uint32_t ClampRow(int64_t y, uint32_t h) {
  return static_cast<uint32_t>(std::clamp<int64_t>(y, 0, h - 1));
}

// Exact separable convolution with `k`, edges clamped.
void Convolve(Planes& p, const std::vector<float>& k) {
  const int r = static_cast<int>(k.size() / 2), ch = p.channels;
  const size_t stride = p.stride();
  std::vector<float> padded;
  for (uint32_t y = 0; y < p.h; ++y) {
    float* row = p.row(y);
    PadRow(row, p.w, ch, r, padded);
    std::fill(row, row + stride, 0.0f);
    for (size_t i = 0; i < k.size(); ++i) {
      const float* src = &padded[i * ch];
      for (size_t x = 0; x < stride; ++x) row[x] += k[i] * src[x];
    }
  }
  std::vector<float> out(p.v.size(), 0.0f);
  for (uint32_t y = 0; y < p.h; ++y) {
    float* dst = &out[y * stride];
    for (int i = -r; i <= r; ++i) {
      const float* src = p.row(ClampRow(static_cast<int64_t>(y) + i, p.h));
      const float kv = k[i + r];
      for (size_t x = 0; x < stride; ++x) dst[x] += kv * src[x];
    }
  }
  p.v = std::move(out);
}

// A box blur of radius `r` (width 2r + 1) along x then y with running sums, edges clamped:
// O(1) per sample whatever `r`.
void BoxBlur(Planes& p, int r) {
  const int ch = p.channels;
  const size_t stride = p.stride();
  const float inv = 1.0f / static_cast<float>(2 * r + 1);
  std::vector<float> padded;
  std::vector<double> acc(stride);
  for (uint32_t y = 0; y < p.h; ++y) {
    float* row = p.row(y);
    PadRow(row, p.w, ch, r + 1, padded);
    // padded pixel j is source pixel j - (r + 1); the window of x is [x - r, x + r].
    for (int c = 0; c < ch; ++c) {
      double sum = 0;
      for (int j = 1; j <= 2 * r + 1; ++j) sum += padded[static_cast<size_t>(j) * ch + c];
      for (uint32_t x = 0; x < p.w; ++x) {
        row[static_cast<size_t>(x) * ch + c] = static_cast<float>(sum) * inv;
        sum += padded[(static_cast<size_t>(x) + 2 * r + 2) * ch + c] -
               padded[(static_cast<size_t>(x) + 1) * ch + c];
      }
    }
  }
  std::vector<float> out(p.v.size());
  std::fill(acc.begin(), acc.end(), 0.0);
  for (int i = -r; i <= r; ++i) {
    const float* src = p.row(ClampRow(i, p.h));
    for (size_t x = 0; x < stride; ++x) acc[x] += src[x];
  }
  for (uint32_t y = 0; y < p.h; ++y) {
    float* dst = &out[y * stride];
    const float* add = p.row(ClampRow(static_cast<int64_t>(y) + r + 1, p.h));
    const float* sub = p.row(ClampRow(static_cast<int64_t>(y) - r, p.h));
    for (size_t x = 0; x < stride; ++x) {
      dst[x] = static_cast<float>(acc[x]) * inv;
      acc[x] += add[x] - sub[x];
    }
  }
  p.v = std::move(out);
}

// Blurs in place: an exact Gaussian for small sigma; above, three box blurs whose widths
// give the same variance (Kovesi, "Fast almost-Gaussian filtering", 2010), the usual
// approximation (within a few percent of the Gaussian), so the cost does not grow with sigma.
void Blur(Planes& p, double sigma) {
  if (sigma <= kExactGaussianMaxSigma) return Convolve(p, GaussianKernel(sigma));
  constexpr int n = 3;
  const double ideal = std::sqrt(12 * sigma * sigma / n + 1);
  int lower = static_cast<int>(std::floor(ideal));
  if (lower % 2 == 0) --lower;
  const int m = static_cast<int>(std::lround(
      (12 * sigma * sigma - n * lower * lower - 4.0 * n * lower - 3.0 * n) / (-4.0 * lower - 4)));
  for (int i = 0; i < n; ++i) BoxBlur(p, ((i < m ? lower : lower + 2) - 1) / 2);
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
  Planes planes{std::move(in), image.width, image.height, ch};
  Blur(planes, sigma);
  const std::vector<float>& blurred = planes.v;
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
  const uint8_t* src = image.pixels.data();
  uint8_t* dst = out.pixels.data();
  for (size_t i = 0; i < n; ++i, src += 4, dst += 3) {
    const uint32_t a = src[3];
    for (int c = 0; c < 3; ++c) {
      // round(v / 255) as (t + (t >> 8)) >> 8 with t = v + 128: exact for v <= 65535.
      const uint32_t t = src[c] * a + bg[c] * (255 - a) + 128;
      dst[c] = static_cast<uint8_t>((t + (t >> 8)) >> 8);
    }
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
