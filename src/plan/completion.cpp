// Completion-time probabilities: closed forms for sums of equal-cost stages where they exist
// (exponential: Erlang; gamma: Gamma(n k); shifted exponential: shifted Erlang; deterministic:
// exact), otherwise the CDF of the sum on a grid: each stage's law put on the nearest grid
// points, convolved, monotone cubic interpolation between grid points, the heaviest stage's
// tail shape beyond the grid. Tables are built once per model and cached.
#include "plan/completion.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "plan/timing_stats.hpp"

namespace fedgrid::plan {

namespace {

constexpr int kGrid = 4096;       // points of the one-step prefix tables
constexpr int kStepsGrid = 2048;  // points of a multi-step table
constexpr double kSlack = 1e-12;  // the simulator counts work finished within this rounding

using Masses = std::vector<double>;

// Masses of c X (X of `stage`) at the points j h, j < n (each value to its nearest point).
Masses discretise(const StageLaw& law, int stage, double c, double h, int n) {
  if (c == 0.0) return {1.0};  // a stage without work takes no time
  Masses m;
  double prev = 0.0;  // P(cX <= (j - 1/2) h)
  for (int j = 0; j < n; ++j) {
    const double x = (j + 0.5) * h / c;
    const double now = law.cdf(x, stage);
    m.push_back(std::max(0.0, now - prev));
    prev = now;
    if (law.survival(x, stage) < 1e-18) break;
  }
  return m;
}

// a * b truncated to n points.
Masses convolve(const Masses& a, const Masses& b, int n) {
  Masses out(std::min<std::size_t>(n, a.size() + b.size() - 1), 0.0);
  for (std::size_t i = 0; i < a.size() && i < out.size(); ++i) {
    const double ai = a[i];
    if (ai == 0.0) continue;
    const std::size_t len = std::min(b.size(), out.size() - i);
    double* dst = out.data() + i;
    const double* src = b.data();
    for (std::size_t j = 0; j < len; ++j) dst[j] += ai * src[j];
  }
  return out;
}

Masses power(Masses base, int k, int n) {
  Masses result{1.0};  // point mass at 0
  while (k > 0) {
    if (k & 1) result = convolve(result, base, n);
    k >>= 1;
    if (k > 0) base = convolve(base, base, n);
  }
  return result;
}

// Cumulative masses padded to n points: y[j] = P(S <= (j + 1/2) h).
std::vector<double> cumulative(const Masses& m, int n) {
  std::vector<double> y(n, 0.0);
  double acc = 0.0;
  for (int j = 0; j < n; ++j) {
    if (j < static_cast<int>(m.size())) acc += m[j];
    y[j] = std::min(acc, 1.0);
  }
  return y;
}

// Harmonic mean of two secants (Fritsch-Butland): a monotone C1 interpolant.
double slope(double a, double b) { return a * b > 0.0 ? 2.0 * a * b / (a + b) : 0.0; }

}  // namespace

struct CompletionModel::Table {
  double h = 0;
  std::vector<std::vector<double>> y;  // per sum, cumulative masses (see cumulative())
  double ref_scale = 1;                // the stage with the heaviest tail: its scale and index
  int ref_stage = 0;

  // P(S <= x) of sum `i`, its density and derivative; the tail beyond the grid follows the
  // reference stage's survival (exact shape for heavy tails, negligible mass for light ones).
  Tail eval(const StageLaw& law, std::size_t i, double x) const {
    const std::vector<double>& v = y.at(i);
    const int n = static_cast<int>(v.size());
    if (!(x > 0.0)) return {1.0, 0.0, 0.0};
    const double t = x / h - 0.5;
    if (t >= n - 1) {
      const double x_end = (n - 0.5) * h;
      const double s_end = law.survival(x_end / ref_scale, ref_stage);
      const double q_end = std::max(0.0, 1.0 - v[n - 1]);
      if (!(s_end > 0.0) || q_end == 0.0) return {0.0, 0.0, 0.0};
      const double s = law.survival(x / ref_scale, ref_stage);
      const double d = 1e-4 * ref_scale;
      const double s2 = law.survival((x + d) / ref_scale, ref_stage);
      const double q = q_end * s / s_end;
      const double hazard = s > 0.0 && s2 > 0.0 ? std::log(s / s2) / d : 0.0;
      return {q, q * hazard, -hazard * q * hazard};
    }
    const int j = static_cast<int>(std::floor(t));  // >= -1
    const double s = t - j;
    const auto val = [&](int k) { return k < 0 ? 0.0 : v[std::min(k, n - 1)]; };
    const auto sec = [&](int k) { return (val(k + 1) - val(k)) / h; };
    const double y0 = val(j), y1 = val(j + 1);
    const double d0 = slope(sec(j - 1), sec(j)), d1 = slope(sec(j), sec(j + 1));
    const double s2 = s * s, s3 = s2 * s;
    const double F = (2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * h * d0 +
                     (-2 * s3 + 3 * s2) * y1 + (s3 - s2) * h * d1;
    const double f =
        ((6 * s2 - 6 * s) * (y0 - y1) + (3 * s2 - 4 * s + 1) * h * d0 + (3 * s2 - 2 * s) * h * d1) /
        h;
    const double df =
        ((12 * s - 6) * (y0 - y1) + (6 * s - 4) * h * d0 + (6 * s - 2) * h * d1) / (h * h);
    const double p = std::clamp(F, 0.0, 1.0);
    return {1.0 - p, std::max(f, 0.0), df};
  }
};

CompletionModel::CompletionModel(StageLaw law, std::vector<double> rel_cost)
    : law_(std::move(law)), cost_(std::move(rel_cost)) {
  law_.validate();
  if (cost_.empty()) throw std::invalid_argument("CompletionModel: no stages");
  if (law_.per_stage() && law_.samples.size() != cost_.size()) {
    throw std::invalid_argument("CompletionModel: " + std::to_string(law_.samples.size()) +
                                " per-stage sample lists for " + std::to_string(cost_.size()) +
                                " stages");
  }
  double total = 0.0;
  for (double c : cost_) {
    if (!(c >= 0.0) || !std::isfinite(c))
      throw std::invalid_argument("CompletionModel: stage costs must be >= 0");
    uniform_ = uniform_ && c == 1.0;
    total += c;
  }
  if (!(total > 0.0)) throw std::invalid_argument("CompletionModel: every stage costs 0");
  if (!closed_form()) prefix_table();  // built once, read without locking afterwards
  if (law_.kind == LawKind::kGamma) {
    for (std::size_t n = 1; n <= cost_.size(); ++n) lgamma_.push_back(std::lgamma(n * law_.param));
  }
}

CompletionModel CompletionModel::paper(int stages) {
  return CompletionModel(StageLaw{}, std::vector<double>(std::max(stages, 1), 1.0));
}

bool CompletionModel::closed_form() const {
  if (law_.kind == LawKind::kDeterministic) return true;
  if (!uniform_) return false;
  return law_.kind == LawKind::kExponential || law_.kind == LawKind::kGamma ||
         law_.kind == LawKind::kShiftedExponential;
}

double CompletionModel::deterministic_sum(long n) const {
  const long L = stages();
  double step = 0.0;
  for (double c : cost_) step += c;
  double s = static_cast<double>(n / L) * step;
  for (long i = 0; i < n % L; ++i) s += cost_[L - 1 - i];
  return s;
}

double CompletionModel::minimum(long n) const {
  const long L = stages();
  double step = 0.0;
  for (long s = 0; s < L; ++s) step += cost_[s] * law_.minimum(static_cast<int>(s));
  double m = static_cast<double>(n / L) * step;
  for (long i = 0; i < n % L; ++i)
    m += cost_[L - 1 - i] * law_.minimum(static_cast<int>(L - 1 - i));
  return m;
}

Within CompletionModel::closed(long n, double x) const {
  const int k = static_cast<int>(std::min<long>(n, 1L << 30));
  switch (law_.kind) {
    case LawKind::kDeterministic: {
      const bool done = deterministic_sum(n) <= x * (1.0 + kSlack);
      return {done ? 1.0 : 0.0, done ? 0.0 : 1.0};
    }
    case LawKind::kGamma:
      return {gamma_p(k * law_.param, law_.param * x), gamma_q(k * law_.param, law_.param * x)};
    case LawKind::kShiftedExponential: {
      const double y = (x - k * law_.param) / (1.0 - law_.param);
      return {p_lower(k, y), q_upper(k, y)};
    }
    default:
      return {p_lower(k, x), q_upper(k, x)};
  }
}

Within CompletionModel::within(long n, double x) const {
  const long L = stages();
  if (n < 1 || (n > L && n % L != 0)) {
    throw std::invalid_argument("CompletionModel::within: n = " + std::to_string(n) +
                                " is neither in 1.." + std::to_string(L) + " nor a multiple of L");
  }
  if (std::isnan(x)) return {x, x};
  if (closed_form()) return closed(n, x);
  if (n > L) return steps_within(std::vector<double>(n / L, 1.0), x);
  const Tail t = prefix_->eval(law_, static_cast<std::size_t>(n - 1), x);
  return {1.0 - t.q, t.q};
}

Tail CompletionModel::tail(int n, double x) const {
  if (n < 1 || n > stages()) {
    throw std::invalid_argument("CompletionModel::tail: n = " + std::to_string(n) + " outside 1.." +
                                std::to_string(stages()));
  }
  if (!(x > 0.0)) return {1.0, 0.0, 0.0};
  if (!closed_form()) return prefix_->eval(law_, static_cast<std::size_t>(n - 1), x);
  if (law_.kind == LawKind::kGamma) return gamma_tail(n, x);
  const Within w = closed(n, x);
  double f = 0.0, slope_of_log = 0.0;  // density and d log f / dx
  switch (law_.kind) {
    case LawKind::kDeterministic:
      return {w.q, 0.0, 0.0};
    case LawKind::kShiftedExponential: {
      const double s = law_.param, y = (x - n * s) / (1.0 - s);
      if (!(y > 0.0)) return {w.q, 0.0, 0.0};
      f = poisson_pmf(n - 1, y) / (1.0 - s);
      slope_of_log = ((n - 1) / y - 1.0) / (1.0 - s);
      break;
    }
    default:
      f = poisson_pmf(n - 1, x);
      slope_of_log = (n - 1) / x - 1.0;
      break;
  }
  return {w.q, f, f * slope_of_log};
}

// S_n ~ Gamma(n k, rate k): q and f share the factor y^a e^{-y} / Gamma(a), y = k x, a = n k.
Tail CompletionModel::gamma_tail(int n, double x) const {
  const double a = n * law_.param, r = law_.param, y = r * x;
  const double pre = std::exp(a * std::log(y) - y - lgamma_[n - 1]);
  const double q =
      y < a + 1.0 ? 1.0 - gamma_series_sum(a, y) * pre : gamma_fraction_sum(a, y) * pre;
  const double f = r * pre / y;
  return {std::clamp(q, 0.0, 1.0), f, f * ((a - 1.0) / x - r)};
}

const CompletionModel::Table& CompletionModel::prefix_table() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (prefix_) return *prefix_;
  const int L = stages();
  auto t = std::make_shared<Table>();
  double mean = 0.0, var = 0.0, c_max = 0.0;
  for (int s = 0; s < L; ++s) {
    mean += cost_[s];
    var += cost_[s] * cost_[s] * std::min(law_.variance(s), 25.0);
    if (cost_[s] > c_max) c_max = cost_[s], t->ref_stage = s;  // the tail's reference stage
  }
  t->ref_scale = c_max;
  t->h = (mean + 12.0 * std::sqrt(var) + 6.0 * c_max) / kGrid;
  Masses sum{1.0};
  for (int i = 0; i < L; ++i) {  // output stage first
    const int s = L - 1 - i;
    sum = convolve(sum, discretise(law_, s, cost_[s], t->h, kGrid), kGrid);
    t->y.push_back(cumulative(sum, kGrid));
  }
  prefix_ = t;
  return *prefix_;
}

const CompletionModel::Table& CompletionModel::steps_table(std::vector<double> factors) const {
  std::sort(factors.begin(), factors.end());
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = steps_.find(factors);
  if (it != steps_.end()) return *it->second;
  const int L = stages();
  double step_mean = 0.0, step_var = 0.0, c_max = 0.0;
  auto t = std::make_shared<Table>();
  for (int s = 0; s < L; ++s) {
    step_mean += cost_[s];
    step_var += cost_[s] * cost_[s] * std::min(law_.variance(s), 25.0);
    if (cost_[s] > c_max) c_max = cost_[s], t->ref_stage = s;
  }
  double mean = 0.0, var = 0.0;
  for (double f : factors) {
    mean += f * step_mean;
    var += f * f * step_var;
  }
  t->ref_scale = c_max * factors.back();
  t->h = (mean + 12.0 * std::sqrt(var) + 6.0 * t->ref_scale) / kStepsGrid;
  Masses total{1.0};
  for (std::size_t i = 0; i < factors.size();) {
    std::size_t j = i;
    while (j < factors.size() && factors[j] == factors[i]) ++j;
    Masses one{1.0};
    for (int s = L - 1; s >= 0; --s)
      one = convolve(one, discretise(law_, s, factors[i] * cost_[s], t->h, kStepsGrid), kStepsGrid);
    total = convolve(total, power(one, static_cast<int>(j - i), kStepsGrid), kStepsGrid);
    i = j;
  }
  t->y.push_back(cumulative(total, kStepsGrid));
  return *(steps_[factors] = t);
}

Within CompletionModel::steps_within(const std::vector<double>& factors, double x) const {
  if (factors.empty()) throw std::invalid_argument("CompletionModel::steps_within: no steps");
  for (double f : factors) {
    if (!(f > 0.0) || !std::isfinite(f))
      throw std::invalid_argument("CompletionModel::steps_within: step factors must be > 0");
  }
  if (std::isnan(x)) return {x, x};
  const bool equal = std::all_of(factors.begin(), factors.end(), [](double f) { return f == 1.0; });
  if (law_.kind == LawKind::kDeterministic) {
    double w = 0.0;
    for (double f : factors) w += f * deterministic_sum(stages());
    const bool done = w <= x * (1.0 + kSlack);
    return {done ? 1.0 : 0.0, done ? 0.0 : 1.0};
  }
  const long n = static_cast<long>(factors.size()) * stages();
  if (equal && closed_form()) return closed(n, x);
  if (factors.size() == 1 && equal) return within(stages(), x);
  const Tail t = steps_table(factors).eval(law_, 0, x);
  return {1.0 - t.q, t.q};
}

double CompletionModel::survive_within(const std::vector<double>& factors, double lambda,
                                       double x) const {
  if (!(lambda > 0.0)) return steps_within(factors, x).p;
  if (!(x > 0.0)) return 0.0;
  if (law_.kind == LawKind::kDeterministic) {
    double w = 0.0;
    for (double f : factors) w += f * deterministic_sum(stages());
    return w <= x * (1.0 + kSlack) ? std::exp(-lambda * w) : 0.0;
  }
  // E[e^{-lambda W}; W <= x] = e^{-lambda x} F(x) + lambda int_0^x e^{-lambda w} F(w) dw
  // (integration by parts; F is continuous here), composite Simpson on 256 panels.
  const int panels = 256;
  const double h = x / panels;
  const auto g = [&](double w) { return std::exp(-lambda * w) * steps_within(factors, w).p; };
  double sum = g(0.0) + g(x);
  for (int i = 1; i < panels; ++i) sum += (i % 2 ? 4.0 : 2.0) * g(i * h);
  return g(x) + lambda * sum * h / 3.0;
}

}  // namespace fedgrid::plan
