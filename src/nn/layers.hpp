// Layer kinds (Dense, ReLU) and the softmax cross-entropy loss over column-per-sample batches.
// Layers own no parameters: they view slices of the model's flat parameter/gradient vectors.
#pragma once

#include <Eigen/Dense>
#include <cstddef>

#include "nn/model.hpp"

namespace fedgrid::nn {

using MatrixD = Eigen::MatrixXd;
using ConstMatrixRef = Eigen::Ref<const Matrix>;
using ConstMatrixDRef = Eigen::Ref<const MatrixD>;
// Dense weights are stored row-major (out x in), i.e. PyTorch's nn.Linear layout.
template <class Scalar>
using RowMajorMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class LayerKind { kDense, kRelu };

// Which results a backward call must produce (anything not asked for is not computed).
struct BackwardNeeds {
  bool weight = false;  // dL/dW into the gradient slice
  bool bias = false;    // dL/db into the gradient slice
  bool input = false;   // dL/d(input) into din
};

class Layer {
 public:
  Layer(LayerKind kind, int in_size, int out_size, std::size_t param_offset)
      : kind_(kind), in_size_(in_size), out_size_(out_size), param_offset_(param_offset) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  LayerKind kind() const { return kind_; }
  int in_size() const { return in_size_; }
  int out_size() const { return out_size_; }
  std::size_t param_offset() const { return param_offset_; }  // into the flat vector
  virtual std::size_t num_params() const = 0;
  virtual double forward_flops() const = 0;  // per sample

  // out (out_size x B) = f(in (in_size x B)); `params` is the start of the flat vector.
  // out must already have the right shape (the Model sizes its workspace once).
  virtual void forward(const float* params, const ConstMatrixRef& in, Matrix& out) const = 0;
  // The same in double: the reference used by gradient checks (slow path, may allocate).
  virtual void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out) const = 0;
  // Given in, out = f(in) and dout = dL/dout (out_size x B), writes the requested results:
  // parameter gradients into `grad` (start of the flat gradient, at this layer's offsets) and
  // dL/din (in_size x B, pre-sized) into din.
  virtual void backward(const float* params, const ConstMatrixRef& in, const Matrix& out,
                        const Matrix& dout, const BackwardNeeds& needs, float* grad,
                        Matrix& din) const = 0;

 private:
  LayerKind kind_;
  int in_size_;
  int out_size_;
  std::size_t param_offset_;
};

// y = W x + b with W (out x in, row-major) at param_offset and b (out) right after it.
// Backward: dW = dY X^T, db = dY 1 (row sums), dX = W^T dY.
class Dense final : public Layer {
 public:
  Dense(int in_size, int out_size, std::size_t param_offset)
      : Layer(LayerKind::kDense, in_size, out_size, param_offset) {}
  std::size_t weight_size() const { return std::size_t(in_size()) * std::size_t(out_size()); }
  std::size_t bias_offset() const { return param_offset() + weight_size(); }
  std::size_t num_params() const override { return weight_size() + std::size_t(out_size()); }
  double forward_flops() const override { return 2.0 * weight_size() + out_size(); }
  void forward(const float* params, const ConstMatrixRef& in, Matrix& out) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out) const override;
  void backward(const float* params, const ConstMatrixRef& in, const Matrix& out,
                const Matrix& dout, const BackwardNeeds& needs, float* grad,
                Matrix& din) const override;
};

// y = max(x, 0) elementwise (in_size == out_size). Backward: dx = dy * [y > 0] (0 at the kink).
class Relu final : public Layer {
 public:
  explicit Relu(int size) : Layer(LayerKind::kRelu, size, size, 0) {}
  std::size_t num_params() const override { return 0; }
  double forward_flops() const override { return out_size(); }
  void forward(const float* params, const ConstMatrixRef& in, Matrix& out) const override;
  void forward(const double* params, const ConstMatrixDRef& in, MatrixD& out) const override;
  void backward(const float* params, const ConstMatrixRef& in, const Matrix& out,
                const Matrix& dout, const BackwardNeeds& needs, float* grad,
                Matrix& din) const override;
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
