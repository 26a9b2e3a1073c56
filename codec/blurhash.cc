#include "codec/blurhash.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "codec/ops.h"
#include "codec/resize.h"

namespace glint::codec {
namespace {

constexpr std::string_view kBase83 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
constexpr uint32_t kSmallSide = 32;

void AppendBase83(int value, int digits, std::string* out) {
  int divisor = 1;
  for (int i = 1; i < digits; ++i) divisor *= 83;
  for (int i = 0; i < digits; ++i, divisor /= 83) out->push_back(kBase83[(value / divisor) % 83]);
}

double SrgbToLinear(uint8_t value) {
  const double v = value / 255.0;
  return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
}

int LinearToSrgb(double value) {
  const double v = std::clamp(value, 0.0, 1.0);
  return v <= 0.0031308 ? static_cast<int>(v * 12.92 * 255 + 0.5)
                        : static_cast<int>((1.055 * std::pow(v, 1 / 2.4) - 0.055) * 255 + 0.5);
}

double SignPow(double value, double exponent) {
  return std::copysign(std::pow(std::abs(value), exponent), value);
}

}  // namespace

Result<std::string> EncodeBlurHash(const Image& image, int x_components, int y_components) {
  if (image.width == 0 || image.height == 0) return InvalidArgument("empty image");
  if (x_components < 1 || x_components > 9 || y_components < 1 || y_components > 9)
    return InvalidArgument("BlurHash components must be 1..9");
  const Image rgb = image.has_alpha() ? Flatten(image, 0xFFFFFF) : image;
  const uint32_t w = rgb.width, h = rgb.height;

  std::array<double, 256> linear;
  for (int i = 0; i < 256; ++i) linear[i] = SrgbToLinear(static_cast<uint8_t>(i));
  // Basis values per column and per row, computed once.
  std::vector<double> cos_x(static_cast<size_t>(x_components) * w);
  std::vector<double> cos_y(static_cast<size_t>(y_components) * h);
  for (int i = 0; i < x_components; ++i)
    for (uint32_t x = 0; x < w; ++x) cos_x[i * w + x] = std::cos(std::numbers::pi * i * x / w);
  for (int j = 0; j < y_components; ++j)
    for (uint32_t y = 0; y < h; ++y) cos_y[j * h + y] = std::cos(std::numbers::pi * j * y / h);

  std::vector<std::array<double, 3>> factors;
  for (int j = 0; j < y_components; ++j) {
    for (int i = 0; i < x_components; ++i) {
      std::array<double, 3> f{0, 0, 0};
      for (uint32_t y = 0; y < h; ++y) {
        const uint8_t* p = rgb.row(y);
        for (uint32_t x = 0; x < w; ++x, p += 3) {
          const double basis = cos_x[i * w + x] * cos_y[j * h + y];
          f[0] += basis * linear[p[0]];
          f[1] += basis * linear[p[1]];
          f[2] += basis * linear[p[2]];
        }
      }
      const double scale = (i == 0 && j == 0 ? 1.0 : 2.0) / (static_cast<double>(w) * h);
      for (double& c : f) c *= scale;
      factors.push_back(f);
    }
  }

  std::string hash;
  AppendBase83((x_components - 1) + (y_components - 1) * 9, 1, &hash);
  double maximum = 1;
  if (factors.size() > 1) {
    double actual = 0;
    for (size_t k = 1; k < factors.size(); ++k)
      for (double c : factors[k]) actual = std::max(actual, std::abs(c));
    const int quantised = std::clamp(static_cast<int>(std::floor(actual * 166 - 0.5)), 0, 82);
    maximum = (quantised + 1) / 166.0;
    AppendBase83(quantised, 1, &hash);
  } else {
    AppendBase83(0, 1, &hash);
  }
  const auto& dc = factors[0];
  AppendBase83((LinearToSrgb(dc[0]) << 16) + (LinearToSrgb(dc[1]) << 8) + LinearToSrgb(dc[2]), 4,
               &hash);
  for (size_t k = 1; k < factors.size(); ++k) {
    int value = 0;
    for (double c : factors[k]) {
      const int q =
          std::clamp(static_cast<int>(std::floor(SignPow(c / maximum, 0.5) * 9 + 9.5)), 0, 18);
      value = value * 19 + q;
    }
    AppendBase83(value, 2, &hash);
  }
  return hash;
}

Result<std::string> BlurHashOf(const Image& image) {
  if (image.width == 0 || image.height == 0) return InvalidArgument("empty image");
  const bool wide = image.width >= image.height;
  const int x_components = wide ? 4 : 3, y_components = wide ? 3 : 4;
  if (image.width <= kSmallSide && image.height <= kSmallSide)
    return EncodeBlurHash(image, x_components, y_components);
  const double scale = static_cast<double>(kSmallSide) / std::max(image.width, image.height);
  const auto w = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(image.width * scale)));
  const auto h = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(image.height * scale)));
  GLINT_ASSIGN_OR_RETURN(Image small, Resize(image, w, h));
  return EncodeBlurHash(small, x_components, y_components);
}

}  // namespace glint::codec
