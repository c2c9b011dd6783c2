// The lane layout of image activations (batch folded into 16-float vectors) and its kernels:
// direct convolution (register-blocked over output channels and pixels), its gradients, max
// pooling and batch normalisation. Conv, pool, BatchNorm and ReLU layers use it when the model
// runs its image layers in lanes (Model::lanes_layers); see docs in model.hpp.
#pragma once

#include <cstddef>
#include <cstring>

#include "nn/model.hpp"

namespace fedgrid::nn::lanes {

// A batch of B samples of shape (C, H, W) is G = ceil(B/16) groups of 16 lanes (lanes past B are
// padding: zero input, zero gradient), stored [C][G][H][W][16]: value (sample g*16 + l, channel
// c, pixel p) at ((c*G + g)*P + p)*16 + l. Each channel's block is contiguous, so the batch folds
// into the long dimension of a product, and every kernel works on whole 16-float vectors.
constexpr int kLanes = 16;
inline int groups(int batch) { return (batch + kLanes - 1) / kLanes; }
inline int padded(int batch) { return groups(batch) * kLanes; }

// Columns (size x B, one sample per column, C, H, W order) <-> lanes; `out` of from_lanes gets B
// columns, to_lanes writes zero padding lanes.
// `ld`: floats between consecutive columns.
void to_lanes(const float* cols, std::size_t ld, int channels, int plane, int batch, float* out);
void from_lanes(const float* in, int channels, int plane, int batch, float* cols);

// One convolution's shape: input (c, h, w), output (o, oh, ow), kernel k, stride s, padding p.
struct ConvGeom {
  int c, h, w, o, oh, ow, k, s, p;
};

// Which kernel computes a convolution's forward and input gradient: direct (below) or im2col in
// lanes + one GEMM (lanes_gemm.cpp). Chosen per layer by shape (see choose()).
enum class ConvAlgo { kDirect, kGemm };
enum class ConvPass { kForward, kWeightGrad, kInputGrad };
ConvAlgo choose(const ConvGeom& g, ConvPass pass);

// Tests and bench_limit: 0 = by shape (choose), 1 = always direct, 2 = always GEMM.
void set_conv_policy(int policy);

// y (lanes, G groups) = conv(x) + bias (bias may be null).
void conv_forward(ConvAlgo algo, const ConvGeom& g, const float* w, const float* bias,
                  const float* x, int groups, float* y, SharedScratch& scratch);
// dW (row-major O x C*k*k) and db (O) from x and dy over all lanes (either may be null).
void conv_weight_grad(ConvAlgo algo, const ConvGeom& g, const float* x, const float* dy, int groups,
                      float* dw, float* db, SharedScratch& scratch);
// dx (lanes) = the transpose of the convolution applied to dy.
void conv_input_grad(ConvAlgo algo, const ConvGeom& g, const float* w, const float* dy, int groups,
                     float* dx, SharedScratch& scratch);

// The GEMM variants (lanes_gemm.cpp), called by the dispatchers above.
void gemm_forward(const ConvGeom& g, const float* w, const float* bias, const float* x, int groups,
                  float* y, SharedScratch& scratch);
void gemm_weight_grad(const ConvGeom& g, const float* x, const float* dy, int groups, float* dw,
                      SharedScratch& scratch);
void gemm_input_grad(const ConvGeom& g, const float* w, const float* dy, int groups, float* dx,
                     SharedScratch& scratch);

// Max pooling k x k stride s over (c, h, w) -> (c, oh, ow); backward recomputes each window's
// first maximum (NaN wins), as the column path, and adds dy there.
void pool_forward(int c, int h, int w, int k, int s, const float* x, int groups, float* y);
void pool_backward(int c, int h, int w, int k, int s, const float* x, const float* dy, int groups,
                   float* dx);

// Per channel sums over the real lanes (samples < batch) of a channel block: sum x and, when
// `center` is given, sum (x - center[c])^2 / sum dy (x - center[c]) (see the callers).
void channel_sums(const float* x, const float* dy, int channels, int plane, int batch,
                  const float* center, double* sum, double* prod);
// y = x a_c + b_c for every channel (all lanes).
void channel_affine(const float* x, const float* a, const float* b, int channels, int plane,
                    int batch, float* y);
// dx = k0_c dy - k1_c - (x - mean_c) k2_c, padding lanes 0.
void batchnorm_input_grad(const float* x, const float* dy, const float* mean, const float* k0,
                          const float* k1, const float* k2, int channels, int plane, int batch,
                          float* dx);

}  // namespace fedgrid::nn::lanes
