// bench_plan: wall time of the ADEL-FL plan (plan::solve_plan) for 20 clients x 100 rounds under
// every stage-time law, cold (the law's completion tables built first, as in a run) and warm;
// medians of several trials. The goal: a plan in < 50 ms. Writes bench/results/plan.json
// (--out FILE).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "options.hpp"
#include "plan/planner.hpp"
#include "util/json.hpp"
#include "util/rng.hpp"

namespace {

using namespace fedgrid;
using Clock = std::chrono::steady_clock;

plan::StageLaw law(plan::LawKind k, double p) {
  plan::StageLaw l;
  l.kind = k;
  l.param = p;
  if (k == plan::LawKind::kEmpirical) {  // 500 "measured" times, lognormal body, slow outliers
    util::Rng rng(17);
    std::vector<double> v;
    for (int i = 0; i < 500; ++i)
      v.push_back(std::exp(0.25 * rng.normal()) * (rng.uniform01() < 0.06 ? 3 : 1));
    double mean = 0;
    for (double x : v) mean += x;
    for (double& x : v) x /= mean / v.size();
    std::sort(v.begin(), v.end());
    l.samples = {v};
  }
  return l;
}

plan::PlannerInputs inputs(int L) {
  plan::PlannerInputs in;
  util::Rng rng(1234);
  for (int u = 0; u < 20; ++u) {
    in.P.push_back(rng.uniform(1, 2500));
    in.B.push_back(rng.uniform(0, 1));
    in.sigma.push_back(5 * rng.uniform01());
  }
  in.L = L;
  in.R = 100;
  in.T_max = 400;
  in.T_min = 3.4;
  return in;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options defaults;
  defaults.out = std::string(FEDGRID_SOURCE_DIR) + "/bench/results/plan.json";
  bench::Takes takes;
  takes.models = takes.batches = takes.seconds = false;
  const std::string out =
      bench::parse_options(argc, argv, defaults, takes, "bench_plan",
                           "Times plan::solve_plan for 20 clients x 100 rounds (T_max = 400 s)\n"
                           "under every stage-time law, cold and warm, median of 7 trials.")
          .out;
  using K = plan::LawKind;
  const std::vector<plan::StageLaw> laws{
      law(K::kExponential, 0), law(K::kDeterministic, 0), law(K::kShiftedExponential, 0.5),
      law(K::kGamma, 3),       law(K::kLognormal, 1),     law(K::kWeibull, 0.7),
      law(K::kPareto, 1.5),    law(K::kEmpirical, 0)};
  const int trials = 7;
  util::Json json = util::Json::array();
  std::printf("ADEL-FL plan, 20 clients x 100 rounds, T_max 400: median of %d trials [ms]\n",
              trials);
  std::printf("%-28s %4s %10s %10s %8s\n", "law", "L", "cold", "warm", "m*");
  for (int L : {6, 8}) {
    for (const auto& l : laws) {
      std::vector<double> cold, warm;
      double m = 0;
      for (int t = 0; t < trials; ++t) {
        plan::PlannerInputs in = inputs(L);
        const auto t0 = Clock::now();
        in.timing = std::make_shared<const plan::CompletionModel>(l, std::vector<double>(L, 1.0));
        m = plan::solve_plan(in).m;
        cold.push_back(ms_since(t0));
        const auto t1 = Clock::now();
        plan::solve_plan(in);
        warm.push_back(ms_since(t1));
      }
      std::printf("%-28s %4d %10.2f %10.2f %8.4f\n", l.describe().c_str(), L, median(cold),
                  median(warm), m);
      json.push_back({{"law", l.describe()},
                      {"L", L},
                      {"cold_ms", std::round(median(cold) * 1e6) / 1e6},
                      {"warm_ms", std::round(median(warm) * 1e6) / 1e6}});
    }
  }
  std::ofstream(out) << util::json_text(json);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
