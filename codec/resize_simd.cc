// Highway kernels of the resizer; see codec/resize_simd.h for the contracts.
//
// This file is compiled once per x86/ARM target by hwy/foreach_target.h; HWY_EXPORT and
// HWY_DYNAMIC_DISPATCH then pick the best compiled target supported by the running CPU.
//
// Vectorised here: the filter over rows (ReduceRows) and the row sums of the box shrink.
// codec/resize.cc runs the horizontal filter pass through ReduceRows on a transposed image,
// so every filtered byte goes through it. Premultiplication, the horizontal half of the box
// shrink and the transposes are plain C++ shared by both paths.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/resize_simd.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "codec/resize_simd.h"

HWY_BEFORE_NAMESPACE();
namespace glint::codec::internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// int32 lanes: every byte is widened, multiplied by its int16 weight and summed, exactly as
// the scalar twin does, so the two agree bit for bit.
void ReduceRows(const uint8_t* const* rows, const int16_t* weights, size_t taps, uint8_t* out,
                size_t n) {
  const hn::ScalableTag<int32_t> d32;
  const hn::Rebind<uint8_t, decltype(d32)> d8;
  const size_t lanes = hn::Lanes(d32);
  const auto half = hn::Set(d32, kWeightOne / 2);
  size_t i = 0;
  // Two vectors per step: two independent accumulation chains hide the multiply latency.
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    auto acc0 = half;
    auto acc1 = half;
    for (size_t k = 0; k < taps; ++k) {
      const auto w = hn::Set(d32, weights[k]);
      const uint8_t* row = rows[k] + i;
      acc0 = hn::Add(acc0, hn::Mul(hn::PromoteTo(d32, hn::LoadU(d8, row)), w));
      acc1 = hn::Add(acc1, hn::Mul(hn::PromoteTo(d32, hn::LoadU(d8, row + lanes)), w));
    }
    // DemoteTo saturates to [0, 255]: the same clamp as the scalar code.
    hn::StoreU(hn::DemoteTo(d8, hn::ShiftRight<kWeightShift>(acc0)), d8, out + i);
    hn::StoreU(hn::DemoteTo(d8, hn::ShiftRight<kWeightShift>(acc1)), d8, out + i + lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    auto acc = half;
    for (size_t k = 0; k < taps; ++k) {
      const auto w = hn::Set(d32, weights[k]);
      acc = hn::Add(acc, hn::Mul(hn::PromoteTo(d32, hn::LoadU(d8, rows[k] + i)), w));
    }
    hn::StoreU(hn::DemoteTo(d8, hn::ShiftRight<kWeightShift>(acc)), d8, out + i);
  }
  for (; i < n; ++i) {
    int32_t acc = kWeightOne / 2;
    for (size_t k = 0; k < taps; ++k) acc += int32_t{weights[k]} * rows[k][i];
    acc >>= kWeightShift;
    out[i] = static_cast<uint8_t>(acc < 0 ? 0 : (acc > 255 ? 255 : acc));
  }
}

void AccumulateRow(const uint8_t* row, uint32_t* sums, size_t n) {
  const hn::ScalableTag<uint32_t> d32;
  const hn::Rebind<uint8_t, decltype(d32)> d8;
  const size_t lanes = hn::Lanes(d32);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto sum = hn::Add(hn::LoadU(d32, sums + i), hn::PromoteTo(d32, hn::LoadU(d8, row + i)));
    hn::StoreU(sum, d32, sums + i);
  }
  for (; i < n; ++i) sums[i] += row[i];
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace glint::codec::internal
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace glint::codec::internal {

HWY_EXPORT(ReduceRows);
HWY_EXPORT(AccumulateRow);
HWY_EXPORT(TargetName);

void ReduceRowsSimd(const uint8_t* const* rows, const int16_t* weights, size_t taps, uint8_t* out,
                    size_t n) {
  HWY_DYNAMIC_DISPATCH(ReduceRows)(rows, weights, taps, out, n);
}

void AccumulateRowSimd(const uint8_t* row, uint32_t* sums, size_t n) {
  HWY_DYNAMIC_DISPATCH(AccumulateRow)(row, sums, n);
}

const char* SimdTargetNameImpl() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace glint::codec::internal
#endif  // HWY_ONCE
