// A 16-float vector (GCC/Clang vector extension): one zmm register with AVX-512, two ymm with
// AVX2, four xmm otherwise; the compiler emits the target ISA's instructions (FMA contracted
// where the ISA has it). Register-blocking sizes of the lane kernels per ISA.
#pragma once

#include <cstring>

// Internal inline helpers: no vector crosses a library boundary, so the "AVX vector argument
// changes the ABI" note (GCC and Clang, -Wpsabi) does not apply.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace fedgrid::nn::lanes {

typedef float V __attribute__((vector_size(64)));
typedef int VI __attribute__((vector_size(64)));

inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
inline V splat(float s) { return V{} + s; }
// Sum of the 16 lanes in lane order (or of the first n).
inline float hsum(V v, int n = 16) {
  float s = 0.0f;
  for (int l = 0; l < n; ++l) s += v[l];
  return s;
}

// Output channels x pixels of a forward block, channels x taps of a weight-gradient block:
// accumulators + loads must fit the register file (32 zmm / 16 ymm / 16 xmm).
#if defined(__AVX512F__)
constexpr int kOutBlock = 6, kPixBlock = 4, kGradOut = 4, kGradTaps = 5;
#elif defined(__AVX__)
constexpr int kOutBlock = 3, kPixBlock = 2, kGradOut = 2, kGradTaps = 3;
#else
constexpr int kOutBlock = 2, kPixBlock = 1, kGradOut = 1, kGradTaps = 2;
#endif

}  // namespace fedgrid::nn::lanes
