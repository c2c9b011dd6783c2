// Dense, ReLU and Flatten forward/backward over Eigen maps of the flat vectors, and softmax
// cross-entropy.
#include "nn/layers.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "nn/lanes.hpp"
#include "util/rng.hpp"

namespace fedgrid::nn {

namespace {

template <class Scalar>
using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <class Scalar>
using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

// Y (out x B) = W (out x in) X (in x B) + b 1^T. Shared by the float (hot) and double
// (reference, gradient checks) paths.
template <class Scalar, class Out>
void dense_forward(const Dense& layer, const Scalar* params,
                   const Eigen::Ref<const Mat<Scalar>>& in, Out& out) {
  const Eigen::Map<const RowMajorMatrix<Scalar>> w(params + layer.param_offset(), layer.out_size(),
                                                   layer.in_size());
  const Eigen::Map<const Vec<Scalar>> b(params + layer.bias_offset(), layer.out_size());
  out.noalias() = w * in;
  out.colwise() += b;
}

}  // namespace

std::vector<TensorInfo> Dense::tensors() const {
  return {{"weight", param_offset(), weight_size(), 2.0 * weight_size(), false},
          {"bias", bias_offset(), std::size_t(out_size()), double(out_size()), false}};
}

// W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's nn.Linear default), in flat order.
void Dense::init(float* params, util::Rng& rng) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_size()));
  for (std::size_t k = 0; k < num_params(); ++k) {
    params[param_offset() + k] = static_cast<float>(rng.uniform(-bound, bound));
  }
}

void Dense::forward(const float* params, const ConstMatrixRef& in, MatrixRef out,
                    const LayerContext& /*ctx*/) const {
  dense_forward<float>(*this, params, in, out);
}

void Dense::forward(const double* params, const ConstMatrixDRef& in, MatrixD& out,
                    bool /*training*/) const {
  out.resize(out_size(), in.cols());
  dense_forward<double>(*this, params, in, out);
}

// dW (out x in) = dY (out x B) X^T (B x in); db (out) = dY 1; dX (in x B) = W^T dY.
void Dense::backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& /*out*/,
                     const ConstMatrixRef& dout, const BackwardNeeds& needs, float* grad,
                     MatrixRef din, const LayerContext& /*ctx*/) const {
  if (needs.weight) {
    Eigen::Map<RowMajorMatrix<float>> dw(grad + param_offset(), out_size(), in_size());
    dw.noalias() = dout * in.transpose();
  }
  if (needs.bias) {
    Eigen::Map<Vector> db(grad + bias_offset(), out_size());
    db.noalias() = dout.rowwise().sum();
  }
  if (needs.input) {
    const Eigen::Map<const RowMajorMatrix<float>> w(params + param_offset(), out_size(), in_size());
    din.noalias() = w.transpose() * dout;
  }
}

// Elementwise, so `out` may be `in` itself (coefficient-wise aliasing is safe).
void Relu::forward(const float* /*params*/, const ConstMatrixRef& in, MatrixRef out,
                   const LayerContext& /*ctx*/) const {
  out.array() = in.array().cwiseMax(0.0f);
}

void Relu::forward(const double* /*params*/, const ConstMatrixDRef& in, MatrixD& out,
                   bool /*training*/) const {
  out.resize(in.rows(), in.cols());
  out.noalias() = in.cwiseMax(0.0);
}

// dX = dY where Y > 0, else 0 (the subgradient 0 is used at exactly 0).
void Relu::backward(const float* /*params*/, const ConstMatrixRef& /*in*/,
                    const ConstMatrixRef& out, const ConstMatrixRef& dout,
                    const BackwardNeeds& needs, float* /*grad*/, MatrixRef din,
                    const LayerContext& /*ctx*/) const {
  if (!needs.input) return;
  din.array() = (out.array() > 0.0f).select(dout.array(), 0.0f);
}

// A column keeps its values: out = in (nothing to do when the model shares the buffer).
// In the lane layout (ctx.lanes): converts to one column per sample (and back in backward).
void Flatten::forward(const float* /*params*/, const ConstMatrixRef& in, MatrixRef out,
                      const LayerContext& ctx) const {
  if (ctx.lanes > 0) {
    lanes::from_lanes(in.data(), in_shape().c, in_shape().plane(), ctx.lanes, out.data());
    return;
  }
  if (out.data() != in.data()) out = in;
}

void Flatten::forward(const double* /*params*/, const ConstMatrixDRef& in, MatrixD& out,
                      bool /*training*/) const {
  out = in;
}

void Flatten::backward(const float* /*params*/, const ConstMatrixRef& /*in*/,
                       const ConstMatrixRef& /*out*/, const ConstMatrixRef& dout,
                       const BackwardNeeds& needs, float* /*grad*/, MatrixRef din,
                       const LayerContext& ctx) const {
  if (!needs.input) return;
  if (ctx.lanes > 0) {
    lanes::to_lanes(dout.data(), std::size_t(dout.outerStride()), in_shape().c, in_shape().plane(),
                    ctx.lanes, din.data());
    return;
  }
  din = dout;
}

template <class Scalar>
double softmax_cross_entropy(const Mat<Scalar>& logits, const int* y, Mat<Scalar>& probs,
                             Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& col_max,
                             Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& col_sum,
                             bool want_gradient) {
  const Eigen::Index classes = logits.rows();
  const Eigen::Index batch = logits.cols();
  if (batch <= 0) throw std::invalid_argument("softmax_cross_entropy: empty batch");
  col_max.resize(batch);
  col_sum.resize(batch);
  probs.resize(classes, batch);
  col_max.noalias() = logits.colwise().maxCoeff();
  probs.array() = (logits.rowwise() - col_max).array().exp();  // in (0, 1], max entry 1
  col_sum.noalias() = probs.colwise().sum();                   // in [1, C]
  double total = 0.0;
  for (Eigen::Index j = 0; j < batch; ++j) {
    const int label = y[j];
    if (label < 0 || label >= classes) {
      throw std::invalid_argument("softmax_cross_entropy: label " + std::to_string(label) +
                                  " outside [0, " + std::to_string(classes) + ")");
    }
    // -log softmax_y = log(sum exp(z - m)) - (z_y - m)
    total += std::log(static_cast<double>(col_sum(j))) -
             (static_cast<double>(logits(label, j)) - static_cast<double>(col_max(j)));
  }
  if (want_gradient) {
    const Scalar inv_batch = Scalar(1) / static_cast<Scalar>(batch);
    probs.array().rowwise() /= col_sum.array();
    for (Eigen::Index j = 0; j < batch; ++j) probs(y[j], j) -= Scalar(1);
    probs *= inv_batch;
  }
  return total / static_cast<double>(batch);
}

template double softmax_cross_entropy<float>(const Matrix&, const int*, Matrix&,
                                             Eigen::RowVectorXf&, Eigen::RowVectorXf&, bool);
template double softmax_cross_entropy<double>(const MatrixD&, const int*, MatrixD&,
                                              Eigen::RowVectorXd&, Eigen::RowVectorXd&, bool);

}  // namespace fedgrid::nn
