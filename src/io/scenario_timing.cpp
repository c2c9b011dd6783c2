// Loader of a scenario's `timing` section: the stage-time law (docs/stage-time-laws.md) with its
// one parameter, the stage costs and the timing-only switch.
#include <limits>

#include "io/scenario_sections.hpp"
#include "util/error.hpp"

namespace fedgrid::io {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Each law's parameter key, its range and the laws it applies to.
struct LawParam {
  const char* key;
  double lo, hi;
  std::vector<plan::LawKind> laws;
  const char* applies;
};

const std::vector<LawParam>& law_params() {
  using K = plan::LawKind;
  static const std::vector<LawParam> table{
      {"shift", 0.0, 1.0, {K::kShiftedExponential}, "shifted_exponential (< 1)"},
      {"shape", 0.05, 1e4, {K::kGamma, K::kWeibull}, "gamma (>= 0.05) and weibull (>= 0.2)"},
      {"sigma", 1e-6, 4.0, {K::kLognormal}, "lognormal"},
      {"alpha", 1.0, 100.0, {K::kPareto}, "pareto (> 1)"},
  };
  return table;
}

}  // namespace

TimingConfig load_timing(YamlMap t, const std::string& base) {
  TimingConfig c;
  std::vector<std::string> keys{"stage_time", "stage_cost", "work_per_sample", "timing_only",
                                "samples"};
  for (const auto& p : law_params()) keys.emplace_back(p.key);
  t.allow(keys);
  c.law.kind =
      *plan::parse_law(t.get_choice("stage_time", plan::law_names(), std::string("exponential")));
  const std::string law = plan::law_name(c.law.kind);
  for (const auto& p : law_params()) {
    const bool applies = std::find(p.laws.begin(), p.laws.end(), c.law.kind) != p.laws.end();
    t.note_default(p.key, "required for " + std::string(p.applies));
    if (!applies) {
      if (t.has(p.key)) {
        t.fail(p.key, "no '" + std::string(p.key) + "' (it applies to " + p.applies + ")",
               "a value with stage_time: " + law);
      }
      continue;
    }
    c.law.param = t.get_double(p.key, p.lo, p.hi);
  }
  if (c.law.kind == plan::LawKind::kWeibull && c.law.param < 0.2) {
    t.fail("shape", "a Weibull shape >= 0.2", util::short_number(c.law.param));
  }
  if (c.law.kind == plan::LawKind::kPareto && c.law.param <= 1.0) {
    t.fail("alpha", "alpha > 1 (a Pareto law with a finite mean)", util::short_number(c.law.param));
  }
  if (c.law.kind == plan::LawKind::kShiftedExponential && c.law.param >= 1.0) {
    t.fail("shift", "a shift < 1 (the shift is a share of the mean)",
           util::short_number(c.law.param));
  }
  t.note_default("samples", "required for empirical");
  if (c.law.kind == plan::LawKind::kEmpirical) {
    c.samples_file = resolve_path(t.get_string("samples"), base);
    require_file(t, "samples", "CSV file of measured stage times", c.samples_file);
    const auto samples = plan::read_empirical_law(c.samples_file, 0).samples;
    c.law.samples = samples;
  } else if (t.has("samples")) {
    t.fail("samples", "no 'samples' (it applies to empirical)", "a value with stage_time: " + law);
  }
  c.flops_cost =
      t.get_choice("stage_cost", {"uniform", "flops"}, std::string("uniform")) == "flops";
  c.work_per_sample = t.get_double("work_per_sample", 1e-300, kInf, 1.0);
  c.timing_only = t.get_bool("timing_only", false);
  t.finish();
  return c;
}

}  // namespace fedgrid::io
