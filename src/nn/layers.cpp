// Dense and ReLU forward/backward over Eigen maps of the flat vectors, and softmax cross-entropy.
// GCC 12 reports false -Wmaybe-uninitialized inside Eigen 3.4's AVX-512 packet code (-march=native
// on this AVX-512 machine); it must be silenced before Eigen is included.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "nn/layers.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace fedgrid::nn {

namespace {

template <class Scalar>
using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <class Scalar>
using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

// Y (out x B) = W (out x in) X (in x B) + b 1^T. Shared by the float (hot) and double
// (reference, gradient checks) paths.
template <class Scalar>
void dense_forward(const Dense& layer, const Scalar* params,
                   const Eigen::Ref<const Mat<Scalar>>& in, Mat<Scalar>& out) {
  const Eigen::Map<const RowMajorMatrix<Scalar>> w(params + layer.param_offset(), layer.out_size(),
                                                   layer.in_size());
  const Eigen::Map<const Vec<Scalar>> b(params + layer.bias_offset(), layer.out_size());
  out.resize(layer.out_size(), in.cols());  // no-op when already sized
  out.noalias() = w * in;
  out.colwise() += b;
}

}  // namespace

void Dense::forward(const float* params, const ConstMatrixRef& in, Matrix& out) const {
  dense_forward<float>(*this, params, in, out);
}

void Dense::forward(const double* params, const ConstMatrixDRef& in, MatrixD& out) const {
  dense_forward<double>(*this, params, in, out);
}

// dW (out x in) = dY (out x B) X^T (B x in); db (out) = dY 1; dX (in x B) = W^T dY.
void Dense::backward(const float* params, const ConstMatrixRef& in, const Matrix& /*out*/,
                     const Matrix& dout, const BackwardNeeds& needs, float* grad,
                     Matrix& din) const {
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
    din.resize(in_size(), dout.cols());
    din.noalias() = w.transpose() * dout;
  }
}

void Relu::forward(const float* /*params*/, const ConstMatrixRef& in, Matrix& out) const {
  out.resize(in.rows(), in.cols());
  out.noalias() = in.cwiseMax(0.0f);
}

void Relu::forward(const double* /*params*/, const ConstMatrixDRef& in, MatrixD& out) const {
  out.resize(in.rows(), in.cols());
  out.noalias() = in.cwiseMax(0.0);
}

// dX = dY where Y > 0, else 0 (the subgradient 0 is used at exactly 0).
void Relu::backward(const float* /*params*/, const ConstMatrixRef& /*in*/, const Matrix& out,
                    const Matrix& dout, const BackwardNeeds& needs, float* /*grad*/,
                    Matrix& din) const {
  if (!needs.input) return;
  din.resize(out.rows(), out.cols());
  din.array() = (out.array() > 0.0f).select(dout.array(), 0.0f);
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
