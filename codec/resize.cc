#include "codec/resize.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <list>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "codec/resize_simd.h"

// How a resize runs (a same-size request returns the source untouched):
//
//  1. Premultiply (4 channels, straight input): c' = round(c * a / 255), in 8 bits; done
//     row by row inside the box shrink when there is one, to avoid a full-size copy.
//  2. Box shrink by an integer factor per axis, libvips' rule: s = round(ratio / 2), so the
//     filter is left a residual of about 2x (at most ~3x). Each shrunk pixel is the rounded
//     mean of its s_x * s_y block; the last row/column of blocks may be partial (ceil).
//  3. Reduce one axis at a time, the axis with the larger ratio first. Each output sample is
//     a weighted sum over a contiguous run of `taps` input samples. Weights are int16 fixed
//     point with 14 fractional bits, normalised so that every output's weights sum to exactly
//     1 << 14 (the rounding residue goes to the largest weight): a flat input stays exactly
//     flat. Accumulation is int32, rounding is (acc + (1 << 13)) >> 14 then clamped to 0..255,
//     and the intermediate between the two passes is 8-bit, as in libvips' uchar reduce.
//     Taps outside the image are folded into the edge sample (edge extension).
//  4. Un-premultiply: c = min(255, round(c' * round(255 * 2^16 / a) / 2^16)), 0 where a = 0.
//
// The two paths differ only in kernels. The vertical pass runs internal::ReduceRows{Simd,
// Scalar} over whole rows, and the box shrink sums rows with internal::AccumulateRow{Simd,
// Scalar}. The SIMD path does the horizontal pass with the same vectorised kernel on a transposed
// image (transpose, reduce rows, transpose back); the scalar path filters along rows directly. Both
// compute the same integer sums, so the two paths give identical bytes.

namespace glint::codec {
namespace {

using internal::kWeightOne;
using internal::kWeightShift;

using RowKernel = void (*)(const uint8_t* const* rows, const int16_t* weights, size_t taps,
                           uint8_t* out, size_t n);

// A box shrink factor above this could overflow the uint32 column sums; such a ratio
// (> 2^17) leaves the rest to the filter, which is slower but still correct.
constexpr uint32_t kMaxShrink = 1u << 16;

double FilterRadius(Filter filter) {
  switch (filter) {
    case Filter::kLanczos3:
      return 3.0;
    case Filter::kCatmullRom:
      return 2.0;
    case Filter::kLinear:
      return 1.0;
  }
  return 3.0;
}

double FilterValue(Filter filter, double x) {
  x = std::fabs(x);
  switch (filter) {
    case Filter::kLanczos3: {
      if (x < 1e-9) return 1.0;
      if (x >= 3.0) return 0.0;
      const double px = std::numbers::pi * x;
      return 3.0 * std::sin(px) * std::sin(px / 3.0) / (px * px);
    }
    case Filter::kCatmullRom: {
      constexpr double a = -0.5;
      if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
      if (x < 2.0) return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
      return 0.0;
    }
    case Filter::kLinear:
      return x < 1.0 ? 1.0 - x : 0.0;
  }
  return 0.0;
}

// The contributors of one axis: output i = sum_k weights[i * taps + k] * in[start[i] + k].
// Every start[i] + taps <= in_size.
struct AxisPlan {
  size_t taps = 0;
  std::vector<uint32_t> start;
  std::vector<int16_t> weights;
};

// `scale` is input samples per output sample, so that output i is centred on input position
// (i + 0.5) * scale - 0.5. It is not always in_size / out_size: after a box shrink it keeps
// the geometry of the original image.
AxisPlan PlanAxis(uint32_t in_size, uint32_t out_size, double scale, Filter filter) {
  const double stretch = std::max(1.0, scale);  // widen the kernel when downscaling
  const double support = FilterRadius(filter) * stretch;
  std::vector<double> folded;
  std::vector<int32_t> fixed;
  std::vector<std::pair<uint32_t, std::vector<int16_t>>> runs(out_size);
  size_t taps = 1;
  for (uint32_t i = 0; i < out_size; ++i) {
    const double centre = (i + 0.5) * scale - 0.5;
    const int64_t lo = static_cast<int64_t>(std::floor(centre - support));
    const int64_t hi = static_cast<int64_t>(std::ceil(centre + support));
    const int64_t first = std::clamp<int64_t>(lo, 0, in_size - 1);
    const int64_t last = std::clamp<int64_t>(hi, 0, in_size - 1);
    folded.assign(static_cast<size_t>(last - first + 1), 0.0);
    double sum = 0.0;
    for (int64_t j = lo; j <= hi; ++j) {
      const double w = FilterValue(filter, (static_cast<double>(j) - centre) / stretch);
      folded[static_cast<size_t>(std::clamp(j, first, last) - first)] += w;
      sum += w;
    }
    // Quantise, then give the rounding residue to the largest weight so the sum is exact.
    fixed.resize(folded.size());
    int32_t fixed_sum = 0;
    size_t largest = 0;
    for (size_t k = 0; k < folded.size(); ++k) {
      fixed[k] = static_cast<int32_t>(std::lrint(folded[k] / sum * kWeightOne));
      fixed_sum += fixed[k];
      if (folded[k] > folded[largest]) largest = k;
    }
    fixed[largest] += kWeightOne - fixed_sum;
    size_t begin = 0, end = fixed.size();
    while (begin + 1 < end && fixed[begin] == 0) ++begin;
    while (end - 1 > begin && fixed[end - 1] == 0) --end;
    auto& [run_start, run] = runs[i];
    run_start = static_cast<uint32_t>(first + static_cast<int64_t>(begin));
    for (size_t k = begin; k < end; ++k) {
      assert(fixed[k] >= INT16_MIN && fixed[k] <= INT16_MAX);
      run.push_back(static_cast<int16_t>(fixed[k]));
    }
    taps = std::max(taps, run.size());
  }
  // Pad every run to `taps`, sliding it left where it would overrun the end of the input.
  AxisPlan plan;
  plan.taps = taps;
  plan.start.resize(out_size);
  plan.weights.assign(static_cast<size_t>(out_size) * taps, 0);
  for (uint32_t i = 0; i < out_size; ++i) {
    const auto& [run_start, run] = runs[i];
    const uint32_t start = std::min<uint32_t>(run_start, in_size - static_cast<uint32_t>(taps));
    plan.start[i] = start;
    std::copy(run.begin(), run.end(), plan.weights.begin() + i * taps + (run_start - start));
  }
  return plan;
}

// libvips' integer shrink for a residual of about 2: round(ratio / 2), at least 1.
uint32_t ShrinkFactor(uint32_t in_size, uint32_t out_size) {
  const double ratio = static_cast<double>(in_size) / out_size;
  if (ratio <= 1.0) return 1;
  const double s = std::floor(ratio / 2.0 + 0.5);
  return static_cast<uint32_t>(std::clamp(s, 1.0, static_cast<double>(kMaxShrink)));
}

uint32_t CeilDiv(uint32_t a, uint32_t b) { return a / b + (a % b != 0 ? 1 : 0); }

// round(c * a / 255) for the colour samples of `n` RGBA bytes, exactly, without a division.
void PremultiplyRow(const uint8_t* in, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i += 4) {
    const uint32_t a = in[i + 3];
    for (size_t c = 0; c < 3; ++c) {
      const uint32_t t = in[i + c] * a + 128;
      out[i + c] = static_cast<uint8_t>((t + (t >> 8)) >> 8);
    }
    out[i + 3] = static_cast<uint8_t>(a);
  }
}

Image Premultiplied(const Image& in) {
  Image out = in;
  PremultiplyRow(in.pixels.data(), out.pixels.data(), in.pixels.size());
  out.premultiplied = true;
  return out;
}

// round(sum / count) for every sum of `count` samples (0 .. 255 * count), as tables: a box
// shrink divides once per output sample and a window has at most four sizes (interior, right
// edge, bottom edge, corner), so a lookup replaces a 64-bit division. Windows of more than
// kMaxCount samples (tiny outputs) divide directly.
class RoundedDivision {
 public:
  // The table for `count`, or nullptr when it is too large for one.
  const std::vector<uint8_t>* For(uint64_t count) {
    if (count > kMaxCount) return nullptr;
    for (auto& [c, table] : tables_)
      if (c == count) return &table;
    std::vector<uint8_t> table(255 * count + 1);
    for (uint64_t sum = 0; sum < table.size(); ++sum)
      table[sum] = static_cast<uint8_t>((sum + count / 2) / count);
    tables_.emplace_back(count, std::move(table));
    return &tables_.back().second;
  }

 private:
  static constexpr uint64_t kMaxCount = 64;
  std::list<std::pair<uint64_t, std::vector<uint8_t>>> tables_;  // stable addresses
};

// Averages `windows` adjacent windows of `width` pixels of column sums (each sum of `count`
// samples) into `dst`.
template <size_t kChannels>
void SumWindows(const uint32_t* col, uint32_t windows, uint32_t width, uint64_t count,
                RoundedDivision& divide, uint8_t* dst) {
  const std::vector<uint8_t>* table = divide.For(count);
  for (uint32_t w = 0; w < windows; ++w, col += width * kChannels, dst += kChannels) {
    uint64_t sum[kChannels] = {};
    for (uint32_t x = 0; x < width; ++x)
      for (size_t c = 0; c < kChannels; ++c) sum[c] += col[x * kChannels + c];
    for (size_t c = 0; c < kChannels; ++c)
      dst[c] = table ? (*table)[sum[c]] : static_cast<uint8_t>((sum[c] + count / 2) / count);
  }
}

// With `premultiply`, `in` is straight RGBA and is premultiplied row by row on the way in,
// which gives the same bytes as Premultiplied() first without a full-size copy.
Image BoxShrink(const Image& in, uint32_t sx, uint32_t sy, bool premultiply, bool simd) {
  const auto accumulate = simd ? internal::AccumulateRowSimd : internal::AccumulateRowScalar;
  const size_t ch = in.channels;
  Image out;
  out.width = CeilDiv(in.width, sx);
  out.height = CeilDiv(in.height, sy);
  out.channels = in.channels;
  out.premultiplied = in.premultiplied || premultiply;
  out.pixels.resize(out.stride() * out.height);
  std::vector<uint32_t> column_sums(in.stride());
  std::vector<uint8_t> scratch(premultiply ? in.stride() : 0);
  RoundedDivision divide;
  for (uint32_t oy = 0; oy < out.height; ++oy) {
    const uint32_t y0 = oy * sy;
    const uint32_t y1 = std::min(in.height, y0 + sy);
    std::fill(column_sums.begin(), column_sums.end(), 0u);
    for (uint32_t y = y0; y < y1; ++y) {
      const uint8_t* row = in.row(y);
      if (premultiply) {
        PremultiplyRow(row, scratch.data(), scratch.size());
        row = scratch.data();
      }
      accumulate(row, column_sums.data(), column_sums.size());
    }
    uint8_t* dst = out.row(oy);
    const uint32_t rows = y1 - y0;
    // Windows of the full width sx, then possibly one narrower at the right edge.
    const uint32_t full = in.width / sx;
    if (ch == 4) {
      SumWindows<4>(column_sums.data(), full, sx, uint64_t{rows} * sx, divide, dst);
    } else {
      SumWindows<3>(column_sums.data(), full, sx, uint64_t{rows} * sx, divide, dst);
    }
    if (full < out.width) {
      const uint32_t x0 = full * sx, n = in.width - x0;
      if (ch == 4) {
        SumWindows<4>(&column_sums[x0 * ch], 1, n, uint64_t{rows} * n, divide, dst + full * ch);
      } else {
        SumWindows<3>(&column_sums[x0 * ch], 1, n, uint64_t{rows} * n, divide, dst + full * ch);
      }
    }
  }
  return out;
}

// kUnpremultiply[a] = round(255 * 2^16 / a): a multiply instead of a division per sample.
constexpr auto kUnpremultiply = [] {
  std::array<uint32_t, 256> table{};
  for (uint32_t a = 1; a < 256; ++a) table[a] = (255u * 65536u + a / 2) / a;
  return table;
}();

void Unpremultiply(Image& image) {
  uint8_t* const p = image.pixels.data();
  for (size_t i = 0, n = image.pixels.size(); i < n; i += 4) {
    const uint32_t scale = kUnpremultiply[p[i + 3]];  // 0 where a = 0: colour becomes 0
    for (size_t c = 0; c < 3; ++c) {
      p[i + c] = static_cast<uint8_t>(std::min(255u, (p[i + c] * scale + 32768u) >> 16));
    }
  }
  image.premultiplied = false;
}

Image Blank(uint32_t width, uint32_t height, const Image& like) {
  Image out;
  out.width = width;
  out.height = height;
  out.channels = like.channels;
  out.premultiplied = like.premultiplied;
  out.pixels.resize(out.stride() * height);
  return out;
}

Image ReduceVertical(const Image& in, const AxisPlan& plan, RowKernel kernel) {
  Image out = Blank(in.width, static_cast<uint32_t>(plan.start.size()), in);
  std::vector<const uint8_t*> rows(plan.taps);
  for (uint32_t y = 0; y < out.height; ++y) {
    for (size_t k = 0; k < plan.taps; ++k) rows[k] = in.row(plan.start[y] + k);
    kernel(rows.data(), plan.weights.data() + y * plan.taps, plan.taps, out.row(y), out.stride());
  }
  return out;
}

template <size_t kChannels>
void ReduceHorizontalScalarImpl(const Image& in, const AxisPlan& plan, Image& out) {
  const uint8_t* const src = in.pixels.data();
  uint8_t* dst = out.pixels.data();
  const size_t src_stride = in.stride(), taps = plan.taps;
  const uint32_t* const starts = plan.start.data();
  const int16_t* const weights = plan.weights.data();
  const uint32_t height = in.height, width = out.width;
  for (uint32_t y = 0; y < height; ++y) {
    const uint8_t* const row = src + y * src_stride;
    for (uint32_t x = 0; x < width; ++x) {
      const uint8_t* p = row + size_t{starts[x]} * kChannels;
      const int16_t* const w = weights + x * taps;
      int32_t acc[kChannels];
      for (size_t c = 0; c < kChannels; ++c) acc[c] = kWeightOne / 2;
      for (size_t k = 0; k < taps; ++k, p += kChannels) {
        for (size_t c = 0; c < kChannels; ++c) acc[c] += int32_t{w[k]} * p[c];
      }
      for (size_t c = 0; c < kChannels; ++c) {
        *dst++ = static_cast<uint8_t>(std::clamp(acc[c] >> kWeightShift, 0, 255));
      }
    }
  }
}

Image ReduceHorizontalScalar(const Image& in, const AxisPlan& plan) {
  Image out = Blank(static_cast<uint32_t>(plan.start.size()), in.height, in);
  if (in.channels == 4) {
    ReduceHorizontalScalarImpl<4>(in, plan, out);
  } else {
    ReduceHorizontalScalarImpl<3>(in, plan, out);
  }
  return out;
}

// Pixel transpose in tiles, so that both the reads and the writes stay within a few cache
// lines at a time.
template <size_t kChannels>
void TransposeImpl(const Image& in, Image& out) {
  // Raw pointers and sizes in locals: stores through uint8_t* may alias anything, which would
  // otherwise make the compiler reload the Image fields for every byte.
  constexpr uint32_t kTile = 32;
  const uint8_t* const src = in.pixels.data();
  uint8_t* const dst = out.pixels.data();
  const size_t src_stride = in.stride(), dst_stride = out.stride();
  const uint32_t width = in.width, height = in.height;
  for (uint32_t y0 = 0; y0 < height; y0 += kTile) {
    const uint32_t y1 = std::min(height, y0 + kTile);
    for (uint32_t x0 = 0; x0 < width; x0 += kTile) {
      const uint32_t x1 = std::min(width, x0 + kTile);
      for (uint32_t x = x0; x < x1; ++x) {
        uint8_t* d = dst + x * dst_stride + size_t{y0} * kChannels;
        const uint8_t* s = src + size_t{y0} * src_stride + size_t{x} * kChannels;
        for (uint32_t y = y0; y < y1; ++y, d += kChannels, s += src_stride) {
          std::memcpy(d, s, kChannels);
        }
      }
    }
  }
}

Image Transpose(const Image& in) {
  Image out = Blank(in.height, in.width, in);
  if (in.channels == 4) {
    TransposeImpl<4>(in, out);
  } else {
    TransposeImpl<3>(in, out);
  }
  return out;
}

Image ReduceHorizontal(const Image& in, const AxisPlan& plan, bool simd) {
  if (!simd) return ReduceHorizontalScalar(in, plan);
  return Transpose(ReduceVertical(Transpose(in), plan, internal::ReduceRowsSimd));
}

Result<Image> ResizeImpl(const Image& src, uint32_t width, uint32_t height, Filter filter,
                         bool simd) {
  if (width == 0 || height == 0) {
    return InvalidArgument("resize to a zero size (" + std::to_string(width) + "x" +
                           std::to_string(height) + ")");
  }
  if (src.width == 0 || src.height == 0) return InvalidArgument("resize of an empty image");
  if (src.channels != 3 && src.channels != 4) {
    return InvalidArgument("resize supports 3 or 4 channels, not " + std::to_string(src.channels));
  }
  if (src.pixels.size() != src.stride() * src.height) {
    return InvalidArgument("image pixel buffer does not match its size");
  }
  const uint32_t sx = ShrinkFactor(src.width, width);
  const uint32_t sy = ShrinkFactor(src.height, height);
  // Scales in shrunk samples per output sample, keeping the original image's geometry.
  const double scale_x = static_cast<double>(src.width) / (static_cast<double>(sx) * width);
  const double scale_y = static_cast<double>(src.height) / (static_cast<double>(sy) * height);
  const bool need_x = !(sx == 1 && src.width == width);
  const bool need_y = !(sy == 1 && src.height == height);
  // Nothing to filter: skip the lossy 8-bit premultiply round trip too.
  if (!need_x && !need_y) return src;

  const bool straight_alpha = src.has_alpha() && !src.premultiplied;

  Image work;
  const Image* current = &src;
  if (sx > 1 || sy > 1) {
    work = BoxShrink(src, sx, sy, straight_alpha, simd);
    current = &work;
  } else if (straight_alpha) {
    work = Premultiplied(src);
    current = &work;
  }

  const RowKernel vertical_kernel = simd ? internal::ReduceRowsSimd : internal::ReduceRowsScalar;

  auto do_x = [&] {
    if (!need_x) return;
    work = ReduceHorizontal(*current, PlanAxis(current->width, width, scale_x, filter), simd);
    current = &work;
  };
  auto do_y = [&] {
    if (!need_y) return;
    work = ReduceVertical(*current, PlanAxis(current->height, height, scale_y, filter),
                          vertical_kernel);
    current = &work;
  };
  // The axis that shrinks most goes first, so the second pass has the least to filter.
  if (static_cast<double>(src.width) / width >= static_cast<double>(src.height) / height) {
    do_x();
    do_y();
  } else {
    do_y();
    do_x();
  }

  Image out = current == &src ? src : std::move(work);
  if (straight_alpha) Unpremultiply(out);
  return out;
}

}  // namespace

namespace internal {

void ReduceRowsScalar(const uint8_t* const* rows, const int16_t* weights, size_t taps, uint8_t* out,
                      size_t n) {
  for (size_t i = 0; i < n; ++i) {
    int32_t acc = kWeightOne / 2;
    for (size_t k = 0; k < taps; ++k) acc += int32_t{weights[k]} * rows[k][i];
    out[i] = static_cast<uint8_t>(std::clamp(acc >> kWeightShift, 0, 255));
  }
}

void AccumulateRowScalar(const uint8_t* row, uint32_t* sums, size_t n) {
  for (size_t i = 0; i < n; ++i) sums[i] += row[i];
}

}  // namespace internal

Result<Image> Resize(const Image& src, uint32_t width, uint32_t height, Filter filter) {
  return ResizeImpl(src, width, height, filter, /*simd=*/true);
}

Result<Image> ResizeScalarForTesting(const Image& src, uint32_t width, uint32_t height,
                                     Filter filter) {
  return ResizeImpl(src, width, height, filter, /*simd=*/false);
}

const char* SimdTargetName() { return internal::SimdTargetNameImpl(); }

}  // namespace glint::codec
