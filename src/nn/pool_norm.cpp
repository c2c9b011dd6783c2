// MaxPool2d and BatchNorm forward/backward (float hot path, double reference for gradient checks),
// and BatchNorm's running-statistics pseudo-gradient.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "nn/lanes.hpp"
#include "nn/layers.hpp"

namespace fedgrid::nn {

namespace {

Shape pool_out_shape(Shape in, int kernel, int stride) {
  if (kernel <= 0 || stride <= 0) {
    throw std::invalid_argument("MaxPool2d: kernel and stride must be positive");
  }
  return Shape{in.c, (in.h - kernel) / stride + 1, (in.w - kernel) / stride + 1};
}

// Offset (within a channel plane) of the first maximal entry of the window at (oh, ow); NaN
// wins, as in PyTorch.
template <class Scalar>
int window_argmax(const Scalar* plane, int width, int kernel, int stride, int oh, int ow) {
  int best = oh * stride * width + ow * stride;
  Scalar m = plane[best];
  for (int i = 0; i < kernel; ++i) {
    for (int l = 0; l < kernel; ++l) {
      const int idx = (oh * stride + i) * width + ow * stride + l;
      const Scalar v = plane[idx];
      if (v > m || std::isnan(v)) {
        m = v;
        best = idx;
        if (std::isnan(v)) return best;
      }
    }
  }
  return best;
}

// One output row of a 2x2 stride-2 pool: rows r0, r1 of the input plane (offset `at` of r0 in
// the column), maxima into out[0..n) and their column offsets into index (same first-maximum
// and NaN rule). Written with selects only, so that the compiler vectorises it.
template <bool kIndex>
inline void pool_row_2x2(const float* r0, const float* r1, int at, int width, int n, float* out,
                         int32_t* index) {
  for (int ow = 0; ow < n; ++ow) {
    const float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
    const int i = at + 2 * ow;
    const bool tb = (b > a) | (b != b);
    float m = tb ? b : a;
    int best = tb ? i + 1 : i;
    const bool tc = (c > m) | (c != c);
    m = tc ? c : m;
    best = tc ? i + width : best;
    const bool td = (d > m) | (d != d);
    out[ow] = td ? d : m;
    if constexpr (kIndex) index[ow] = td ? i + width + 1 : best;
  }
}

// out = window maxima; `index` (when not null) receives each output's argmax within the column.
template <class Scalar, class In, class Out>
void pool_forward(const MaxPool2d& layer, const In& in, Out& out, int32_t* index) {
  const Shape is = layer.in_shape(), os = layer.out_shape();
  for (Eigen::Index j = 0; j < in.cols(); ++j) {
    const Scalar* col = in.col(j).data();
    Scalar* dst = out.col(j).data();
    for (int c = 0; c < is.c; ++c) {
      const int base = c * is.plane();
      const Scalar* plane = col + base;
      for (int oh = 0; oh < os.h; ++oh) {
        if constexpr (std::is_same_v<Scalar, float>) {
          if (layer.kernel() == 2 && layer.stride() == 2) {
            const Scalar* r0 = plane + 2 * oh * is.w;
            const int at = base + 2 * oh * is.w;
            if (index) {
              pool_row_2x2<true>(r0, r0 + is.w, at, is.w, os.w, dst, index);
              index += os.w;
            } else {
              pool_row_2x2<false>(r0, r0 + is.w, at, is.w, os.w, dst, nullptr);
            }
            dst += os.w;
            continue;
          }
        }
        for (int ow = 0; ow < os.w; ++ow) {
          const int a = window_argmax(plane, is.w, layer.kernel(), layer.stride(), oh, ow);
          *dst++ = plane[a];
          if (index) *index++ = base + a;
        }
      }
    }
  }
}

}  // namespace

MaxPool2d::MaxPool2d(Shape in, int kernel, int stride)
    : Layer(LayerKind::kMaxPool, in, pool_out_shape(in, kernel, stride), 0),
      kernel_(kernel),
      stride_(stride) {}

// Training calls keep every output's argmax in ctx.own->index for the backward pass.
void MaxPool2d::forward(const float* /*params*/, const ConstMatrixRef& in, MatrixRef out,
                        const LayerContext& ctx) const {
  if (ctx.lanes > 0) {
    const Shape is = in_shape();
    lanes::pool_forward(is.c, is.h, is.w, kernel_, stride_, in.data(), lanes::groups(ctx.lanes),
                        out.data());
    return;
  }
  int32_t* index = nullptr;
  if (ctx.training && ctx.own) {
    ctx.own->index.resize(std::size_t(out_size()) * std::size_t(in.cols()));
    index = ctx.own->index.data();
  }
  pool_forward<float>(*this, in, out, index);
}

void MaxPool2d::forward(const double* /*params*/, const ConstMatrixDRef& in, MatrixD& out,
                        bool /*training*/) const {
  out.resize(out_size(), in.cols());
  pool_forward<double>(*this, in, out, nullptr);
}

// dx = sum over windows of dy at the window's argmax: the one saved by the training forward
// (ctx.own->index), else recomputed from the input.
void MaxPool2d::backward(const float* /*params*/, const ConstMatrixRef& in,
                         const ConstMatrixRef& /*out*/, const ConstMatrixRef& dout,
                         const BackwardNeeds& needs, float* /*grad*/, MatrixRef din,
                         const LayerContext& ctx) const {
  if (!needs.input) return;
  const Shape is = in_shape(), os = out_shape();
  if (ctx.lanes > 0) {
    lanes::pool_backward(is.c, is.h, is.w, kernel_, stride_, in.data(), dout.data(),
                         lanes::groups(ctx.lanes), din.data());
    return;
  }
  const std::size_t n = std::size_t(out_size());
  const bool saved = ctx.own && ctx.own->index.size() == n * std::size_t(in.cols());
  din.setZero();
  for (Eigen::Index j = 0; j < in.cols(); ++j) {
    float* dcol = din.col(j).data();
    const float* dy = dout.col(j).data();
    if (saved) {
      const int32_t* index = ctx.own->index.data() + std::size_t(j) * n;
      for (std::size_t o = 0; o < n; ++o) dcol[index[o]] += dy[o];
      continue;
    }
    for (int c = 0; c < is.c; ++c) {
      const float* plane = in.col(j).data() + std::size_t(c) * is.plane();
      float* dplane = dcol + std::size_t(c) * is.plane();
      for (int oh = 0; oh < os.h; ++oh) {
        for (int ow = 0; ow < os.w; ++ow) {
          dplane[window_argmax(plane, is.w, kernel_, stride_, oh, ow)] += *dy++;
        }
      }
    }
  }
}

std::vector<TensorInfo> BatchNorm::tensors() const {
  const std::size_t C = channels(), off = param_offset();
  const double n = out_size();
  return {{"weight", off, C, 2.0 * n, false},
          {"bias", off + C, C, n, false},
          {"running_mean", off + 2 * C, C, 0.0, true},
          {"running_var", off + 3 * C, C, 0.0, true}};
}

// PyTorch's defaults: gamma 1, beta 0, running mean 0, running variance 1 (no random draws).
void BatchNorm::init(float* params, util::Rng& /*rng*/) const {
  const std::size_t C = channels();
  float* p = params + param_offset();
  std::fill(p, p + C, 1.0f);
  std::fill(p + C, p + 3 * C, 0.0f);
  std::fill(p + 3 * C, p + 4 * C, 1.0f);
}

// Training: per channel mean and biased variance (two passes, double accumulators) into `own`;
// evaluation: running statistics (a negative running variance is taken as 0).
void BatchNorm::forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
                        const LayerContext& ctx) const {
  const int C = in_shape().c, P = in_shape().plane();
  const Eigen::Index B = in.cols();
  const float* gamma = params + param_offset();
  const float* beta = gamma + C;
  if (ctx.lanes > 0) {
    forward_lanes(params, in.data(), out.data(), ctx);
    return;
  }
  if (ctx.training) {
    LayerScratch& s = *ctx.own;
    s.acc.setZero(C);
    s.acc2.setZero(C);
    s.mean.resize(C);
    s.var.resize(C);
    s.inv_std.resize(C);
    const double n = double(B) * P;
    for (Eigen::Index j = 0; j < B; ++j) {
      for (int c = 0; c < C; ++c) s.acc[c] += in.col(j).segment(Eigen::Index(c) * P, P).sum();
    }
    for (int c = 0; c < C; ++c) s.mean[c] = static_cast<float>(s.acc[c] / n);
    for (Eigen::Index j = 0; j < B; ++j) {
      for (int c = 0; c < C; ++c) {
        s.acc2[c] += (in.col(j).segment(Eigen::Index(c) * P, P).array() - s.mean[c]).square().sum();
      }
    }
    for (int c = 0; c < C; ++c) {
      s.var[c] = static_cast<float>(s.acc2[c] / n);
      s.inv_std[c] = static_cast<float>(1.0 / std::sqrt(s.acc2[c] / n + kEps));
    }
  }
  const float* rmean = beta + C;
  const float* rvar = rmean + C;
  for (Eigen::Index j = 0; j < B; ++j) {
    for (int c = 0; c < C; ++c) {
      const float mean = ctx.training ? ctx.own->mean[c] : rmean[c];
      const float inv_std =
          ctx.training ? ctx.own->inv_std[c]
                       : static_cast<float>(1.0 / std::sqrt(std::max(rvar[c], 0.0f) + kEps));
      const float a = gamma[c] * inv_std, shift = beta[c] - mean * a;
      out.col(j).segment(Eigen::Index(c) * P, P).array() =
          in.col(j).segment(Eigen::Index(c) * P, P).array() * a + shift;
    }
  }
}

void BatchNorm::forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
                        bool training) const {
  const int C = in_shape().c, P = in_shape().plane();
  const Eigen::Index B = in.cols();
  const double* gamma = params + param_offset();
  const double* beta = gamma + C;
  out.resize(in.rows(), B);
  for (int c = 0; c < C; ++c) {
    double mean = beta[C + c], var = std::max(beta[2 * C + c], 0.0);
    if (training) {
      double sum = 0, sq = 0;
      for (Eigen::Index j = 0; j < B; ++j) sum += in.col(j).segment(c * P, P).sum();
      mean = sum / (double(B) * P);
      for (Eigen::Index j = 0; j < B; ++j) {
        sq += (in.col(j).segment(c * P, P).array() - mean).square().sum();
      }
      var = sq / (double(B) * P);
    }
    const double a = gamma[c] / std::sqrt(var + kEps);
    for (Eigen::Index j = 0; j < B; ++j) {
      out.col(j).segment(c * P, P).array() =
          (in.col(j).segment(c * P, P).array() - mean) * a + beta[c];
    }
  }
}

// Uses the batch statistics saved by the training forward in ctx.own.
void BatchNorm::backward(const float* params, const ConstMatrixRef& in,
                         const ConstMatrixRef& /*out*/, const ConstMatrixRef& dout,
                         const BackwardNeeds& needs, float* grad, MatrixRef din,
                         const LayerContext& ctx) const {
  if (!needs.weight && !needs.bias && !needs.input) return;
  if (ctx.lanes > 0) {
    backward_lanes(params, in.data(), dout.data(), needs, grad, din.data(), ctx);
    return;
  }
  const int C = in_shape().c, P = in_shape().plane();
  const Eigen::Index B = in.cols();
  LayerScratch& s = *ctx.own;
  s.acc.setZero(C);   // sum dy
  s.acc2.setZero(C);  // sum dy (x - mean)
  for (Eigen::Index j = 0; j < B; ++j) {
    for (int c = 0; c < C; ++c) {
      const auto dy = dout.col(j).segment(Eigen::Index(c) * P, P);
      s.acc[c] += dy.sum();
      s.acc2[c] +=
          (dy.array() * (in.col(j).segment(Eigen::Index(c) * P, P).array() - s.mean[c])).sum();
    }
  }
  const float* gamma = params + param_offset();
  for (int c = 0; c < C; ++c) {
    if (needs.weight) grad[param_offset() + c] = static_cast<float>(s.acc2[c] * s.inv_std[c]);
    if (needs.bias) grad[param_offset() + C + c] = static_cast<float>(s.acc[c]);
  }
  if (!needs.input) return;
  const double n = double(B) * P;
  for (Eigen::Index j = 0; j < B; ++j) {
    for (int c = 0; c < C; ++c) {
      // dx = a dy - a dbeta/N - a inv_std dgamma/N (x - mean), a = gamma inv_std
      const double a = double(gamma[c]) * s.inv_std[c];
      const float k0 = static_cast<float>(a), k1 = static_cast<float>(a * s.acc[c] / n);
      const float k2 = static_cast<float>(a * s.inv_std[c] * s.acc2[c] * s.inv_std[c] / n);
      din.col(j).segment(Eigen::Index(c) * P, P).array() =
          dout.col(j).segment(Eigen::Index(c) * P, P).array() * k0 - k1 -
          (in.col(j).segment(Eigen::Index(c) * P, P).array() - s.mean[c]) * k2;
    }
  }
}

// new = (1 - m) old + m batch, so old - new = m (old - batch); the running variance follows the
// unbiased batch variance var N/(N-1) (var itself when N = 1).
void BatchNorm::statistics_update(const float* params, const LayerScratch& own, int batch,
                                  bool mean, bool var, float* grad) const {
  const std::size_t C = channels();
  const std::size_t off = param_offset() + 2 * C;
  const double n = double(batch) * in_shape().plane();
  const double unbias = n > 1 ? n / (n - 1) : 1.0;
  for (std::size_t c = 0; c < C; ++c) {
    if (mean) grad[off + c] = static_cast<float>(kMomentum * (params[off + c] - own.mean[c]));
    if (var) {
      grad[off + C + c] =
          static_cast<float>(kMomentum * (params[off + C + c] - own.var[c] * unbias));
    }
  }
}

}  // namespace fedgrid::nn
