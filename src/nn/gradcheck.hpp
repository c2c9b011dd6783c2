// Gradient checks: analytic gradients (float) against central finite differences of the loss
// evaluated in double with the same layer code. Used by tests and by `fedgrid validate`.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <vector>

#include "nn/model.hpp"

namespace fedgrid::nn {

// Mean softmax cross-entropy of `model` at `params` on (x, y), computed entirely in double
// (BatchNorm in training mode, as in loss_and_gradient).
double loss_double(const Model& model, const Eigen::VectorXd& params, const Eigen::MatrixXd& x,
                   const std::vector<int>& y);

// (f(v + eps e_i) - f(v - eps e_i)) / (2 eps) for each i in `indices` (result aligned with them).
// Error O(eps^2 f''') + O(rounding(f) / eps).
Eigen::VectorXd central_differences(const std::function<double(const Eigen::VectorXd&)>& f,
                                    const Eigen::VectorXd& v,
                                    const std::vector<Eigen::Index>& indices, double eps);

// max_i |a_i - n_i| / max(|a_i|, |n_i|, floor). `floor` keeps entries whose true value is ~0
// (dead ReLUs, cancellations) from dividing by nothing; *worst receives the arg max.
double max_relative_error(const Eigen::VectorXd& analytic, const Eigen::VectorXd& numeric,
                          double floor, Eigen::Index* worst = nullptr);

struct GradCheckOptions {
  double eps = 1e-4;          // central-difference step on the double loss
  double floor = 1e-4;        // denominator floor of the relative error
  std::size_t per_stage = 0;  // parameters checked per stage, drawn at random (0 = all)
  uint64_t seed = 1;          // which parameters, when sampling
  int first_stage = 0;        // analytic gradient from loss_and_gradient(..., first_stage);
                              // only stages >= first_stage are compared
};

struct GradCheckResult {
  double max_rel_error = 0;
  double max_abs_error = 0;
  std::size_t worst_index = 0;  // flat parameter index of the worst relative error
  std::size_t checked = 0;      // number of parameters compared
};

// Compares Model::loss_and_gradient (float) with central differences of loss_double, over the
// trained entries of the stages (running statistics have no loss gradient and are skipped).
GradCheckResult check_model_gradient(const Model& model, const Vector& params, const Matrix& x,
                                     const std::vector<int>& y,
                                     const GradCheckOptions& opts = GradCheckOptions{});

}  // namespace fedgrid::nn
