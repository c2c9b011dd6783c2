// Stage-time laws at equal mean: sampling, CDF, survival, variance, the empirical CSV reader and
// the regularised incomplete gamma function used by the closed forms.
#include "plan/stage_laws.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "util/csv.hpp"
#include "util/error.hpp"

namespace fedgrid::plan {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct LawEntry {
  LawKind kind;
  const char* name;
};
constexpr LawEntry kLaws[] = {
    {LawKind::kExponential, "exponential"},
    {LawKind::kDeterministic, "deterministic"},
    {LawKind::kShiftedExponential, "shifted_exponential"},
    {LawKind::kGamma, "gamma"},
    {LawKind::kLognormal, "lognormal"},
    {LawKind::kWeibull, "weibull"},
    {LawKind::kPareto, "pareto"},
    {LawKind::kEmpirical, "empirical"},
};

double weibull_scale(double shape) { return 1.0 / std::tgamma(1.0 + 1.0 / shape); }
double pareto_xm(double alpha) { return (alpha - 1.0) / alpha; }

// log(x^a e^{-x} / Gamma(a)) for x > 0.
double log_prefactor(double a, double x) { return a * std::log(x) - x - std::lgamma(a); }

double gamma_series(double a, double x) {  // P(a, x), x < a + 1
  return gamma_series_sum(a, x) * std::exp(log_prefactor(a, x));
}

double gamma_fraction(double a, double x) {  // Q(a, x), x >= a + 1
  return gamma_fraction_sum(a, x) * std::exp(log_prefactor(a, x));
}

}  // namespace

double gamma_series_sum(double a, double x) {
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < 100000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::abs(term) < 1e-17 * std::abs(sum)) break;
  }
  return sum;
}

double gamma_fraction_sum(double a, double x) {  // modified Lentz
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1.0) < 1e-16) break;
  }
  return h;
}

namespace {

const std::vector<double>& set_of(const StageLaw& law, int stage) {
  return law.samples.at(static_cast<std::size_t>(law.sample_set(stage)));
}

}  // namespace

const char* law_name(LawKind kind) {
  for (const auto& e : kLaws)
    if (e.kind == kind) return e.name;
  return "?";
}

std::optional<LawKind> parse_law(const std::string& name) {
  for (const auto& e : kLaws)
    if (name == e.name) return e.kind;
  return std::nullopt;
}

std::vector<std::string> law_names() {
  std::vector<std::string> out;
  for (const auto& e : kLaws) out.emplace_back(e.name);
  return out;
}

double gamma_p(double a, double x) {
  if (!(a > 0.0)) throw std::invalid_argument("gamma_p: a must be > 0");
  if (std::isnan(x)) return x;
  if (x <= 0.0) return 0.0;
  if (std::isinf(x)) return 1.0;
  return x < a + 1.0 ? gamma_series(a, x) : 1.0 - gamma_fraction(a, x);
}

double gamma_q(double a, double x) {
  if (!(a > 0.0)) throw std::invalid_argument("gamma_q: a must be > 0");
  if (std::isnan(x)) return x;
  if (x <= 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return x < a + 1.0 ? 1.0 - gamma_series(a, x) : gamma_fraction(a, x);
}

double StageLaw::draw(util::Rng& rng, int stage) const {
  switch (kind) {
    case LawKind::kExponential:
      return rng.exponential1();
    case LawKind::kDeterministic:
      return 1.0;
    case LawKind::kShiftedExponential:
      return param + (1.0 - param) * rng.exponential1();
    case LawKind::kGamma:
      return rng.gamma(param) / param;
    case LawKind::kLognormal:
      return std::exp(param * rng.normal() - 0.5 * param * param);
    case LawKind::kWeibull:
      return weibull_scale(param) * std::pow(rng.exponential1(), 1.0 / param);
    case LawKind::kPareto:
      return pareto_xm(param) * std::exp(rng.exponential1() / param);
    case LawKind::kEmpirical: {
      const auto& s = set_of(*this, stage);
      return s[rng.below(s.size())];
    }
  }
  return 1.0;
}

double StageLaw::survival(double x, int stage) const {
  if (std::isnan(x)) return x;
  switch (kind) {
    case LawKind::kExponential:
      return x <= 0.0 ? 1.0 : std::exp(-x);
    case LawKind::kDeterministic:
      return x < 1.0 ? 1.0 : 0.0;
    case LawKind::kShiftedExponential:
      return x <= param ? 1.0 : std::exp(-(x - param) / (1.0 - param));
    case LawKind::kGamma:
      return gamma_q(param, param * x);
    case LawKind::kLognormal:
      if (x <= 0.0) return 1.0;
      return 0.5 * std::erfc((std::log(x) + 0.5 * param * param) / (param * std::sqrt(2.0)));
    case LawKind::kWeibull:
      return x <= 0.0 ? 1.0 : std::exp(-std::pow(x / weibull_scale(param), param));
    case LawKind::kPareto: {
      const double xm = pareto_xm(param);
      return x <= xm ? 1.0 : std::pow(xm / x, param);
    }
    case LawKind::kEmpirical: {
      const auto& s = set_of(*this, stage);  // sorted by read_empirical_law
      const auto n = s.end() - std::upper_bound(s.begin(), s.end(), x);
      return static_cast<double>(n) / static_cast<double>(s.size());
    }
  }
  return 0.0;
}

double StageLaw::cdf(double x, int stage) const {
  if (std::isnan(x)) return x;
  switch (kind) {
    case LawKind::kExponential:
      return x <= 0.0 ? 0.0 : -std::expm1(-x);
    case LawKind::kShiftedExponential:
      return x <= param ? 0.0 : -std::expm1(-(x - param) / (1.0 - param));
    case LawKind::kGamma:
      return gamma_p(param, param * x);
    case LawKind::kWeibull:
      return x <= 0.0 ? 0.0 : -std::expm1(-std::pow(x / weibull_scale(param), param));
    case LawKind::kLognormal:
      if (x <= 0.0) return 0.0;
      return 0.5 * std::erfc(-(std::log(x) + 0.5 * param * param) / (param * std::sqrt(2.0)));
    default:
      return 1.0 - survival(x, stage);
  }
}

double StageLaw::variance(int stage) const {
  switch (kind) {
    case LawKind::kExponential:
      return 1.0;
    case LawKind::kDeterministic:
      return 0.0;
    case LawKind::kShiftedExponential:
      return (1.0 - param) * (1.0 - param);
    case LawKind::kGamma:
      return 1.0 / param;
    case LawKind::kLognormal:
      return std::expm1(param * param);
    case LawKind::kWeibull: {
      const double g1 = std::tgamma(1.0 + 1.0 / param);
      return std::tgamma(1.0 + 2.0 / param) / (g1 * g1) - 1.0;
    }
    case LawKind::kPareto:
      return param > 2.0 ? 1.0 / (param * (param - 2.0)) : kInf;
    case LawKind::kEmpirical: {
      const auto& s = set_of(*this, stage);
      double v = 0.0;
      for (double x : s) v += (x - 1.0) * (x - 1.0);
      return v / static_cast<double>(s.size());
    }
  }
  return 0.0;
}

double StageLaw::minimum(int stage) const {
  switch (kind) {
    case LawKind::kDeterministic:
      return 1.0;
    case LawKind::kShiftedExponential:
      return param;
    case LawKind::kPareto:
      return pareto_xm(param);
    case LawKind::kEmpirical: {
      const auto& s = set_of(*this, stage);
      return *std::min_element(s.begin(), s.end());
    }
    default:
      return 0.0;
  }
}

void StageLaw::validate() const {
  const auto bad = [this](const std::string& range) {
    throw std::invalid_argument(std::string(law_name(kind)) + ": expected " + range + ", found " +
                                util::short_number(param));
  };
  switch (kind) {
    case LawKind::kShiftedExponential:
      if (!(param >= 0.0 && param < 1.0)) bad("shift in [0, 1)");
      break;
    case LawKind::kGamma:
      if (!(param >= 0.05 && param <= 1e4)) bad("shape in [0.05, 10000]");
      break;
    case LawKind::kLognormal:
      if (!(param > 0.0 && param <= 4.0)) bad("sigma in (0, 4]");
      break;
    case LawKind::kWeibull:
      if (!(param >= 0.2 && param <= 100.0)) bad("shape in [0.2, 100]");
      break;
    case LawKind::kPareto:
      if (!(param > 1.0 && param <= 100.0)) bad("alpha in (1, 100]");
      break;
    case LawKind::kEmpirical:
      if (samples.empty()) throw std::invalid_argument("empirical: no samples");
      for (const auto& s : samples)
        if (s.empty()) throw std::invalid_argument("empirical: a stage without samples");
      break;
    default:
      break;
  }
}

std::string StageLaw::describe() const {
  const std::string name = law_name(kind);
  switch (kind) {
    case LawKind::kShiftedExponential:
      return name + "(shift " + util::short_number(param) + ")";
    case LawKind::kGamma:
    case LawKind::kWeibull:
      return name + "(shape " + util::short_number(param) + ")";
    case LawKind::kLognormal:
      return name + "(sigma " + util::short_number(param) + ")";
    case LawKind::kPareto:
      return name + "(alpha " + util::short_number(param) + ")";
    case LawKind::kEmpirical:
      return name + "(" + std::to_string(samples.size()) +
             (samples.size() > 1 ? " stages" : " pool") + ")";
    default:
      return name;
  }
}

StageLaw read_empirical_law(const std::string& path, int stages) {
  // The header decides the layout: `time` (pooled) or `stage,time` (per stage).
  bool per_stage = false;
  {
    std::ifstream in = util::open_input(path, "a readable CSV file");
    std::string line;
    while (std::getline(in, line)) {
      line.erase(0, line.find_first_not_of(" \t\r"));
      if (!line.empty()) {
        per_stage = line.rfind("stage", 0) == 0;
        break;
      }
    }
  }
  util::CsvReader csv(path, per_stage ? std::vector<std::string>{"stage", "time"}
                                      : std::vector<std::string>{"time"});
  StageLaw law;
  law.kind = LawKind::kEmpirical;
  law.samples.assign(per_stage && stages > 0 ? stages : 1, {});
  const int tcol = per_stage ? 1 : 0;
  const int limit = stages > 0 ? stages : 100000;
  while (csv.next()) {
    int s = 0;
    if (per_stage) {
      const double v = csv.number(0);
      if (v != std::floor(v) || v < 0 || v >= limit) {
        csv.fail(0,
                 stages > 0 ? "a stage in 0.." + std::to_string(stages - 1) + " (0 = input side)"
                            : std::string("a stage number >= 0 (0 = input side)"),
                 csv.field(0));
      }
      s = static_cast<int>(v);
      if (s >= static_cast<int>(law.samples.size())) law.samples.resize(s + 1);
    }
    const double t = csv.number(tcol);
    if (!(t > 0.0)) csv.fail(tcol, "a time > 0", csv.field(tcol));
    law.samples[s].push_back(t);
  }
  for (std::size_t s = 0; s < law.samples.size(); ++s) {
    auto& v = law.samples[s];
    if (v.empty()) {
      util::throw_input_error(path, csv.line(), per_stage ? "stage" : "time",
                              per_stage ? "at least one row for stage " + std::to_string(s)
                                        : std::string("at least one time"),
                              "none");
    }
    double mean = 0.0;
    for (double t : v) mean += t;
    mean /= static_cast<double>(v.size());
    for (double& t : v) t /= mean;
    std::sort(v.begin(), v.end());  // the CDF by binary search; draws pick an index uniformly
  }
  return law;
}

}  // namespace fedgrid::plan
