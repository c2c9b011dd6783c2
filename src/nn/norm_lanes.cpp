// BatchNorm in the lane layout: the same statistics and gradients as pool_norm.cpp's column path
// over the real lanes only (padding lanes are excluded from the sums and get a zero gradient).
#include <algorithm>
#include <cmath>

#include "nn/lanes.hpp"
#include "nn/layers.hpp"

namespace fedgrid::nn {

void BatchNorm::forward_lanes(const float* params, const float* in, float* out,
                              const LayerContext& ctx) const {
  const int C = in_shape().c, P = in_shape().plane(), B = ctx.lanes;
  const float* gamma = params + param_offset();
  const float* beta = gamma + C;
  LayerScratch& s = *ctx.own;
  s.coef.resize(3 * C);  // the size backward_lanes uses: no reallocation between them
  s.acc.resize(C);
  s.acc2.resize(C);
  if (ctx.training) {
    s.mean.resize(C);
    s.var.resize(C);
    s.inv_std.resize(C);
    const double n = double(B) * P;
    lanes::channel_sums(in, nullptr, C, P, B, nullptr, s.acc.data(), nullptr);
    for (int c = 0; c < C; ++c) s.mean[c] = static_cast<float>(s.acc[c] / n);
    lanes::channel_sums(in, nullptr, C, P, B, s.mean.data(), s.acc.data(), s.acc2.data());
    for (int c = 0; c < C; ++c) {
      s.var[c] = static_cast<float>(s.acc2[c] / n);
      s.inv_std[c] = static_cast<float>(1.0 / std::sqrt(s.acc2[c] / n + kEps));
    }
  }
  const float* rmean = beta + C;
  const float* rvar = rmean + C;
  for (int c = 0; c < C; ++c) {
    const float mean = ctx.training ? s.mean[c] : rmean[c];
    const float inv_std = ctx.training
                              ? s.inv_std[c]
                              : static_cast<float>(1.0 / std::sqrt(std::max(rvar[c], 0.0f) + kEps));
    const float a = gamma[c] * inv_std;
    s.coef[c] = a;
    s.coef[C + c] = beta[c] - mean * a;
  }
  lanes::channel_affine(in, s.coef.data(), s.coef.data() + C, C, P, B, out);
}

// Uses the batch statistics saved by the training forward in ctx.own.
void BatchNorm::backward_lanes(const float* params, const float* in, const float* dout,
                               const BackwardNeeds& needs, float* grad, float* din,
                               const LayerContext& ctx) const {
  const int C = in_shape().c, P = in_shape().plane(), B = ctx.lanes;
  LayerScratch& s = *ctx.own;
  s.acc.resize(C);
  s.acc2.resize(C);
  // acc = sum dy, acc2 = sum dy (x - mean) (padding lanes of dy are 0)
  lanes::channel_sums(in, dout, C, P, B, s.mean.data(), s.acc.data(), s.acc2.data());
  for (int c = 0; c < C; ++c) {
    if (needs.weight) grad[param_offset() + c] = static_cast<float>(s.acc2[c] * s.inv_std[c]);
    if (needs.bias) grad[param_offset() + C + c] = static_cast<float>(s.acc[c]);
  }
  if (!needs.input) return;
  const float* gamma = params + param_offset();
  const double n = double(B) * P;
  s.coef.resize(3 * C);
  for (int c = 0; c < C; ++c) {
    // dx = a dy - a dbeta/N - a inv_std dgamma/N (x - mean), a = gamma inv_std
    const double a = double(gamma[c]) * s.inv_std[c];
    s.coef[c] = static_cast<float>(a);
    s.coef[C + c] = static_cast<float>(a * s.acc[c] / n);
    s.coef[2 * C + c] = static_cast<float>(a * s.inv_std[c] * s.acc2[c] * s.inv_std[c] / n);
  }
  lanes::batchnorm_input_grad(in, dout, s.mean.data(), s.coef.data(), s.coef.data() + C,
                              s.coef.data() + 2 * C, C, P, B, din);
}

}  // namespace fedgrid::nn
