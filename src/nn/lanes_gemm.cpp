// Convolution as im2col + GEMM in the lane layout: a channel's block [G][oh][ow][16] is a column
// of M = G*16*oh*ow rows, so Y^col (M x O) IS the output (column stride G*P*16) and the batch
// folds into M. im2col copies whole 16-float runs; chunks of output rows keep X^col in cache.
#include <algorithm>

#include "nn/gemm.hpp"
#include "nn/lanes.hpp"
#include "nn/lanes_simd.hpp"

namespace fedgrid::nn::lanes {

namespace {

// Units are (group, output row) pairs of ow*16 rows each; a chunk holds X^col within
// kChunkFloats but at least kMinRows rows (as the column path, see conv.cpp).
constexpr std::size_t kChunkFloats = std::size_t(1) << 16;
constexpr std::size_t kMinRows = 512;

int chunk_units(const ConvGeom& g, int units) {
  const std::size_t rows = std::size_t(g.ow) * kLanes, k = std::size_t(g.c) * g.k * g.k;
  std::size_t n = std::max<std::size_t>(1, kChunkFloats / (rows * k));
  n = std::max(n, (kMinRows + rows - 1) / rows);
  return static_cast<int>(std::min<std::size_t>(n, std::size_t(units)));
}

// X^col rows of units [u0, u0 + n) (M = n*ow*16, column-major), column (c*k + i)*k + l.
void im2col(const ConvGeom& g, const float* x, int groups, int u0, int n, float* cols) {
  const std::size_t M = std::size_t(n) * g.ow * kLanes, pin = std::size_t(g.h) * g.w * kLanes;
  for (int c = 0; c < g.c; ++c) {
    for (int i = 0; i < g.k; ++i) {
      for (int l = 0; l < g.k; ++l) {
        float* dst = cols + std::size_t((c * g.k + i) * g.k + l) * M;
        for (int u = u0; u < u0 + n; ++u, dst += g.ow * kLanes) {
          const int grp = u / g.oh, ih = (u % g.oh) * g.s + i - g.p;
          if (ih < 0 || ih >= g.h) {
            std::fill(dst, dst + g.ow * kLanes, 0.0f);
            continue;
          }
          const float* row =
              x + (std::size_t(c) * groups + grp) * pin + std::size_t(ih) * g.w * kLanes;
          for (int q = 0; q < g.ow; ++q) {
            const int iw = q * g.s + l - g.p;
            if (iw < 0 || iw >= g.w) {
              store(dst + q * kLanes, V{});
            } else {
              store(dst + q * kLanes, load(row + iw * kLanes));
            }
          }
        }
      }
    }
  }
}

// The transpose of im2col: adds dX^col into dx (lanes).
void col2im(const ConvGeom& g, const float* cols, int groups, int u0, int n, float* dx) {
  const std::size_t M = std::size_t(n) * g.ow * kLanes, pin = std::size_t(g.h) * g.w * kLanes;
  for (int c = 0; c < g.c; ++c) {
    for (int i = 0; i < g.k; ++i) {
      for (int l = 0; l < g.k; ++l) {
        const float* src = cols + std::size_t((c * g.k + i) * g.k + l) * M;
        for (int u = u0; u < u0 + n; ++u, src += g.ow * kLanes) {
          const int grp = u / g.oh, ih = (u % g.oh) * g.s + i - g.p;
          if (ih < 0 || ih >= g.h) continue;
          float* row = dx + (std::size_t(c) * groups + grp) * pin + std::size_t(ih) * g.w * kLanes;
          for (int q = 0; q < g.ow; ++q) {
            const int iw = q * g.s + l - g.p;
            if (iw < 0 || iw >= g.w) continue;
            store(row + iw * kLanes, load(row + iw * kLanes) + load(src + q * kLanes));
          }
        }
      }
    }
  }
}

}  // namespace

void gemm_forward(const ConvGeom& g, const float* w, const float* bias, const float* x, int groups,
                  float* y, SharedScratch& scratch) {
  const int units = groups * g.oh, K = g.c * g.k * g.k, chunk = chunk_units(g, units);
  const int ldy = groups * g.oh * g.ow * kLanes, rows = g.ow * kLanes;
  float* cols = scratch.cols.reserve(std::size_t(chunk) * rows * K);
  for (int u0 = 0; u0 < units; u0 += chunk) {
    const int n = std::min(chunk, units - u0), M = n * rows;
    im2col(g, x, groups, u0, n, cols);
    float* out = y + std::size_t(u0) * rows;
    // Y^col rows (M x O, ld = ldy) = X^col (M x K) W^T (K x O)
    gemm(M, g.o, K, {cols, M, false}, {w, K, false}, out, ldy, false, scratch.packing);
    if (!bias) continue;
    for (int o = 0; o < g.o; ++o) {
      float* col = out + std::size_t(o) * ldy;
      const V b = splat(bias[o]);
      for (int e = 0; e < M; e += kLanes) store(col + e, load(col + e) + b);
    }
  }
}

void gemm_weight_grad(const ConvGeom& g, const float* x, const float* dy, int groups, float* dw,
                      SharedScratch& scratch) {
  const int units = groups * g.oh, K = g.c * g.k * g.k, chunk = chunk_units(g, units);
  const int ldy = groups * g.oh * g.ow * kLanes, rows = g.ow * kLanes;
  float* cols = scratch.cols.reserve(std::size_t(chunk) * rows * K);
  for (int u0 = 0; u0 < units; u0 += chunk) {
    const int n = std::min(chunk, units - u0), M = n * rows;
    im2col(g, x, groups, u0, n, cols);
    // dW^T (K x O) (+)= X^col^T (K x M) dY^col (M x O)
    gemm(K, g.o, M, {cols, M, true}, {dy + std::size_t(u0) * rows, ldy, false}, dw, K, u0 > 0,
         scratch.packing);
  }
}

void gemm_input_grad(const ConvGeom& g, const float* w, const float* dy, int groups, float* dx,
                     SharedScratch& scratch) {
  const int units = groups * g.oh, K = g.c * g.k * g.k, chunk = chunk_units(g, units);
  const int ldy = groups * g.oh * g.ow * kLanes, rows = g.ow * kLanes;
  float* dcols = scratch.cols_grad.reserve(std::size_t(chunk) * rows * K);
  std::fill(dx, dx + std::size_t(groups) * g.c * g.h * g.w * kLanes, 0.0f);
  for (int u0 = 0; u0 < units; u0 += chunk) {
    const int n = std::min(chunk, units - u0), M = n * rows;
    // dX^col (M x K) = dY^col (M x O) W (O x K, row-major)
    gemm(M, K, g.o, {dy + std::size_t(u0) * rows, ldy, false}, {w, K, true}, dcols, M, false,
         scratch.packing);
    col2im(g, dcols, groups, u0, n, dx);
  }
}

}  // namespace fedgrid::nn::lanes
