// ADEL-FL planner inputs and the objective f(T, m) of spec 4.2 (convergence bound to minimise),
// with the analytic T-derivatives of the straggling term used by the exact solver.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plan/completion.hpp"

namespace fedgrid::plan {

// Step sizes eta_t (t = 1..R) inside the objective.
//   inverse: lr / (t + 1);  fixed: lr;  sqrt: 1 / (rho_c (sqrt(t) + gamma_L)),
//   gamma_L = max(8 kappa, 1) - 1, kappa = rho_s / rho_c (lr unused).
enum class Schedule { kInverse, kFixed, kSqrt };

// Per-stage summand of C_t: one_minus_2p: (1+p)/(1-2p) (newest code, needs p <= 1/2 - eps);
// one_minus_p: (1+p)/(1-p) (Dec-2024 code).
enum class VarianceTerm { kOneMinus2p, kOneMinusP };

// Names as in scenario files: "inverse" | "fixed" | "sqrt", "one_minus_2p" | "one_minus_p".
std::optional<Schedule> parse_schedule(const std::string& name);
std::optional<VarianceTerm> parse_variance_term(const std::string& name);
std::string to_string(Schedule schedule);
std::string to_string(VarianceTerm term);

struct PlannerInputs {
  std::vector<double> P;      // capability of client u (samples per time unit), > 0
  std::vector<double> B;      // communication time of client u, >= 0
  std::vector<double> sigma;  // per-sample gradient std of client u, >= 0
  int L = 0;                  // backprop stages of the model
  int R = 0;                  // rounds
  int first_round = 1;        // the rounds planned are first_round .. first_round + R - 1 (eta_t)
  double T_max = 0.0;         // total time budget: sum_t T_t <= T_max
  double T_min = 0.0;         // minimum deadline per round (the authors use 3.4)
  double G = 0.1;
  double rho_s = 1.0;
  double rho_c = 0.3;
  double Gamma = 1.0;
  double alpha = 1.0;
  double lr = 0.5;
  double m_min = 0.0;  // search interval of m (m = 0 itself is never evaluated)
  double m_max = 1.2;
  double eps = 1e-6;  // one_minus_2p: p_{l,t} <= 1/2 - eps
  Schedule schedule = Schedule::kInverse;
  VarianceTerm variance_term = VarianceTerm::kOneMinus2p;
  // The stage-time law and stage costs: Q(k, T/m) becomes P(S_k > T/m) with S_k the time of the
  // last k stages in units of the mean stage time m (plan/completion.hpp). Null or the paper's
  // model (exponential, equal costs): the closed forms below.
  std::shared_ptr<const CompletionModel> timing;
};

// Throws util::InputError naming the quantity and the value when an input is out of range
// (U < 2, L < 1, R < 1, T_max <= 0, size mismatch, P_u <= 0, rho_c eta_t outside (0,1), ...).
// Budget feasibility (R * T_min <= T_max) is checked by the solver, not here.
void validate_inputs(const PlannerInputs& in);

// eta_1..eta_R.
std::vector<double> step_sizes(const PlannerInputs& in);

// C(T, m) = G^2 (4U/(U-1)) sum_{k=1}^{L} g(Q(k, T/m)^U) and its first two T-derivatives.
// Other laws: q = P(S_k > x), q' = -f_k, q'' = -f_k' (density of S_k and its derivative).
// With x = T/m, q = Q(k,x), q' = -pi_{k-1}(x), q'' = pi_{k-1} - pi_{k-2} (pi_j = Poisson pmf):
//   p' = U q^{U-1} q',  p'' = U(U-1) q^{U-2} q'^2 + U q^{U-1} q'',
//   dC/dx = K sum g'(p) p',  d2C/dx2 = K sum (g''(p) p'^2 + g'(p) p''),  d/dT = (1/m) d/dx,
//   g = (1+p)/(1-2p): g' = 3/(1-2p)^2, g'' = 12/(1-2p)^3;  g = (1+p)/(1-p): g' = 2/(1-p)^2,
//   g'' = 4/(1-p)^3.  Where the summand is undefined (p >= 1/2 resp. p >= 1) c = +inf.
struct StageCost {
  double c = 0.0;
  double dc_dT = 0.0;
  double d2c_dT2 = 0.0;
};

// log h and d(log h)/dT for the marginal gain h(T) = -dC/dT(T, m) > 0, computed without
// underflow (h itself is below 1e-300 for small m). With x = T/m, a_k = g'(p_k) |p_k'| and
//   p_k'' / p_k' = r_k = -(U-1) pi_{k-1}/q_k + (k-1)/x - 1,   g''/g' = 4/(1-2p) resp. 2/(1-p):
//   log h = log(K/m) + log sum_k a_k,   d log h/dT = (1/m) sum_k a_k s_k / sum_k a_k,
//   s_k = (g''/g') p_k' + r_k.   log_h = +inf where a summand is undefined.
struct LogMarginal {
  double log_h = 0.0;
  double dlog_h_dT = 0.0;
};

// f(T, m) = 10^3 [ prod_t (1 - rho_c eta_t) D_1 + sum_t w_t (alpha B(m) + C(T_t, m)) ],
//   w_t = eta_t^2 prod_{tau=t+1}^{R} (1 - rho_c eta_tau),  D_1 = sum_t (T_max/R)^2 / 10^6,
//   B(m) = (1/(U^2 m)) sum_u sigma_u^2 / P_u + 6 rho_s Gamma.
// Precomputes everything that does not depend on (T, m). Validates the inputs.
class Objective {
 public:
  explicit Objective(const PlannerInputs& in);

  const PlannerInputs& inputs() const { return in_; }
  const std::vector<double>& weights() const { return weights_; }  // w_1..w_R
  double initial_term() const { return initial_term_; }            // prod(1-rho_c eta) D_1
  double variance(double m) const;                                 // B(m); +inf for m <= 0
  StageCost stage_cost(double T, double m) const;                  // C(T, m) and T-derivatives
  LogMarginal log_marginal(double T, double m) const;              // log(-dC/dT) and its slope
  // x* = smallest T/m with p_{1,t} = Q(L, T/m)^U <= 1/2 - eps (found by bisection, p decreases
  // in T); 0 for one_minus_p. The minimal feasible deadline for a given m is m * x*.
  double min_feasible_ratio() const { return min_ratio_; }
  double min_feasible_deadline(double m) const { return m * min_ratio_; }
  // f(T, m); +inf if m <= 0, T has the wrong size or a summand is undefined.
  double value(const std::vector<double>& T, double m) const;

 private:
  PlannerInputs in_;
  std::vector<double> weights_;
  double initial_term_ = 0.0;
  bool paper_ = true;  // exponential stages of equal cost: the closed forms
  StageCost generic_stage_cost(double x, double m) const;
  LogMarginal generic_log_marginal(double x, double m) const;
  double sigma_term_ = 0.0;    // sum_u sigma_u^2 / P_u
  double stage_factor_ = 0.0;  // K = G^2 4U/(U-1)
  double min_ratio_ = 0.0;
};

// Convenience: Objective(in).value(T, m).
double objective(const PlannerInputs& in, const std::vector<double>& T, double m);

}  // namespace fedgrid::plan
