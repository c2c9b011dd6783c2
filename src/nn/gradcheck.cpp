// Finite-difference gradient checks of the model in double precision.
#include "nn/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nn/layers.hpp"
#include "util/rng.hpp"

namespace fedgrid::nn {

double loss_double(const Model& model, const Eigen::VectorXd& params, const Eigen::MatrixXd& x,
                   const std::vector<int>& y) {
  if (static_cast<std::size_t>(params.size()) != model.num_params() ||
      x.rows() != model.input_size() || static_cast<std::size_t>(x.cols()) != y.size()) {
    throw std::invalid_argument("loss_double: parameter, batch or label sizes do not match");
  }
  MatrixD a = x;
  MatrixD b;
  for (const auto& layer : model.layers()) {
    layer->forward(params.data(), a, b, true);
    a.swap(b);
  }
  MatrixD probs;
  Eigen::RowVectorXd col_max;
  Eigen::RowVectorXd col_sum;
  return softmax_cross_entropy<double>(a, y.data(), probs, col_max, col_sum, false);
}

Eigen::VectorXd central_differences(const std::function<double(const Eigen::VectorXd&)>& f,
                                    const Eigen::VectorXd& v,
                                    const std::vector<Eigen::Index>& indices, double eps) {
  Eigen::VectorXd work = v;
  Eigen::VectorXd out(static_cast<Eigen::Index>(indices.size()));
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const Eigen::Index i = indices[k];
    const double saved = work[i];
    work[i] = saved + eps;
    const double plus = f(work);
    work[i] = saved - eps;
    const double minus = f(work);
    work[i] = saved;
    out[static_cast<Eigen::Index>(k)] = (plus - minus) / (2.0 * eps);
  }
  return out;
}

double max_relative_error(const Eigen::VectorXd& analytic, const Eigen::VectorXd& numeric,
                          double floor, Eigen::Index* worst) {
  if (analytic.size() != numeric.size()) {
    throw std::invalid_argument("max_relative_error: vectors of different sizes");
  }
  double best = 0.0;
  Eigen::Index arg = 0;
  for (Eigen::Index i = 0; i < analytic.size(); ++i) {
    const double denom = std::max({std::abs(analytic[i]), std::abs(numeric[i]), floor});
    const double rel = std::abs(analytic[i] - numeric[i]) / denom;
    if (rel > best || std::isnan(rel)) {
      best = std::isnan(rel) ? INFINITY : rel;
      arg = i;
    }
  }
  if (worst) *worst = arg;
  return best;
}

GradCheckResult check_model_gradient(const Model& model, const Vector& params, const Matrix& x,
                                     const std::vector<int>& y, const GradCheckOptions& opts) {
  Workspace ws;
  Vector grad;
  model.loss_and_gradient(params, x, y, grad, opts.first_stage, ws);
  std::vector<Eigen::Index> indices;
  for (int s = std::max(opts.first_stage, 0); s < model.num_stages(); ++s) {
    const Stage& st = model.stages()[static_cast<std::size_t>(s)];
    const std::size_t trained = st.size - st.statistics;  // statistics have no loss gradient
    if (opts.per_stage == 0 || trained <= opts.per_stage) {
      for (std::size_t k = 0; k < trained; ++k) indices.push_back(Eigen::Index(st.offset + k));
    } else {
      util::Rng rng(opts.seed, "gradcheck", static_cast<uint64_t>(s));
      for (std::size_t k = 0; k < opts.per_stage; ++k) {
        indices.push_back(Eigen::Index(st.offset + rng.below(trained)));
      }
    }
  }
  const Eigen::MatrixXd xd = x.cast<double>();
  const auto f = [&](const Eigen::VectorXd& p) { return loss_double(model, p, xd, y); };
  const Eigen::VectorXd numeric = central_differences(f, params.cast<double>(), indices, opts.eps);
  Eigen::VectorXd analytic(numeric.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    analytic[Eigen::Index(k)] = grad[indices[k]];
  }
  GradCheckResult r;
  Eigen::Index worst = 0;
  r.checked = indices.size();
  if (indices.empty()) return r;
  r.max_rel_error = max_relative_error(analytic, numeric, opts.floor, &worst);
  r.max_abs_error = (analytic - numeric).cwiseAbs().maxCoeff();
  r.worst_index = static_cast<std::size_t>(indices[static_cast<std::size_t>(worst)]);
  return r;
}

}  // namespace fedgrid::nn
