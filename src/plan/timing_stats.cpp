// Timing statistics of the exponential stage model: Q(k, x), Poisson laws, E[max] of Erlangs.
#include "plan/timing_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace fedgrid::plan {
namespace {

// log(x^j e^{-x} / j!) for x > 0.
double log_poisson_term(int j, double x) { return -x + j * std::log(x) - std::lgamma(j + 1.0); }

// For x >= k: Q(k, x) = sum_{j<k} pi_j(x). The terms grow with j (j < x), so sum downwards from
// the largest one, pi_{k-1}, with ratio pi_{j-1}/pi_j = j/x <= 1: no cancellation, no overflow.
double upper_sum(int k, double x) {
  double term = 1.0;
  double sum = 1.0;
  for (int j = k - 1; j >= 1; --j) {
    term *= j / x;
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum * std::exp(log_poisson_term(k - 1, x));
}

// For x < k: P(k, x) = 1 - Q(k, x) = sum_{j>=k} pi_j(x), terms decreasing (ratio x/(j+1) < 1).
double lower_series(int k, double x) {
  double term = 1.0;
  double sum = 1.0;
  for (int n = k + 1; n < k + 100000; ++n) {
    term *= x / n;
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum * std::exp(log_poisson_term(k, x));
}

void check_k(int k, const char* where) {
  if (k < 1)
    throw std::invalid_argument(std::string(where) + ": k must be >= 1, got " + std::to_string(k));
}

// Adaptive Simpson on [a, b] given f at a, (a+b)/2, b and the whole-interval Simpson estimate.
double adaptive_simpson(const std::function<double(double)>& f, double a, double b, double fa,
                        double fm, double fb, double whole, double tol, int depth) {
  const double m = 0.5 * (a + b);
  const double lm = 0.5 * (a + m);
  const double rm = 0.5 * (m + b);
  const double flm = f(lm);
  const double frm = f(rm);
  const double left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
  const double right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
  const double delta = left + right - whole;
  if (depth <= 0 || std::abs(delta) <= 15.0 * tol) return left + right + delta / 15.0;
  return adaptive_simpson(f, a, m, fa, flm, fm, left, 0.5 * tol, depth - 1) +
         adaptive_simpson(f, m, b, fm, frm, fb, right, 0.5 * tol, depth - 1);
}

// Integral of f over [a, b], cut into `panels` pieces each refined adaptively to tol/panels.
double integrate(const std::function<double(double)>& f, double a, double b, double tol,
                 int panels) {
  double total = 0.0;
  const double h = (b - a) / panels;
  for (int i = 0; i < panels; ++i) {
    const double lo = a + i * h;
    const double hi = (i + 1 == panels) ? b : lo + h;
    const double flo = f(lo);
    const double fmid = f(0.5 * (lo + hi));
    const double fhi = f(hi);
    const double whole = (hi - lo) / 6.0 * (flo + 4.0 * fmid + fhi);
    total += adaptive_simpson(f, lo, hi, flo, fmid, fhi, whole, tol / panels, 40);
  }
  return total;
}

}  // namespace

double q_upper(int k, double x) {
  check_k(k, "q_upper");
  if (std::isnan(x)) return x;
  if (x <= 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  if (x < k) return 1.0 - lower_series(k, x);
  return upper_sum(k, x);
}

double p_lower(int k, double x) {
  check_k(k, "p_lower");
  if (std::isnan(x)) return x;
  if (x <= 0.0) return 0.0;
  if (std::isinf(x)) return 1.0;
  if (x < k) return lower_series(k, x);
  return 1.0 - upper_sum(k, x);
}

double poisson_pmf(int j, double x) {
  if (j < 0) return 0.0;
  if (x <= 0.0) return j == 0 ? 1.0 : 0.0;
  return std::exp(log_poisson_term(j, x));
}

double p_no_contributor(int L, int l, double T, double m, int U) {
  if (l < 1 || l > L) {
    throw std::invalid_argument("p_no_contributor: stage " + std::to_string(l) + " outside 1.." +
                                std::to_string(L));
  }
  if (!(m > 0.0)) throw std::invalid_argument("p_no_contributor: m must be > 0");
  return std::pow(q_upper(L - l + 1, T / m), U);
}

double expected_contributors(int L, int l, double T, double m, int U) {
  if (l < 1 || l > L) {
    throw std::invalid_argument("expected_contributors: stage " + std::to_string(l) +
                                " outside 1.." + std::to_string(L));
  }
  if (!(m > 0.0)) throw std::invalid_argument("expected_contributors: m must be > 0");
  return U * p_lower(L - l + 1, T / m);
}

double poisson_min_pmf(int k, double x, int L) {
  if (k < 0 || k > L) return 0.0;
  if (k < L) return poisson_pmf(k, x);
  return L == 0 ? 1.0 : p_lower(L, x);  // P(Poisson(x) >= L)
}

double expected_max(const std::vector<std::function<double(double)>>& survivals, double scale) {
  if (survivals.empty()) throw std::invalid_argument("expected_max: no variables");
  if (!(scale > 0.0)) throw std::invalid_argument("expected_max: scale must be > 0");
  // Survival of the maximum: 1 - prod_u (1 - S_u) = -expm1(sum_u log1p(-S_u)).
  const auto survival_of_max = [&survivals](double x) {
    double log_cdf = 0.0;
    for (const auto& s : survivals) {
      const double su = s(x);
      if (su >= 1.0) return 1.0;
      log_cdf += std::log1p(-su);
    }
    return -std::expm1(log_cdf);
  };
  // Windows [0, 4 scale], then each as long as everything before; stop once the tail is negligible.
  const double tol = 1e-10 * scale;
  double a = 0.0;
  double b = 4.0 * scale;
  double total = 0.0;
  for (int window = 0; window < 60; ++window) {
    total += integrate(survival_of_max, a, b, tol, 32);
    if (survival_of_max(b) < 1e-15) return total;
    a = b;
    b *= 2.0;
  }
  throw std::runtime_error("expected_max: survival does not decay (heavy or improper tail)");
}

double expected_max_erlang(const std::vector<int>& ks, const std::vector<double>& rates,
                           const std::vector<double>& offsets) {
  if (ks.empty() || ks.size() != rates.size() || ks.size() != offsets.size()) {
    throw std::invalid_argument(
        "expected_max_erlang: k, rate and offset vectors must be "
        "non-empty and of equal size");
  }
  std::vector<std::function<double(double)>> survivals;
  double scale = 0.0;
  for (std::size_t u = 0; u < ks.size(); ++u) {
    const int k = ks[u];
    const double rate = rates[u];
    const double offset = offsets[u];
    check_k(k, "expected_max_erlang");
    if (!(rate > 0.0) || !std::isfinite(rate) || !(offset >= 0.0) || !std::isfinite(offset)) {
      throw std::invalid_argument("expected_max_erlang: rates must be > 0, offsets >= 0");
    }
    survivals.emplace_back([k, rate, offset](double x) { return q_upper(k, rate * (x - offset)); });
    scale = std::max(scale, offset + k / rate);
  }
  return expected_max(survivals, scale);
}

double expected_max_erlang(int k, const std::vector<double>& rates) {
  return expected_max_erlang(std::vector<int>(rates.size(), k), rates,
                             std::vector<double>(rates.size(), 0.0));
}

}  // namespace fedgrid::plan
