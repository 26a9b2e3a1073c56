// Decoded pixels, the currency between decode, orientation, resize and encode.
//
// Interleaved 8-bit samples, rows packed (stride = width * channels): 3 channels (RGB) or
// 4 (RGBA). `premultiplied` says whether RGB has been multiplied by alpha (the resizer works
// premultiplied so that transparent pixels do not bleed their colour into edges).
// A value type; not shared between threads while being written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace glint::codec {

struct Image {
  uint32_t width = 0;
  uint32_t height = 0;
  uint8_t channels = 3;  // 3 = RGB, 4 = RGBA
  bool premultiplied = false;
  std::vector<uint8_t> pixels;  // height rows of width * channels bytes

  size_t stride() const { return static_cast<size_t>(width) * channels; }
  uint8_t* row(uint32_t y) { return pixels.data() + y * stride(); }
  const uint8_t* row(uint32_t y) const { return pixels.data() + y * stride(); }
  bool has_alpha() const { return channels == 4; }
};

}  // namespace glint::codec
