// Conv2d: im2col + one GEMM per chunk of samples (batch in the long dimension), col2im for the
// input gradient, and a direct (naive) double-precision reference forward for gradient checks.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nn/gemm.hpp"
#include "nn/lanes.hpp"
#include "nn/layers.hpp"
#include "util/rng.hpp"

namespace fedgrid::nn {

namespace {

// Samples per chunk: X^col within kChunkFloats (256 KiB, so that im2col's output is still in
// the L2 cache when the GEMM reads it: small convolutions are memory-bound), but at least
// kMinRows GEMM rows (deep layers with few pixels: keeps the GEMM long and compute-bound).
// Measured on CNN2 and VGG11 (bench_throughput): 64x smaller chunks than 16 MiB ran CNN2 1.6x
// faster at batch 256, VGG11 unchanged.
constexpr std::size_t kChunkFloats = std::size_t(1) << 16;
constexpr std::size_t kMinRows = 512;

using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;

Shape conv_out_shape(Shape in, int out_channels, int kernel, int stride, int padding) {
  if (kernel <= 0 || stride <= 0 || padding < 0) {
    throw std::invalid_argument("Conv2d: kernel and stride must be positive, padding >= 0");
  }
  return Shape{out_channels, (in.h + 2 * padding - kernel) / stride + 1,
               (in.w + 2 * padding - kernel) / stride + 1};
}

// Output columns [lo, hi) whose input column ow*s + l - p lies inside [0, W).
void valid_range(int l, int stride, int padding, int width, int out_width, int& lo, int& hi) {
  const int first = padding - l;  // ow*s >= p - l
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int last = width - 1 + padding - l;  // ow*s <= W - 1 + p - l
  hi = last < 0 ? 0 : std::min(out_width, last / stride + 1);
  lo = std::min(lo, hi);
}

}  // namespace

Conv2d::Conv2d(Shape in, int out_channels, int kernel, int stride, int padding, std::size_t offset)
    : Layer(LayerKind::kConv2d, in, conv_out_shape(in, out_channels, kernel, stride, padding),
            offset),
      kernel_(kernel),
      stride_(stride),
      padding_(padding) {}

std::vector<TensorInfo> Conv2d::tensors() const {
  const double pixels = out_shape().plane();
  return {{"weight", param_offset(), weight_size(), 2.0 * double(weight_size()) * pixels, false},
          {"bias", bias_offset(), std::size_t(out_shape().c), out_shape().c * pixels, false}};
}

double Conv2d::forward_flops() const {
  return 2.0 * double(weight_size()) * out_shape().plane() + out_size();
}

double Conv2d::input_grad_flops() const {
  return 2.0 * double(weight_size()) * out_shape().plane();
}

// W and b ~ U(-1/sqrt(C k k), 1/sqrt(C k k)) (PyTorch's nn.Conv2d default), in flat order.
void Conv2d::init(float* params, util::Rng& rng) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(patch()));
  for (std::size_t k = 0; k < num_params(); ++k) {
    params[param_offset() + k] = static_cast<float>(rng.uniform(-bound, bound));
  }
}

int Conv2d::chunk_samples(int batch) const {
  const std::size_t per_sample = std::size_t(out_shape().plane()) * std::size_t(patch());
  const std::size_t pixels = std::size_t(out_shape().plane());
  std::size_t n = std::max<std::size_t>(1, kChunkFloats / std::max<std::size_t>(1, per_sample));
  n = std::max(n, (kMinRows + pixels - 1) / pixels);
  return static_cast<int>(std::min<std::size_t>(n, std::size_t(std::max(batch, 1))));
}

#if defined(__GNUC__) && !defined(__clang__)
#define FEDGRID_NO_LOOP_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define FEDGRID_NO_LOOP_PATTERNS
#endif

// X^col (M x K, column-major, M = count*P) of samples [first, first+count): column
// (c*k + i)*k + l, row j*P + oh*oW + ow = x_j[c][oh*s + i - p][ow*s + l - p] (0 outside).
// Rows are short (oW floats): plain loops, kept from becoming memmove/memset calls (call
// overhead dominated CNN2's im2col) by the attribute.
FEDGRID_NO_LOOP_PATTERNS void Conv2d::im2col(const ConstMatrixRef& in, int first, int count,
                                             float* cols) const {
  const Shape is = in_shape(), os = out_shape();
  const std::size_t M = std::size_t(count) * os.plane();
  for (int c = 0; c < is.c; ++c) {
    for (int i = 0; i < kernel_; ++i) {
      for (int l = 0; l < kernel_; ++l) {
        int lo, hi;
        valid_range(l, stride_, padding_, is.w, os.w, lo, hi);
        const int shift = l - padding_;  // ow*s + shift >= 0 for ow >= lo
        float* dst = cols + std::size_t((c * kernel_ + i) * kernel_ + l) * M;
        for (int j = 0; j < count; ++j) {
          const float* src = in.col(first + j).data() + std::size_t(c) * is.plane();
          for (int oh = 0; oh < os.h; ++oh, dst += os.w) {
            const int ih = oh * stride_ + i - padding_;
            if (ih < 0 || ih >= is.h) {
              for (int ow = 0; ow < os.w; ++ow) dst[ow] = 0.0f;
              continue;
            }
            const float* row = src + std::size_t(ih) * is.w;
            for (int ow = 0; ow < lo; ++ow) dst[ow] = 0.0f;
            if (stride_ == 1) {
              for (int ow = lo; ow < hi; ++ow) dst[ow] = row[ow + shift];
            } else {
              for (int ow = lo; ow < hi; ++ow) dst[ow] = row[ow * stride_ + shift];
            }
            for (int ow = hi; ow < os.w; ++ow) dst[ow] = 0.0f;
          }
        }
      }
    }
  }
}

// The transpose of im2col: adds every entry of dX^col to its input pixel (din columns
// [first, first+count) must be zero on entry).
void Conv2d::col2im(const float* cols, int first, int count, MatrixRef din) const {
  const Shape is = in_shape(), os = out_shape();
  const std::size_t M = std::size_t(count) * os.plane();
  for (int c = 0; c < is.c; ++c) {
    for (int i = 0; i < kernel_; ++i) {
      for (int l = 0; l < kernel_; ++l) {
        int lo, hi;
        valid_range(l, stride_, padding_, is.w, os.w, lo, hi);
        const int shift = l - padding_;
        const float* src = cols + std::size_t((c * kernel_ + i) * kernel_ + l) * M;
        for (int j = 0; j < count; ++j) {
          float* plane = din.col(first + j).data() + std::size_t(c) * is.plane();
          for (int oh = 0; oh < os.h; ++oh, src += os.w) {
            const int ih = oh * stride_ + i - padding_;
            if (ih < 0 || ih >= is.h) continue;
            float* row = plane + std::size_t(ih) * is.w;
            if (stride_ == 1) {
              for (int ow = lo; ow < hi; ++ow) row[ow + shift] += src[ow];
            } else {
              for (int ow = lo; ow < hi; ++ow) row[ow * stride_ + shift] += src[ow];
            }
          }
        }
      }
    }
  }
}

lanes::ConvGeom Conv2d::geom() const {
  const Shape is = in_shape(), os = out_shape();
  return {is.c, is.h, is.w, os.c, os.h, os.w, kernel_, stride_, padding_};
}

void Conv2d::forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
                     const LayerContext& ctx) const {
  if (ctx.lanes > 0) {
    const lanes::ConvGeom g = geom();
    lanes::conv_forward(lanes::choose(g, lanes::ConvPass::kForward), g, params + param_offset(),
                        params + bias_offset(), in.data(), lanes::groups(ctx.lanes), out.data(),
                        *ctx.shared);
    return;
  }
  const int P = out_shape().plane(), K = patch(), O = out_shape().c;
  const int B = static_cast<int>(in.cols());
  const int chunk = chunk_samples(B);
  float* cols = ctx.shared->cols.reserve(std::size_t(chunk) * P * K);
  float* ycol = ctx.shared->gemm.reserve(std::size_t(chunk) * P * O);
  const ConstMatrixMap wt(params + param_offset(), K, O);  // W^T (K x O) = row-major W
  const float* bias = params + bias_offset();
  for (int first = 0; first < B; first += chunk) {
    const int n = std::min(chunk, B - first);
    const Eigen::Index M = Eigen::Index(n) * P;
    im2col(in, first, n, cols);
    // Y^col (M x O) = X^col (M x K) W^T (K x O)
    gemm(int(M), O, K, {cols, int(M), false}, {wt.data(), K, false}, ycol, int(M), false,
         ctx.shared->packing);
    const ConstMatrixMap y(ycol, M, O);
    for (int j = 0; j < n; ++j) {
      auto col = out.col(first + j);
      for (int o = 0; o < O; ++o) {
        col.segment(Eigen::Index(o) * P, P).array() =
            y.col(o).segment(Eigen::Index(j) * P, P).array() + bias[o];
      }
    }
  }
}

void Conv2d::backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& /*out*/,
                      const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad,
                      MatrixRef din, const LayerContext& ctx) const {
  if (!needs.weight && !needs.bias && !needs.input) return;
  if (ctx.lanes > 0) {
    const lanes::ConvGeom g = geom();
    const int groups = lanes::groups(ctx.lanes);
    if (needs.weight || needs.bias) {
      lanes::conv_weight_grad(lanes::choose(g, lanes::ConvPass::kWeightGrad), g, in.data(),
                              dout.data(), groups, needs.weight ? grad + param_offset() : nullptr,
                              needs.bias ? grad + bias_offset() : nullptr, *ctx.shared);
    }
    if (needs.input) {
      lanes::conv_input_grad(lanes::choose(g, lanes::ConvPass::kInputGrad), g,
                             params + param_offset(), dout.data(), groups, din.data(), *ctx.shared);
    }
    return;
  }
  const int P = out_shape().plane(), K = patch(), O = out_shape().c;
  const int B = static_cast<int>(in.cols());
  const int chunk = chunk_samples(B);
  float* ycol = ctx.shared->gemm.reserve(std::size_t(chunk) * P * O);
  float* cols = needs.weight ? ctx.shared->cols.reserve(std::size_t(chunk) * P * K) : nullptr;
  float* dcols = needs.input ? ctx.shared->cols_grad.reserve(std::size_t(chunk) * P * K) : nullptr;
  const ConstMatrixMap wt(params + param_offset(), K, O);
  MatrixMap dwt(grad + param_offset(), K, O);  // dW^T (K x O) = row-major dW
  Eigen::Map<Vector> db(grad + bias_offset(), O);
  for (int first = 0; first < B; first += chunk) {
    const int n = std::min(chunk, B - first);
    const Eigen::Index M = Eigen::Index(n) * P;
    MatrixMap dy(ycol, M, O);  // dY^col(j*P + p, o) = dout_j[o][p]
    for (int j = 0; j < n; ++j) {
      const auto col = dout.col(first + j);
      for (int o = 0; o < O; ++o) {
        dy.col(o).segment(Eigen::Index(j) * P, P) = col.segment(Eigen::Index(o) * P, P);
      }
    }
    if (needs.bias) {
      if (first == 0) {
        db.noalias() = dy.colwise().sum().transpose();
      } else {
        db.noalias() += dy.colwise().sum().transpose();
      }
    }
    if (needs.weight) {  // dW^T (K x O) (+)= X^col^T (K x M, row-major view) dY^col (M x O)
      im2col(in, first, n, cols);
      gemm(K, O, int(M), {cols, int(M), true}, {ycol, int(M), false}, dwt.data(), K, first > 0,
           ctx.shared->packing);
    }
    if (needs.input) {  // dX^col (M x K) = dY^col (M x O) W (O x K, row-major)
      gemm(int(M), K, O, {ycol, int(M), false}, {wt.data(), K, true}, dcols, int(M), false,
           ctx.shared->packing);
      din.middleCols(first, n).setZero();
      col2im(dcols, first, n, din);
    }
  }
}

// Direct convolution in double: y_j[o][oh][ow] = b[o] + sum_{c,i,l} W[o][c][i][l] x_j[c][ih][iw].
void Conv2d::forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
                     bool /*training*/) const {
  const Shape is = in_shape(), os = out_shape();
  const double* w = params + param_offset();
  const double* b = params + bias_offset();
  out.resize(out_size(), in.cols());
  for (Eigen::Index j = 0; j < in.cols(); ++j) {
    for (int o = 0; o < os.c; ++o) {
      for (int oh = 0; oh < os.h; ++oh) {
        for (int ow = 0; ow < os.w; ++ow) {
          double sum = b[o];
          for (int c = 0; c < is.c; ++c) {
            for (int i = 0; i < kernel_; ++i) {
              const int ih = oh * stride_ + i - padding_;
              if (ih < 0 || ih >= is.h) continue;
              for (int l = 0; l < kernel_; ++l) {
                const int iw = ow * stride_ + l - padding_;
                if (iw < 0 || iw >= is.w) continue;
                sum += w[((o * is.c + c) * kernel_ + i) * kernel_ + l] *
                       in((c * is.h + ih) * is.w + iw, j);
              }
            }
          }
          out((o * os.h + oh) * os.w + ow, j) = sum;
        }
      }
    }
  }
}

}  // namespace fedgrid::nn
