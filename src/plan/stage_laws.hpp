// Stage-time laws (docs/stage-time-laws.md): a backward stage of mean duration mu takes mu x X,
// X >= 0 drawn from the law in force with E[X] = 1, so every law has the same mean speed. The
// sampler the simulator draws from, the law's CDF and variance for the probability code
// (plan/completion.hpp), and the empirical law's CSV reader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/rng.hpp"

namespace fedgrid::plan {

enum class LawKind {
  kExponential,         // Exp(1) (the paper's model)
  kDeterministic,       // 1
  kShiftedExponential,  // s + (1 - s) Exp(1), shift s in [0, 1)
  kGamma,               // Gamma(k, rate k)
  kLognormal,           // exp(N(-sigma^2 / 2, sigma^2))
  kWeibull,             // Weibull(shape a, scale 1 / Gamma(1 + 1/a))
  kPareto,              // Pareto(alpha > 1, x_m = (alpha - 1) / alpha)
  kEmpirical,           // measured times resampled, divided by their mean (per stage or pooled)
};

// Names as in scenario files: exponential | deterministic | shifted_exponential | gamma |
// lognormal | weibull | pareto | empirical.
const char* law_name(LawKind kind);
std::optional<LawKind> parse_law(const std::string& name);
std::vector<std::string> law_names();

struct StageLaw {
  LawKind kind = LawKind::kExponential;
  // shifted_exponential: the shift s; gamma, weibull: the shape; lognormal: sigma; pareto: alpha.
  double param = 0;
  // empirical: measured times per stage (index 0 = input side), each list divided by its mean;
  // a single list serves every stage. Sorted ascending (survival() searches them).
  std::vector<std::vector<double>> samples;

  // One draw for `stage` (0 = input side), E = 1. Exponential: rng.exponential1() (one uniform,
  // the simulator's draw before laws existed); deterministic: 1 without touching rng.
  double draw(util::Rng& rng, int stage) const;
  // P(X <= x) for `stage`.
  double cdf(double x, int stage) const;
  // P(X > x), accurate in the tail where it is small (no 1 - cdf cancellation where avoidable).
  double survival(double x, int stage) const;
  // Var X (+inf for pareto with alpha <= 2).
  double variance(int stage) const;
  // Smallest value X can take (pareto x_m, shifted s, empirical minimum; else 0).
  double minimum(int stage) const;
  // True when different stages follow different laws (empirical with one list per stage).
  bool per_stage() const { return kind == LawKind::kEmpirical && samples.size() > 1; }
  // The law's index used for `stage` in `samples` (0 when pooled).
  int sample_set(int stage) const { return per_stage() ? stage : 0; }
  // Throws std::invalid_argument for a parameter outside its range.
  void validate() const;
  // "gamma(shape 2)" and the like, for messages and plan output.
  std::string describe() const;
};

// Reads the empirical law's CSV: header `time` (one pooled list for every stage) or
// `stage,time` (stage 0 .. stages-1 from the input side, each with at least one row; stages <= 0:
// not known yet, every stage from 0 to the largest given needs rows); times > 0 and finite. Each
// list is divided by its mean. Throws util::InputError with file:line.
StageLaw read_empirical_law(const std::string& path, int stages);

// Regularised lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a) for real a > 0, x >= 0
// (series for x < a + 1, continued fraction otherwise; relative accuracy ~1e-14).
double gamma_p(double a, double x);
// Q(a, x) = 1 - P(a, x), computed directly in the tail.
double gamma_q(double a, double x);
// The parts of P and Q without the factor x^a e^{-x} / Gamma(a): P = series_sum x that factor
// (for x < a + 1), Q = fraction_sum x that factor (for x >= a + 1).
double gamma_series_sum(double a, double x);
double gamma_fraction_sum(double a, double x);

}  // namespace fedgrid::plan
