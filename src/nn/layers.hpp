// Layer kinds (Dense, ReLU, Conv2d, MaxPool2d, Flatten, BatchNorm) and the softmax cross-entropy
// loss over column-per-sample batches. Layers own no parameters: they view slices of the model's
// flat parameter/gradient vectors. An image activation's column holds C*H*W values in C, H, W
// row-major order (PyTorch's flatten order); flat activations have shape (features, 1, 1).
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <string>
#include <vector>

#include "nn/model.hpp"

namespace fedgrid::util {
class Rng;
}

namespace fedgrid::nn {

namespace lanes {
struct ConvGeom;
}

using MatrixD = Eigen::MatrixXd;
using ConstMatrixRef = Eigen::Ref<const Matrix>;
using MatrixRef = Eigen::Ref<Matrix>;
using ConstMatrixDRef = Eigen::Ref<const MatrixD>;
// Dense and conv weights are stored row-major (out x in, out x C*k*k), i.e. PyTorch's layouts.
template <class Scalar>
using RowMajorMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class LayerKind { kDense, kRelu, kConv2d, kMaxPool, kFlatten, kBatchNorm };

// Shape of one sample's activation: channels x height x width (flat: features x 1 x 1).
struct Shape {
  int c = 0, h = 1, w = 1;
  int size() const { return c * h * w; }
  int plane() const { return h * w; }
  bool flat() const { return h == 1 && w == 1; }
};

// Which results a backward call must produce (anything not asked for is not computed).
struct BackwardNeeds {
  bool weight = false;  // dL/dW into the gradient slice
  bool bias = false;    // dL/db into the gradient slice
  bool input = false;   // dL/d(input) into din
};

// A parameter tensor of a layer (for the stage table).
struct TensorInfo {
  std::string name;  // "weight", "bias", "running_mean", "running_var"
  std::size_t offset = 0;
  std::size_t size = 0;
  double grad_flops = 0;   // backward FLOPs per sample of its gradient
  bool statistic = false;  // a running statistic, not trained
};

// Buffers a call may use: this layer's saved state and the workspace's shared scratch.
struct LayerContext {
  bool training = false;  // BatchNorm: batch statistics (true) or running ones (false)
  LayerScratch* own = nullptr;
  SharedScratch* shared = nullptr;
  // > 0: the input is in the lane layout (nn/lanes.hpp) for a batch of `lanes` samples, its
  // matrix padded to lanes::padded(lanes) columns; so is the output, except Flatten's (columns).
  int lanes = 0;
};

class Layer {
 public:
  Layer(LayerKind kind, Shape in, Shape out, std::size_t param_offset)
      : kind_(kind), in_(in), out_(out), param_offset_(param_offset) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  LayerKind kind() const { return kind_; }
  Shape in_shape() const { return in_; }
  Shape out_shape() const { return out_; }
  int in_size() const { return in_.size(); }
  int out_size() const { return out_.size(); }
  std::size_t param_offset() const { return param_offset_; }  // into the flat vector
  virtual std::size_t num_params() const { return 0; }
  virtual std::vector<TensorInfo> tensors() const { return {}; }
  virtual double forward_flops() const = 0;     // per sample
  virtual double input_grad_flops() const = 0;  // per sample, dL/d(input)
  // May write its output over its input's buffer (the model then shares the buffer).
  virtual bool in_place() const { return false; }
  // Writes the initial values of its parameters (flat-vector order).
  virtual void init(float* /*params*/, util::Rng& /*rng*/) const {}

  // out (out_size x B, pre-sized) = f(in (in_size x B)); `params` is the start of the flat
  // vector. In-place layers accept out and in sharing storage.
  virtual void forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
                       const LayerContext& ctx) const = 0;
  // The same in double: the reference used by gradient checks (slow path, may allocate).
  virtual void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
                       bool training) const = 0;
  // Given in, out = f(in) and dout = dL/dout (out_size x B), writes the requested results:
  // parameter gradients into `grad` (start of the flat gradient, at this layer's offsets) and
  // dL/din (in_size x B, pre-sized) into din. Only ReLU reads `out`; the others may be given an
  // `out` already overwritten by a following in-place layer.
  virtual void backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                        const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad,
                        MatrixRef din, const LayerContext& ctx) const = 0;

 private:
  LayerKind kind_;
  Shape in_, out_;
  std::size_t param_offset_;
};

// y = W x + b with W (out x in, row-major) at param_offset and b (out) right after it.
// Backward: dW = dY X^T, db = dY 1 (row sums), dX = W^T dY.
class Dense final : public Layer {
 public:
  Dense(int in_size, int out_size, std::size_t param_offset)
      : Layer(LayerKind::kDense, Shape{in_size}, Shape{out_size}, param_offset) {}
  std::size_t weight_size() const { return std::size_t(in_size()) * std::size_t(out_size()); }
  std::size_t bias_offset() const { return param_offset() + weight_size(); }
  std::size_t num_params() const override { return weight_size() + std::size_t(out_size()); }
  std::vector<TensorInfo> tensors() const override;
  double forward_flops() const override { return 2.0 * weight_size() + out_size(); }
  double input_grad_flops() const override { return 2.0 * weight_size(); }
  void init(float* params, util::Rng& rng) const override;
  void forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
               const LayerContext& ctx) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
               bool training) const override;
  void backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad, MatrixRef din,
                const LayerContext& ctx) const override;
};

// y = max(x, 0) elementwise (any shape, in place). Backward: dx = dy * [y > 0] (0 at the kink).
class Relu final : public Layer {
 public:
  explicit Relu(int size) : Relu(Shape{size}) {}
  explicit Relu(Shape shape) : Layer(LayerKind::kRelu, shape, shape, 0) {}
  double forward_flops() const override { return out_size(); }
  double input_grad_flops() const override { return out_size(); }
  bool in_place() const override { return true; }
  void forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
               const LayerContext& ctx) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
               bool training) const override;
  void backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad, MatrixRef din,
                const LayerContext& ctx) const override;
};

// (C, H, W) -> (C*H*W, 1, 1): the same values (a column keeps its order), so it is in place.
class Flatten final : public Layer {
 public:
  explicit Flatten(Shape in) : Layer(LayerKind::kFlatten, in, Shape{in.size()}, 0) {}
  double forward_flops() const override { return 0; }
  double input_grad_flops() const override { return 0; }
  bool in_place() const override { return true; }
  void forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
               const LayerContext& ctx) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
               bool training) const override;
  void backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad, MatrixRef din,
                const LayerContext& ctx) const override;
};

// Max over k x k windows with stride s, no padding: (C, H, W) -> (C, (H-k)/s+1, (W-k)/s+1).
// Backward: dx gets dy at the window's first maximal entry (row-major order, as PyTorch's CPU
// kernel), recomputed from the input; overlapping windows accumulate.
class MaxPool2d final : public Layer {
 public:
  MaxPool2d(Shape in, int kernel, int stride);
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  double forward_flops() const override { return double(out_size()) * kernel_ * kernel_; }
  double input_grad_flops() const override { return double(out_size()) * kernel_ * kernel_; }
  void forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
               const LayerContext& ctx) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
               bool training) const override;
  void backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad, MatrixRef din,
                const LayerContext& ctx) const override;

 private:
  int kernel_, stride_;
};

// 2-D convolution (cross-correlation, as PyTorch) of (C, H, W) with O filters (C, k, k), stride
// s, zero padding p: out (O, oH, oW), oH = (H + 2p - k)/s + 1. Parameters: W (O x C*k*k,
// row-major = PyTorch's (O, C, kh, kw)) then b (O).
// With P = oH*oW output pixels and K = C*k*k, per chunk of n samples (M = n*P rows):
//   im2col:  X^col (M x K), X^col(j*P + p, (c*k + i)*k + l) = x_j[c][oh*s + i - p][ow*s + l - p]
//   forward: Y^col (M x O) = X^col W^T, then y_j[o][p] = Y^col(j*P + p, o) + b[o]
//   backward: dW = dY^col^T X^col (M long), db = 1^T dY^col, dX^col = dY^col W -> col2im (adds).
// The chunk keeps X^col within a few MB (shared scratch), the batch stays in the long dimension.
class Conv2d final : public Layer {
 public:
  Conv2d(Shape in, int out_channels, int kernel, int stride, int padding, std::size_t offset);
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return padding_; }
  int patch() const { return in_shape().c * kernel_ * kernel_; }  // K = C*k*k
  std::size_t weight_size() const { return std::size_t(out_shape().c) * std::size_t(patch()); }
  std::size_t bias_offset() const { return param_offset() + weight_size(); }
  std::size_t num_params() const override { return weight_size() + std::size_t(out_shape().c); }
  std::vector<TensorInfo> tensors() const override;
  double forward_flops() const override;
  double input_grad_flops() const override;
  void init(float* params, util::Rng& rng) const override;
  void forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
               const LayerContext& ctx) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
               bool training) const override;
  void backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad, MatrixRef din,
                const LayerContext& ctx) const override;
  // Samples per im2col chunk for a batch of `batch`.
  int chunk_samples(int batch) const;
  lanes::ConvGeom geom() const;  // the shape for the lane kernels

 private:
  void im2col(const ConstMatrixRef& in, int first, int count, float* cols) const;
  void col2im(const float* cols, int first, int count, MatrixRef din) const;
  int kernel_, stride_, padding_;
};

// Batch normalisation over (C, H, W) per channel c (flat input: per feature), N = B*H*W values:
//   training: mu_c, var_c = mean and biased variance of the batch; eval: running mean/var.
//   xhat = (x - mu_c) / sqrt(var_c + eps), y = gamma_c xhat + beta_c.
//   Backward (training): dbeta = sum dy, dgamma = sum dy xhat,
//   dx = gamma_c / sqrt(var_c + eps) * (dy - dbeta/N - xhat dgamma/N).
// Parameters: gamma (C), beta (C), running_mean (C), running_var (C, statistics). The running
// statistics' pseudo-gradient is old - new with new = (1 - m) old + m batch (momentum m = 0.1,
// the running variance uses the unbiased batch variance var N/(N-1)), see statistics_update.
class BatchNorm final : public Layer {
 public:
  static constexpr double kEps = 1e-5;
  static constexpr double kMomentum = 0.1;
  BatchNorm(Shape in, std::size_t offset) : Layer(LayerKind::kBatchNorm, in, in, offset) {}
  std::size_t channels() const { return std::size_t(in_shape().c); }
  std::size_t num_params() const override { return 4 * channels(); }
  std::vector<TensorInfo> tensors() const override;
  double forward_flops() const override { return 4.0 * out_size(); }
  double input_grad_flops() const override { return 5.0 * out_size(); }
  void init(float* params, util::Rng& rng) const override;
  void forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
               const LayerContext& ctx) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
               bool training) const override;
  void backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad, MatrixRef din,
                const LayerContext& ctx) const override;
  // After a training forward with `own` over a batch of `batch` samples: writes old - new into
  // grad for the running mean and/or variance.
  void statistics_update(const float* params, const LayerScratch& own, int batch, bool mean,
                         bool var, float* grad) const;

 private:
  // The same in the lane layout (norm_lanes.cpp), ctx.lanes samples.
  void forward_lanes(const float* params, const float* in, float* out,
                     const LayerContext& ctx) const;
  void backward_lanes(const float* params, const float* in, const float* dout,
                      const BackwardNeeds& needs, float* grad, float* din,
                      const LayerContext& ctx) const;
};

// Mean softmax cross-entropy of logits Z (C x B) against labels y[0..B) (each in [0, C)):
//   L = (1/B) sum_j [ logsumexp(Z(:,j)) - Z(y_j, j) ],  logsumexp computed as m + log sum exp(z -
//   m) with m the column max (no overflow). dL/dZ = (softmax(Z) - onehot(y)) / B.
// `probs` receives dL/dZ when want_gradient, else exp(Z - column max) (unnormalised);
// col_max/col_sum are scratch (1 x B).
// Returns the mean loss (accumulated in double). No allocation when the buffers are sized.
template <class Scalar>
double softmax_cross_entropy(const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& logits,
                             const int* y,
                             Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& probs,
                             Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& col_max,
                             Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& col_sum, bool want_gradient);

extern template double softmax_cross_entropy<float>(const Matrix&, const int*, Matrix&,
                                                    Eigen::RowVectorXf&, Eigen::RowVectorXf&, bool);
extern template double softmax_cross_entropy<double>(const MatrixD&, const int*, MatrixD&,
                                                     Eigen::RowVectorXd&, Eigen::RowVectorXd&,
                                                     bool);

}  // namespace fedgrid::nn
