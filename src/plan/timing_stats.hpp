// Timing statistics of the exponential stage model (spec 2.3, 2.4, 7): the Erlang/Poisson tail
// Q(k, x), the probability that a stage gets no contributor, and E[max] of completion times.
#pragma once

#include <functional>
#include <vector>

namespace fedgrid::plan {

// Regularised upper incomplete gamma for integer k >= 1:
//   Q(k, x) = e^{-x} sum_{j<k} x^j / j! = P(Poisson(x) < k) = P(Erlang(k, 1) > x).
// Q(k, x) = 1 for x <= 0. dQ/dx = -x^{k-1} e^{-x} / (k-1)!. Positive-term sums in log space:
// relative error about 1e-16 * max(1, x) (the log of the largest Poisson term), no overflow.
double q_upper(int k, double x);

// 1 - Q(k, x) = P(Poisson(x) >= k) = P(Erlang(k, 1) <= x), computed without cancellation.
double p_lower(int k, double x);

// Poisson pmf P(Poisson(x) = j) for j >= 0, x >= 0 (log-space, no overflow).
double poisson_pmf(int j, double x);

// Probability that stage l (1-based, 1 = input side) of an L-stage model gets no update from any
// of U i.i.d. users with deadline T and per-stage mean time m: Q(L-l+1, T/m)^U.
double p_no_contributor(int L, int l, double T, double m, int U);

// Expected number of users that deliver stage l: U (1 - Q(L-l+1, T/m)).
double expected_contributors(int L, int l, double T, double m, int U);

// P(min(Poisson(x), L) = k): law of the number of finished stages. Zero outside 0..L.
double poisson_min_pmf(int k, double x, int L);

// E[max_u X_u] with X_u ~ Erlang(k, rate_u) independent:
//   integral_0^inf (1 - prod_u P(k, rate_u x)) dx, by adaptive Simpson to 1e-6 relative (better
// in practice). Throws std::invalid_argument for k < 1, no rates or a rate <= 0.
double expected_max_erlang(int k, const std::vector<double>& rates);

// Heterogeneous version: X_u = offset_u + Erlang(k_u, rate_u) (offset = e.g. communication time).
// All three vectors have the same size.
double expected_max_erlang(const std::vector<int>& ks, const std::vector<double>& rates,
                           const std::vector<double>& offsets);

// E[max_u X_u] for independent non-negative X_u given by their survival functions S_u(x) =
// P(X_u > x): integral_0^inf (1 - prod_u (1 - S_u(x))) dx (survivals keep the tail accurate).
// `scale` is a typical magnitude of the X_u (sets the first integration window); windows of
// growing size are added until the survival of the maximum is below 1e-15.
double expected_max(const std::vector<std::function<double(double)>>& survivals, double scale);

}  // namespace fedgrid::plan
