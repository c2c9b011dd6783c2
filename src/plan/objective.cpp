// ADEL-FL objective f(T, m) (spec 4.2): input validation, step sizes, weights, B(m), C(T, m).
#include "plan/objective.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "plan/timing_stats.hpp"
#include "util/error.hpp"

namespace fedgrid::plan {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string num(double v) { return util::short_number(v); }

[[noreturn]] void fail(const std::string& what) {
  throw util::InputError("ADEL-FL planner: " + what);
}

void check_clients(const PlannerInputs& in) {
  const std::size_t U = in.P.size();
  if (U < 2) fail("expected at least 2 clients (U >= 2), found U = " + std::to_string(U));
  if (in.B.size() != U || in.sigma.size() != U) {
    fail("expected P_u, B_u and sigma_u for each of the " + std::to_string(U) + " clients, found " +
         std::to_string(in.P.size()) + " P, " + std::to_string(in.B.size()) + " B and " +
         std::to_string(in.sigma.size()) + " sigma values");
  }
  for (std::size_t u = 0; u < U; ++u) {
    const std::string who = "client " + std::to_string(u) + ": ";
    if (!(in.P[u] > 0.0) || !std::isfinite(in.P[u]))
      fail(who + "expected capability P_u > 0, found " + num(in.P[u]));
    if (!(in.B[u] >= 0.0) || !std::isfinite(in.B[u]))
      fail(who + "expected communication time B_u >= 0, found " + num(in.B[u]));
    if (!(in.sigma[u] >= 0.0) || !std::isfinite(in.sigma[u]))
      fail(who + "expected gradient std sigma_u >= 0, found " + num(in.sigma[u]));
  }
}

void check_positive(const char* name, double v) {
  if (!(v > 0.0) || !std::isfinite(v))
    fail(std::string("expected ") + name + " > 0, found " + num(v));
}

void check_non_negative(const char* name, double v) {
  if (!(v >= 0.0) || !std::isfinite(v))
    fail(std::string("expected ") + name + " >= 0, found " + num(v));
}

// x^n for integer n >= 0 by repeated squaring (exact enough and much faster than pow).
double ipow(double x, int n) {
  double result = 1.0;
  while (n > 0) {
    if (n & 1) result *= x;
    x *= x;
    n >>= 1;
  }
  return result;
}

// Q(k, x) for k = 1..L into q[k-1] and Poisson pmf pi_j(x) for j = 0..L-1 into pi[j].
// Recurrence pi_j = pi_{j-1} x / j, Q(k+1) = Q(k) + pi_k (positive sums, no cancellation) while
// e^{-x} does not underflow; the direct formulas beyond.
void stage_tails(int L, double x, std::vector<double>& q, std::vector<double>& pi) {
  q.resize(L);
  pi.resize(L);
  if (x < 700.0) {
    pi[0] = std::exp(-x);
    q[0] = pi[0];
    for (int j = 1; j < L; ++j) {
      pi[j] = pi[j - 1] * x / j;
      q[j] = q[j - 1] + pi[j];
    }
  } else {
    for (int j = 0; j < L; ++j) {
      pi[j] = poisson_pmf(j, x);
      q[j] = q_upper(j + 1, x);
    }
  }
}

// sum_k a_k and the a-weighted mean of s_k for log_marginal (x-derivatives; see the header):
//   a_k = g'(p_k) |p_k'|,  |p_k'| = U q_k^{U-1} pi_{k-1},  g' = c1/den^2,  g''/g' = c2/den,
//   s_k = -(g''/g') |p_k'| - (U-1) pi_{k-1}/q_k + (k-1)/x - 1.
// log_sum_a = +inf marks an undefined summand (p >= 1/2 resp. p >= 1).
struct MarginalSum {
  double log_sum_a = 0.0;
  double mean_s = 0.0;
  bool ok = true;
};

// Linear space (fast); ok = false when the largest a_k is near underflow.
MarginalSum marginal_sum_linear(int U, double x, const std::vector<double>& q,
                                const std::vector<double>& pi, VarianceTerm term) {
  const bool two_p = term == VarianceTerm::kOneMinus2p;
  const double c1 = two_p ? 3.0 : 2.0, c2 = two_p ? 4.0 : 2.0;
  double sum_a = 0.0, sum_as = 0.0, max_a = 0.0;
  for (std::size_t j = 0; j < q.size(); ++j) {  // k = j + 1
    const double qu1 = ipow(q[j], U - 1);
    const double den = two_p ? 1.0 - 2.0 * qu1 * q[j] : 1.0 - qu1 * q[j];
    if (!(den > 0.0)) return MarginalSum{kInf, 0.0, true};
    const double dp = U * qu1 * pi[j];
    const double a = c1 / (den * den) * dp;
    sum_a += a;
    sum_as += a * (-c2 / den * dp - (U - 1.0) * pi[j] / q[j] + double(j) / x - 1.0);
    max_a = std::max(max_a, a);
  }
  if (!(max_a > 1e-250) || !std::isfinite(sum_a)) return MarginalSum{0.0, 0.0, false};
  return MarginalSum{std::log(sum_a), sum_as / sum_a, true};
}

// Log space: log pi_{k-1} is exact even where pi underflows; where q_k underflows too,
// Q(k, x) ~ pi_{k-1} (x >> k).
MarginalSum marginal_sum_log(int U, double x, const std::vector<double>& q,
                             const std::vector<double>& pi, VarianceTerm term) {
  const bool two_p = term == VarianceTerm::kOneMinus2p;
  const double c1 = two_p ? 3.0 : 2.0, c2 = two_p ? 4.0 : 2.0;
  const std::size_t L = q.size();
  thread_local std::vector<double> log_a, s;
  log_a.resize(L);
  s.resize(L);
  const double log_x = std::log(x);
  double log_pi = -x, max_log_a = -kInf;
  for (std::size_t j = 0; j < L; ++j) {
    if (j >= 1) log_pi += log_x - std::log(double(j));
    const double p = ipow(q[j], U);
    const double den = two_p ? 1.0 - 2.0 * p : 1.0 - p;
    if (!(den > 0.0)) return MarginalSum{kInf, 0.0, true};
    const double log_q = q[j] > 0.0 ? std::log(q[j]) : log_pi;
    const double ratio = q[j] > 0.0 ? pi[j] / q[j] : 1.0;
    const double log_dp = std::log(double(U)) + (U - 1) * log_q + log_pi;
    log_a[j] = std::log(c1) - 2.0 * std::log(den) + log_dp;
    s[j] = -c2 / den * std::exp(log_dp) - (U - 1.0) * ratio + double(j) / x - 1.0;
    max_log_a = std::max(max_log_a, log_a[j]);
  }
  double sum_a = 0.0, sum_as = 0.0;
  for (std::size_t j = 0; j < L; ++j) {
    const double a = std::exp(log_a[j] - max_log_a);
    sum_a += a;
    sum_as += a * s[j];
  }
  return MarginalSum{max_log_a + std::log(sum_a), sum_as / sum_a, true};
}

}  // namespace

std::optional<Schedule> parse_schedule(const std::string& name) {
  if (name == "inverse") return Schedule::kInverse;
  if (name == "fixed") return Schedule::kFixed;
  if (name == "sqrt") return Schedule::kSqrt;
  return std::nullopt;
}

std::optional<VarianceTerm> parse_variance_term(const std::string& name) {
  if (name == "one_minus_2p") return VarianceTerm::kOneMinus2p;
  if (name == "one_minus_p") return VarianceTerm::kOneMinusP;
  return std::nullopt;
}

std::string to_string(Schedule schedule) {
  switch (schedule) {
    case Schedule::kInverse:
      return "inverse";
    case Schedule::kFixed:
      return "fixed";
    case Schedule::kSqrt:
      return "sqrt";
  }
  return "?";
}

std::string to_string(VarianceTerm term) {
  return term == VarianceTerm::kOneMinus2p ? "one_minus_2p" : "one_minus_p";
}

std::vector<double> step_sizes(const PlannerInputs& in) {
  std::vector<double> eta(in.R > 0 ? in.R : 0);
  const double kappa = in.rho_s / in.rho_c;
  const double gamma_l = std::max(8.0 * kappa, 1.0) - 1.0;
  for (int i = 1; i <= in.R; ++i) {
    const int t = i + in.first_round - 1;
    double e = in.lr;
    if (in.schedule == Schedule::kInverse) e = in.lr / (t + 1.0);
    if (in.schedule == Schedule::kSqrt) e = 1.0 / (in.rho_c * (std::sqrt(double(t)) + gamma_l));
    eta[i - 1] = e;
  }
  return eta;
}

void validate_inputs(const PlannerInputs& in) {
  check_clients(in);
  if (in.L < 1)
    fail("expected at least 1 backprop stage (L >= 1), found L = " + std::to_string(in.L));
  if (in.R < 1) fail("expected rounds (R) >= 1, found " + std::to_string(in.R));
  check_positive("time_budget (T_max)", in.T_max);
  check_non_negative("min_deadline (T_min)", in.T_min);
  check_non_negative("G", in.G);
  check_positive("rho_s", in.rho_s);
  check_positive("rho_c", in.rho_c);
  check_non_negative("Gamma", in.Gamma);
  check_non_negative("alpha", in.alpha);
  check_positive("lr", in.lr);
  check_non_negative("m_min", in.m_min);
  check_positive("m_max", in.m_max);
  if (in.m_min > in.m_max)
    fail("expected m_min <= m_max, found " + num(in.m_min) + " > " + num(in.m_max));
  if (!(in.eps > 0.0 && in.eps < 0.5)) fail("expected 0 < eps < 0.5, found " + num(in.eps));
  const std::vector<double> eta = step_sizes(in);
  for (int t = 0; t < in.R; ++t) {
    const double r = in.rho_c * eta[t];
    if (!(r > 0.0 && r < 1.0)) {
      fail("expected 0 < rho_c * eta_t < 1 in every round (schedule " + to_string(in.schedule) +
           "), found rho_c * eta_" + std::to_string(t + 1) + " = " + num(in.rho_c) + " * " +
           num(eta[t]) + " = " + num(r));
    }
  }
}

Objective::Objective(const PlannerInputs& in) : in_(in) {
  validate_inputs(in_);
  paper_ = !in_.timing || in_.timing->paper_model();
  if (!paper_ && in_.timing->stages() != in_.L) {
    fail("expected a timing model of L = " + std::to_string(in_.L) + " stages, found " +
         std::to_string(in_.timing->stages()));
  }
  const int R = in_.R;
  const double U = static_cast<double>(in_.P.size());
  const std::vector<double> eta = step_sizes(in_);
  // w_t = eta_t^2 prod_{tau>t} (1 - rho_c eta_tau): suffix products, empty product = 1.
  weights_.assign(R, 0.0);
  double suffix = 1.0;
  for (int t = R - 1; t >= 0; --t) {
    weights_[t] = eta[t] * eta[t] * suffix;
    suffix *= 1.0 - in_.rho_c * eta[t];
  }
  const double d1 = R * (in_.T_max / R) * (in_.T_max / R) / 1e6;
  initial_term_ = suffix * d1;
  for (std::size_t u = 0; u < in_.P.size(); ++u)
    sigma_term_ += in_.sigma[u] * in_.sigma[u] / in_.P[u];
  stage_factor_ = in_.G * in_.G * 4.0 * U / (U - 1.0);
  if (in_.variance_term == VarianceTerm::kOneMinus2p) {
    // Bisection on x for Q(L, x)^U <= 1/2 - eps; Q decreases from 1 at x = 0.
    const int Ui = static_cast<int>(in_.P.size());
    const auto feasible = [&](double x) {
      const double q = paper_ ? q_upper(in_.L, x) : in_.timing->within(in_.L, x).q;
      return std::pow(q, Ui) <= 0.5 - in_.eps;
    };
    double lo = 0.0;
    double hi = 1.0;
    while (!feasible(hi)) hi *= 2.0;
    for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; ++it) {
      const double mid = 0.5 * (lo + hi);
      (feasible(mid) ? hi : lo) = mid;
    }
    min_ratio_ = hi;
  }
}

double Objective::variance(double m) const {
  if (!(m > 0.0)) return kInf;
  const double U = static_cast<double>(in_.P.size());
  return sigma_term_ / (U * U * m) + 6.0 * in_.rho_s * in_.Gamma;
}

StageCost Objective::stage_cost(double T, double m) const {
  const int U = static_cast<int>(in_.P.size());
  const double x = T / m;
  if (!paper_) return generic_stage_cost(x, m);
  thread_local std::vector<double> q;
  thread_local std::vector<double> pi;
  stage_tails(in_.L, x, q, pi);
  const bool two_p = in_.variance_term == VarianceTerm::kOneMinus2p;
  double c = 0.0, cx = 0.0, cxx = 0.0;
  for (int k = 1; k <= in_.L; ++k) {
    const double qk = q[k - 1];
    const double d1 = -pi[k - 1];                              // q'
    const double d2 = pi[k - 1] - (k >= 2 ? pi[k - 2] : 0.0);  // q''
    const double qu2 = ipow(qk, U - 2);
    const double qu1 = qu2 * qk;
    const double p = qu1 * qk;
    const double dp = U * qu1 * d1;
    const double d2p = U * (U - 1.0) * qu2 * d1 * d1 + U * qu1 * d2;
    const double den = two_p ? 1.0 - 2.0 * p : 1.0 - p;
    if (!(den > 0.0)) return StageCost{kInf, -kInf, kInf};
    const double g = (1.0 + p) / den;
    const double g1 = (two_p ? 3.0 : 2.0) / (den * den);
    const double g2 = (two_p ? 12.0 : 4.0) / (den * den * den);
    c += g;
    cx += g1 * dp;
    cxx += g2 * dp * dp + g1 * d2p;
  }
  const double K = stage_factor_;
  return StageCost{K * c, K * cx / m, K * cxx / (m * m)};
}

LogMarginal Objective::log_marginal(double T, double m) const {
  const double x = T / m;
  if (!paper_) return generic_log_marginal(x, m);
  thread_local std::vector<double> q, pi;
  stage_tails(in_.L, x, q, pi);
  const MarginalSum linear =
      marginal_sum_linear(static_cast<int>(in_.P.size()), x, q, pi, in_.variance_term);
  const MarginalSum sum =
      linear.ok ? linear
                : marginal_sum_log(static_cast<int>(in_.P.size()), x, q, pi, in_.variance_term);
  if (std::isinf(sum.log_sum_a) && sum.log_sum_a > 0.0) return LogMarginal{kInf, 0.0};
  return LogMarginal{std::log(stage_factor_ / m) + sum.log_sum_a, sum.mean_s / m};
}

// Any law: q_k, f_k, f_k' from the timing model (closed forms or its tables).
StageCost Objective::generic_stage_cost(double x, double m) const {
  const int U = static_cast<int>(in_.P.size());
  const bool two_p = in_.variance_term == VarianceTerm::kOneMinus2p;
  double c = 0.0, cx = 0.0, cxx = 0.0;
  for (int k = 1; k <= in_.L; ++k) {
    const Tail t = in_.timing->tail(k, x);
    const double d1 = -t.f, d2 = -t.df;
    const double qu2 = ipow(t.q, U - 2), qu1 = qu2 * t.q, p = qu1 * t.q;
    const double dp = U * qu1 * d1;
    const double d2p = U * (U - 1.0) * qu2 * d1 * d1 + U * qu1 * d2;
    const double den = two_p ? 1.0 - 2.0 * p : 1.0 - p;
    if (!(den > 0.0)) return StageCost{kInf, -kInf, kInf};
    const double g1 = (two_p ? 3.0 : 2.0) / (den * den);
    c += (1.0 + p) / den;
    cx += g1 * dp;
    cxx += (two_p ? 12.0 : 4.0) / (den * den * den) * dp * dp + g1 * d2p;
  }
  const double K = stage_factor_;
  return StageCost{K * c, K * cx / m, K * cxx / (m * m)};
}

// log h and its slope: a_k = g'(p_k) U q_k^{U-1} f_k, s_k = d log a_k / dx =
// -(g''/g') U q^{U-1} f - (U-1) f/q + f'/f; in linear space, in log space where a underflows.
LogMarginal Objective::generic_log_marginal(double x, double m) const {
  const int U = static_cast<int>(in_.P.size());
  const bool two_p = in_.variance_term == VarianceTerm::kOneMinus2p;
  const double c1 = two_p ? 3.0 : 2.0, c2 = two_p ? 4.0 : 2.0;
  thread_local std::vector<Tail> tails;
  tails.resize(in_.L);
  double sum_a = 0.0, sum_as = 0.0, max_a = 0.0;
  for (int k = 1; k <= in_.L; ++k) {
    const Tail t = tails[k - 1] = in_.timing->tail(k, x);
    const double qu1 = ipow(t.q, U - 1), p = qu1 * t.q;
    const double den = two_p ? 1.0 - 2.0 * p : 1.0 - p;
    if (!(den > 0.0)) return LogMarginal{kInf, 0.0};
    if (!(t.f > 0.0) || !(t.q > 0.0)) continue;
    const double dp = U * qu1 * t.f, a = c1 / (den * den) * dp;
    sum_a += a;
    sum_as += a * (-c2 / den * dp - (U - 1.0) * t.f / t.q + t.df / t.f);
    max_a = std::max(max_a, a);
  }
  if (max_a > 1e-250 && std::isfinite(sum_a)) {
    return LogMarginal{std::log(stage_factor_ / m * sum_a), sum_as / sum_a / m};
  }
  thread_local std::vector<double> log_a, s;
  log_a.assign(in_.L, -kInf);
  s.assign(in_.L, 0.0);
  double max_log_a = -kInf;
  for (int k = 1; k <= in_.L; ++k) {
    const Tail t = tails[k - 1];
    const double p = ipow(t.q, U);
    const double den = two_p ? 1.0 - 2.0 * p : 1.0 - p;
    if (!(den > 0.0)) return LogMarginal{kInf, 0.0};
    if (!(t.f > 0.0) || !(t.q > 0.0)) continue;
    const double log_dp = std::log(double(U)) + (U - 1) * std::log(t.q) + std::log(t.f);
    log_a[k - 1] = std::log(c1) - 2.0 * std::log(den) + log_dp;
    s[k - 1] = -c2 / den * std::exp(log_dp) - (U - 1.0) * t.f / t.q + t.df / t.f;
    max_log_a = std::max(max_log_a, log_a[k - 1]);
  }
  if (!std::isfinite(max_log_a)) return LogMarginal{-kInf, 0.0};
  sum_a = 0.0, sum_as = 0.0;
  for (int k = 0; k < in_.L; ++k) {
    const double a = std::exp(log_a[k] - max_log_a);
    sum_a += a;
    sum_as += a * s[k];
  }
  return LogMarginal{std::log(stage_factor_ / m) + max_log_a + std::log(sum_a), sum_as / sum_a / m};
}

double Objective::value(const std::vector<double>& T, double m) const {
  if (!(m > 0.0) || T.size() != weights_.size()) return kInf;
  const double b = in_.alpha * variance(m);
  double sum = 0.0;
  for (std::size_t t = 0; t < T.size(); ++t) sum += weights_[t] * (b + stage_cost(T[t], m).c);
  return 1e3 * (initial_term_ + sum);
}

double objective(const PlannerInputs& in, const std::vector<double>& T, double m) {
  return Objective(in).value(T, m);
}

}  // namespace fedgrid::plan
