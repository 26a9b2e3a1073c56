// Internal to codec/resize.cc: the vectorised kernels of the resizer and their scalar twins.
//
// Each kernel is a plain function. The *Simd versions pick the best Highway target for this
// CPU at the first call (dynamic dispatch); the *Scalar versions are portable C++ and always
// compile. A kernel and its twin give bit-identical results: same int32 arithmetic, same
// rounding (tests/codec/resize_test.cc ScalarAndSimdAgree checks it). Stateless; safe to call
// from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace glint::codec::internal {

// Fixed-point weights: a weight of 1.0 is kWeightOne; every contributor set sums exactly to it.
inline constexpr int kWeightShift = 14;
inline constexpr int32_t kWeightOne = 1 << kWeightShift;

// The filter step over whole rows of bytes:
//   out[i] = clamp((sum_k weights[k] * rows[k][i] + kWeightOne / 2) >> kWeightShift, 0, 255)
// for i in [0, n). `rows` holds `taps` pointers, each to at least n readable bytes; `out` must
// not overlap them. The shift is arithmetic (rounds towards minus infinity).
void ReduceRowsScalar(const uint8_t* const* rows, const int16_t* weights, size_t taps, uint8_t* out,
                      size_t n);
void ReduceRowsSimd(const uint8_t* const* rows, const int16_t* weights, size_t taps, uint8_t* out,
                    size_t n);

// The vertical half of the box shrink: sums[i] += row[i] for i in [0, n). Wraps modulo 2^32
// (the caller keeps the sums far below that).
void AccumulateRowScalar(const uint8_t* row, uint32_t* sums, size_t n);
void AccumulateRowSimd(const uint8_t* row, uint32_t* sums, size_t n);

// Name of the Highway target ReduceRowsSimd runs on ("AVX3", "AVX2", "SSE4", "EMU128"...).
const char* SimdTargetNameImpl();

}  // namespace glint::codec::internal
