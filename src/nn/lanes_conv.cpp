// Direct convolution in the lane layout: every tap is a 16-sample vector FMA. Forward: a block of
// kOutBlock output channels x kPixBlock output pixels stays in registers over all (c, i, l).
// Weight gradient: kGradOut channels x kGradTaps taps in registers over all pixels of a group.
// Input gradient (stride 1): the forward kernel over dy padded by k-1-p with the flipped,
// transposed weights; other strides scatter.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <utility>

#include "nn/lanes.hpp"
#include "nn/lanes_simd.hpp"

namespace fedgrid::nn::lanes {

namespace {

// A group's channels copied into [C][h+2p][w+2p][16] with a zero border.
void pad_group(const float* src, std::size_t src_cs, int channels, int h, int w, int p,
               float* dst) {
  const int hp = h + 2 * p, wp = w + 2 * p;
  const std::size_t dcs = std::size_t(hp) * wp * kLanes;
  std::memset(dst, 0, sizeof(float) * dcs * channels);
  for (int c = 0; c < channels; ++c) {
    for (int r = 0; r < h; ++r) {
      std::memcpy(dst + c * dcs + (std::size_t(r + p) * wp + p) * kLanes,
                  src + c * src_cs + std::size_t(r) * w * kLanes, sizeof(float) * w * kLanes);
    }
  }
}

struct FwdArgs {
  std::size_t xcs;  // input channel stride (floats)
  int wp;           // input row length (pixels)
  int c, k, s;      // input channels, kernel, stride
  int wos;          // weight (o, c, i, l) at w[o*wos + (c*k + i)*k + l]
  bool relu;
  std::size_t ycs;  // output channel stride
};

// OB output channels x PB consecutive output pixels of one row; x at the window of the block's
// first pixel, y at (o0, pixel).
template <int OB, int PB>
void fwd_block(const FwdArgs& a, const float* x, const float* w, const float* bias, float* y) {
  V acc[OB][PB];
  for (int o = 0; o < OB; ++o) {
    const V b = splat(bias ? bias[o] : 0.0f);
    for (int q = 0; q < PB; ++q) acc[o][q] = b;
  }
  const int k = a.k, s = a.s;
  for (int c = 0; c < a.c; ++c) {
    for (int i = 0; i < k; ++i) {
      const float* xr = x + c * a.xcs + std::size_t(i) * a.wp * kLanes;
      const float* wr = w + (c * k + i) * k;
      for (int l = 0; l < k; ++l) {
        V xv[PB];
        for (int q = 0; q < PB; ++q) xv[q] = load(xr + (q * s + l) * kLanes);
        for (int o = 0; o < OB; ++o) {
          const float wv = wr[o * a.wos + l];
          for (int q = 0; q < PB; ++q) acc[o][q] += xv[q] * wv;
        }
      }
    }
  }
  for (int o = 0; o < OB; ++o) {
    for (int q = 0; q < PB; ++q) {
      V v = acc[o][q];
      if (a.relu) v = v > 0.0f ? v : V{};
      store(y + o * a.ycs + q * kLanes, v);
    }
  }
}

using FwdFn = void (*)(const FwdArgs&, const float*, const float*, const float*, float*);
template <int OB, int... PB>
constexpr std::array<FwdFn, sizeof...(PB)> fwd_row(std::integer_sequence<int, PB...>) {
  return {&fwd_block<OB, PB + 1>...};
}
template <int... OB>
constexpr auto fwd_table(std::integer_sequence<int, OB...>) {
  return std::array<std::array<FwdFn, kPixBlock>, sizeof...(OB)>{
      fwd_row<OB + 1>(std::make_integer_sequence<int, kPixBlock>{})...};
}
constexpr auto kFwd = fwd_table(std::make_integer_sequence<int, kOutBlock>{});

// The forward kernel over every group: x lanes (c, h, w) padded by p on the fly, weights with
// output-channel stride wos, y lanes (o, oh, ow).
void direct(const ConvGeom& g, const float* w, int wos, const float* bias, bool relu,
            const float* x, int groups, float* y, SharedScratch& scratch) {
  const std::size_t pin = std::size_t(g.h) * g.w * kLanes, pout = std::size_t(g.oh) * g.ow * kLanes;
  const int wp = g.w + 2 * g.p, hp = g.h + 2 * g.p;
  float* pad = g.p > 0 ? scratch.cols.reserve(std::size_t(g.c) * hp * wp * kLanes) : nullptr;
  FwdArgs a{pad ? std::size_t(hp) * wp * kLanes : groups * pin,
            wp,
            g.c,
            g.k,
            g.s,
            wos,
            relu,
            groups * pout};
  for (int grp = 0; grp < groups; ++grp) {
    const float* xg = x + grp * pin;
    if (pad) {
      pad_group(xg, groups * pin, g.c, g.h, g.w, g.p, pad);
      xg = pad;
    }
    for (int o0 = 0; o0 < g.o; o0 += kOutBlock) {
      const int ob = std::min(kOutBlock, g.o - o0);
      for (int r = 0; r < g.oh; ++r) {
        for (int q0 = 0; q0 < g.ow; q0 += kPixBlock) {
          const int pb = std::min(kPixBlock, g.ow - q0);
          const float* xb = xg + (std::size_t(r) * g.s * wp + std::size_t(q0) * g.s) * kLanes;
          float* yb = y + o0 * a.ycs + grp * pout + (std::size_t(r) * g.ow + q0) * kLanes;
          kFwd[ob - 1][pb - 1](a, xb, w + std::size_t(o0) * wos, bias ? bias + o0 : nullptr, yb);
        }
      }
    }
  }
}

// OB output channels x LB taps (l0..l0+LB) of one (c, i) over all output pixels of a group:
// acc[o][t] += dy[o][r][col] * x[c][r*s + i][col*s + l0 + t]; added into the vector sums.
template <int OB, int LB>
void wgrad_block(const float* x, int wp, int s, int oh, int ow, const float* dy, std::size_t dcs,
                 V* sums, int wos) {
  V acc[OB][LB] = {};
  for (int r = 0; r < oh; ++r) {
    const float* xr = x + std::size_t(r) * s * wp * kLanes;
    const float* dr = dy + std::size_t(r) * ow * kLanes;
    for (int col = 0; col < ow; ++col) {
      V xv[LB];
      for (int t = 0; t < LB; ++t) xv[t] = load(xr + (col * s + t) * kLanes);
      for (int o = 0; o < OB; ++o) {
        const V d = load(dr + o * dcs + col * kLanes);
        for (int t = 0; t < LB; ++t) acc[o][t] += d * xv[t];
      }
    }
  }
  for (int o = 0; o < OB; ++o) {
    for (int t = 0; t < LB; ++t) sums[o * wos + t] += acc[o][t];
  }
}

using WgradFn = void (*)(const float*, int, int, int, int, const float*, std::size_t, V*, int);
template <int OB, int... LB>
constexpr std::array<WgradFn, sizeof...(LB)> wgrad_row(std::integer_sequence<int, LB...>) {
  return {&wgrad_block<OB, LB + 1>...};
}
template <int... OB>
constexpr auto wgrad_table(std::integer_sequence<int, OB...>) {
  return std::array<std::array<WgradFn, kGradTaps>, sizeof...(OB)>{
      wgrad_row<OB + 1>(std::make_integer_sequence<int, kGradTaps>{})...};
}
constexpr auto kWgrad = wgrad_table(std::make_integer_sequence<int, kGradOut>{});

// dW: per weight a 16-lane vector sum over groups (in group order), then the lanes summed.
void direct_weight_grad(const ConvGeom& g, const float* x, const float* dy, int groups, float* dw,
                        SharedScratch& scratch) {
  const int kk = g.k * g.k, wos = g.c * kk;
  const std::size_t n = std::size_t(g.o) * wos;
  const std::size_t pin = std::size_t(g.h) * g.w * kLanes, pout = std::size_t(g.oh) * g.ow * kLanes;
  const int wp = g.w + 2 * g.p, hp = g.h + 2 * g.p;
  V* sums = reinterpret_cast<V*>(scratch.cols_grad.reserve(n * kLanes + kLanes));
  sums = reinterpret_cast<V*>((reinterpret_cast<std::uintptr_t>(sums) + 63) & ~std::uintptr_t(63));
  std::fill(sums, sums + n, V{});
  float* pad = g.p > 0 ? scratch.cols.reserve(std::size_t(g.c) * hp * wp * kLanes) : nullptr;
  const std::size_t xcs = pad ? std::size_t(hp) * wp * kLanes : groups * pin;
  for (int grp = 0; grp < groups; ++grp) {
    const float* xg = x + grp * pin;
    if (pad) {
      pad_group(xg, groups * pin, g.c, g.h, g.w, g.p, pad);
      xg = pad;
    }
    for (int o0 = 0; o0 < g.o; o0 += kGradOut) {
      const int ob = std::min(kGradOut, g.o - o0);
      const float* dyo = dy + o0 * (groups * pout) + grp * pout;
      for (int c = 0; c < g.c; ++c) {
        for (int i = 0; i < g.k; ++i) {
          for (int l0 = 0; l0 < g.k; l0 += kGradTaps) {
            const int lb = std::min(kGradTaps, g.k - l0);
            const float* xb = xg + c * xcs + (std::size_t(i) * wp + l0) * kLanes;
            V* s = sums + std::size_t(o0) * wos + (c * g.k + i) * g.k + l0;
            kWgrad[ob - 1][lb - 1](xb, wp, g.s, g.oh, g.ow, dyo, groups * pout, s, wos);
          }
        }
      }
    }
  }
  for (std::size_t e = 0; e < n; ++e) dw[e] = hsum(sums[e]);
}

// dx = sum over outputs of w * dy scattered to each tap's input pixel (any stride/padding).
void scatter_input_grad(const ConvGeom& g, const float* w, const float* dy, int groups, float* dx) {
  const std::size_t pin = std::size_t(g.h) * g.w * kLanes, pout = std::size_t(g.oh) * g.ow * kLanes;
  std::fill(dx, dx + groups * pin * g.c, 0.0f);
  for (int grp = 0; grp < groups; ++grp) {
    for (int o = 0; o < g.o; ++o) {
      const float* d = dy + (std::size_t(o) * groups + grp) * pout;
      for (int r = 0; r < g.oh; ++r) {
        for (int col = 0; col < g.ow; ++col) {
          const V dv = load(d + (std::size_t(r) * g.ow + col) * kLanes);
          for (int c = 0; c < g.c; ++c) {
            float* plane = dx + (std::size_t(c) * groups + grp) * pin;
            const float* wc = w + (std::size_t(o) * g.c + c) * g.k * g.k;
            for (int i = 0; i < g.k; ++i) {
              const int ih = r * g.s + i - g.p;
              if (ih < 0 || ih >= g.h) continue;
              for (int l = 0; l < g.k; ++l) {
                const int iw = col * g.s + l - g.p;
                if (iw < 0 || iw >= g.w) continue;
                float* px = plane + (std::size_t(ih) * g.w + iw) * kLanes;
                store(px, load(px) + dv * wc[i * g.k + l]);
              }
            }
          }
        }
      }
    }
  }
}

// Stride 1, p <= k-1: dx = conv(dy padded by k-1-p, w'), w'[c][o][i][l] = w[o][c][k-1-i][k-1-l].
void direct_input_grad(const ConvGeom& g, const float* w, const float* dy, int groups, float* dx,
                       SharedScratch& scratch) {
  if (g.s != 1 || g.p > g.k - 1) {
    scatter_input_grad(g, w, dy, groups, dx);
    return;
  }
  const int kk = g.k * g.k;
  float* wt = scratch.gemm.reserve(std::size_t(g.c) * g.o * kk);
  for (int o = 0; o < g.o; ++o) {
    for (int c = 0; c < g.c; ++c) {
      for (int t = 0; t < kk; ++t) {
        wt[(std::size_t(c) * g.o + o) * kk + t] = w[(std::size_t(o) * g.c + c) * kk + kk - 1 - t];
      }
    }
  }
  const ConvGeom back{g.o, g.oh, g.ow, g.c, g.h, g.w, g.k, 1, g.k - 1 - g.p};
  direct(back, wt, g.o * kk, nullptr, false, dy, groups, dx, scratch);
}

std::atomic<int> g_policy{0};  // 0 auto, 1 direct, 2 gemm (bench and tests)

}  // namespace

void set_conv_policy(int policy) { g_policy.store(policy); }

// Direct when the whole filter bank is small (few channels: a GEMM would have a short dimension
// of O or C*k*k). Larger banks: the direct forward and input gradient (the forward kernel on dy)
// still win on rows of >= 4 output pixels (VGG11's layers down to 4x4: 1.3-1.9x the lane GEMM,
// AVX-512, where 4 pixels fill the kernel's register block), the GEMM below that and for the
// weight gradient, whose direct kernel re-reads dy per tap. One rule for every instruction set
// (results must not depend on more than the build's arithmetic). Measured in bench_limit (--conv)
// and bench_xsmm, see bench/README.md.
constexpr int kDirectMinRow = 4;

ConvAlgo choose(const ConvGeom& g, ConvPass pass) {
  const int policy = g_policy.load();
  if (policy == 1) return ConvAlgo::kDirect;
  if (policy == 2) return ConvAlgo::kGemm;
  if (g.o * g.c * g.k * g.k <= 1024) return ConvAlgo::kDirect;
  switch (pass) {
    case ConvPass::kForward:
      return g.ow >= kDirectMinRow ? ConvAlgo::kDirect : ConvAlgo::kGemm;
    case ConvPass::kInputGrad:  // a convolution whose output is the input's (c, h, w)
      return g.w >= kDirectMinRow && g.s == 1 ? ConvAlgo::kDirect : ConvAlgo::kGemm;
    case ConvPass::kWeightGrad:
      break;
  }
  return ConvAlgo::kGemm;
}

void conv_forward(ConvAlgo algo, const ConvGeom& g, const float* w, const float* bias,
                  const float* x, int groups, float* y, SharedScratch& scratch) {
  if (algo == ConvAlgo::kGemm) {
    gemm_forward(g, w, bias, x, groups, y, scratch);
  } else {
    direct(g, w, g.c * g.k * g.k, bias, false, x, groups, y, scratch);
  }
}

void conv_weight_grad(ConvAlgo algo, const ConvGeom& g, const float* x, const float* dy, int groups,
                      float* dw, float* db, SharedScratch& scratch) {
  if (db) {
    const std::size_t pout = std::size_t(g.oh) * g.ow * kLanes * groups;
    for (int o = 0; o < g.o; ++o) {
      V s{};
      const float* d = dy + o * pout;
      for (std::size_t e = 0; e < pout; e += kLanes) s += load(d + e);
      db[o] = hsum(s);
    }
  }
  if (!dw) return;
  if (algo == ConvAlgo::kGemm) {
    gemm_weight_grad(g, x, dy, groups, dw, scratch);
  } else {
    direct_weight_grad(g, x, dy, groups, dw, scratch);
  }
}

void conv_input_grad(ConvAlgo algo, const ConvGeom& g, const float* w, const float* dy, int groups,
                     float* dx, SharedScratch& scratch) {
  if (algo == ConvAlgo::kGemm) {
    gemm_input_grad(g, w, dy, groups, dx, scratch);
  } else {
    direct_input_grad(g, w, dy, groups, dx, scratch);
  }
}

}  // namespace fedgrid::nn::lanes
