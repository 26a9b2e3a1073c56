#include "codec/orient.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace glint::codec {
namespace {

[[maybe_unused]] bool WellFormed(const Image& image) {
  return image.pixels.size() == static_cast<size_t>(image.height) * image.stride();
}

// Writes into `dst` (width and height swapped) output pixel (x, y) from source pixel
// (y, x), reading the source x axis right to left when `flip_src_x` and the source y axis
// bottom to top when `flip_src_y`: neither is a transpose, both the transverse, one of them
// a quarter turn.
template <int kChannels>
void TransposeInto(const Image& src, Image& dst, bool flip_src_x, bool flip_src_y) {
  const uint32_t sw = src.width, sh = src.height;
  const ptrdiff_t src_stride = static_cast<ptrdiff_t>(src.stride());
  // Walking along an output row steps through source rows; down the output, through columns.
  const ptrdiff_t step_along_row = flip_src_y ? -src_stride : src_stride;
  const ptrdiff_t step_down = flip_src_x ? -kChannels : kChannels;
  const uint8_t* first = src.pixels.data() +
                         (flip_src_y ? static_cast<ptrdiff_t>(sh - 1) * src_stride : 0) +
                         (flip_src_x ? static_cast<ptrdiff_t>(sw - 1) * kChannels : 0);
  for (uint32_t y = 0; y < dst.height; ++y) {
    const uint8_t* s = first + static_cast<ptrdiff_t>(y) * step_down;
    uint8_t* d = dst.row(y);
    for (uint32_t x = 0; x < dst.width; ++x, s += step_along_row, d += kChannels) {
      std::memcpy(d, s, kChannels);
    }
  }
}

Image Transposed(const Image& src, bool flip_src_x, bool flip_src_y) {
  Image dst;
  dst.width = src.height;
  dst.height = src.width;
  dst.channels = src.channels;
  dst.premultiplied = src.premultiplied;
  dst.pixels.resize(src.pixels.size());
  if (src.pixels.empty()) return dst;
  if (src.channels == 4) {
    TransposeInto<4>(src, dst, flip_src_x, flip_src_y);
  } else {
    TransposeInto<3>(src, dst, flip_src_x, flip_src_y);
  }
  return dst;
}

template <int kChannels>
void ReversePixels(uint8_t* begin, size_t count) {
  if (count < 2) return;
  uint8_t* lo = begin;
  uint8_t* hi = begin + (count - 1) * kChannels;
  uint8_t tmp[kChannels];
  for (; lo < hi; lo += kChannels, hi -= kChannels) {
    std::memcpy(tmp, lo, kChannels);
    std::memcpy(lo, hi, kChannels);
    std::memcpy(hi, tmp, kChannels);
  }
}

// Reverses the order of `count` pixels starting at `begin`, in place.
void ReversePixels(uint8_t* begin, size_t count, uint8_t channels) {
  if (channels == 4) {
    ReversePixels<4>(begin, count);
  } else {
    ReversePixels<3>(begin, count);
  }
}

Image Rotate180(Image image) {
  assert(WellFormed(image));
  ReversePixels(image.pixels.data(), static_cast<size_t>(image.width) * image.height,
                image.channels);
  return image;
}

}  // namespace

Image FlipHorizontal(Image image) {
  assert(WellFormed(image));
  for (uint32_t y = 0; y < image.height; ++y) {
    ReversePixels(image.row(y), image.width, image.channels);
  }
  return image;
}

Image FlipVertical(Image image) {
  assert(WellFormed(image));
  const size_t stride = image.stride();
  for (uint32_t top = 0, bottom = image.height; top + 1 < bottom; ++top) {
    --bottom;
    std::swap_ranges(image.row(top), image.row(top) + stride, image.row(bottom));
  }
  return image;
}

Image Rotate(Image image, int degrees_cw) {
  switch (degrees_cw) {
    case 0:
      return image;
    case 90:
      return ApplyOrientation(std::move(image), 6);
    case 180:
      return ApplyOrientation(std::move(image), 3);
    case 270:
      return ApplyOrientation(std::move(image), 8);
    default:
      assert(false && "Rotate: degrees_cw must be 0, 90, 180 or 270");
      return image;
  }
}

Image ApplyOrientation(Image image, uint8_t orientation) {
  assert(WellFormed(image));
  // For 5..8, output (x, y) reads source (x', y') as in the EXIF definitions, with the
  // source W x H:
  //   5 transpose:  (y, x)            6 rotate 90 CW:  (y, H-1-x)
  //   7 transverse: (W-1-y, H-1-x)    8 rotate 90 CCW: (W-1-y, x)
  switch (orientation) {
    case 2:
      return FlipHorizontal(std::move(image));
    case 3:
      return Rotate180(std::move(image));
    case 4:
      return FlipVertical(std::move(image));
    case 5:
      return Transposed(image, /*flip_src_x=*/false, /*flip_src_y=*/false);
    case 6:
      return Transposed(image, /*flip_src_x=*/false, /*flip_src_y=*/true);
    case 7:
      return Transposed(image, /*flip_src_x=*/true, /*flip_src_y=*/true);
    case 8:
      return Transposed(image, /*flip_src_x=*/true, /*flip_src_y=*/false);
    default:
      return image;
  }
}

}  // namespace glint::codec
