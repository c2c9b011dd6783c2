// Stage-time laws (plan/stage_laws.hpp) and completion probabilities (plan/completion.hpp):
// every law's draws have mean 1 and follow its CDF; sums of draws (equal and unequal stage
// costs, several steps) follow CompletionModel's probabilities; the numerical tables agree with
// the closed forms; the incomplete gamma function; the empirical CSV reader; the ADEL-FL planner
// under each law (derivatives, KKT, the exponential case unchanged).
#define BOOST_TEST_MODULE stage_laws
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "plan/completion.hpp"
#include "plan/inputs_csv.hpp"
#include "plan/planner.hpp"
#include "plan/stage_laws.hpp"
#include "plan/timing_stats.hpp"
#include "reference_inputs.hpp"
#include "util/error.hpp"

using namespace fedgrid;
using plan::LawKind;
namespace fs = std::filesystem;

namespace {

plan::StageLaw law(LawKind k, double param = 0) {
  plan::StageLaw l;
  l.kind = k;
  l.param = param;
  return l;
}

// A smooth-ish empirical law: 400 "measured" times from a Gamma(3) shape, per stage scaled.
plan::StageLaw empirical(int stages) {
  plan::StageLaw l;
  l.kind = LawKind::kEmpirical;
  util::Rng rng(77);
  for (int s = 0; s < stages; ++s) {
    std::vector<double> v;
    for (int i = 0; i < 400; ++i) v.push_back((1.0 + 0.3 * s) * (0.2 + rng.gamma(3.0)));
    double mean = 0;
    for (double x : v) mean += x;
    for (double& x : v) x /= mean / v.size();
    std::sort(v.begin(), v.end());
    l.samples.push_back(v);
  }
  return l;
}

std::vector<plan::StageLaw> all_laws() {
  return {law(LawKind::kExponential),
          law(LawKind::kShiftedExponential, 0.6),
          law(LawKind::kGamma, 2.5),
          law(LawKind::kGamma, 0.5),
          law(LawKind::kLognormal, 1.0),
          law(LawKind::kLognormal, 0.3),
          law(LawKind::kWeibull, 0.7),
          law(LawKind::kWeibull, 3.0),
          law(LawKind::kPareto, 1.5),
          law(LawKind::kPareto, 3.0),
          empirical(1),
          empirical(4)};
}

// |frequency - p| within 4 binomial standard errors plus the tables' discretisation allowance.
void check_frequency(int hits, int n, double p, double allowance, const std::string& what) {
  const double f = static_cast<double>(hits) / n;
  const double se = std::sqrt(std::max(p * (1 - p), 1.0 / n) / n);
  BOOST_TEST(std::abs(f - p) <= 4 * se + allowance, what << ": frequency " << f << " vs " << p);
}

}  // namespace

BOOST_AUTO_TEST_CASE(draws_have_unit_mean_and_follow_the_cdf) {
  const int n = 40000;
  for (const auto& l : all_laws()) {
    util::Rng rng(3, l.describe());
    double sum = 0;
    std::vector<double> xs;
    for (int i = 0; i < n; ++i) xs.push_back(l.draw(rng, i % 4 % (l.per_stage() ? 4 : 1)));
    for (double x : xs) sum += x;
    if (std::isfinite(l.variance(0)) && !l.per_stage()) {
      const double se = std::sqrt(l.variance(0) / n);
      BOOST_TEST(std::abs(sum / n - 1.0) < 4 * se, l.describe() << ": mean " << sum / n);
    }
    if (l.per_stage()) continue;
    for (double x : {0.25, 0.5, 0.9, 1.0, 1.6, 3.0}) {
      int hits = 0;
      for (double v : xs) hits += v <= x;
      check_frequency(hits, n, l.cdf(x, 0), 0.0, l.describe() + " cdf at " + std::to_string(x));
      BOOST_TEST(std::abs(l.cdf(x, 0) + l.survival(x, 0) - 1.0) < 1e-12);
    }
  }
  // Exponential and deterministic draws are the simulator's draws before laws existed.
  util::Rng a(9), b(9);
  BOOST_TEST(law(LawKind::kExponential).draw(a, 0) == b.exponential1());
  BOOST_TEST(law(LawKind::kDeterministic).draw(a, 0) == 1.0);
  BOOST_TEST(a.next_u64() == b.next_u64());
}

// The completion probabilities against sums of draws (the simulator's order: output stage first,
// step after step): 20,000 sequences per law and cost profile, every (n, x) cell within 4
// standard errors + 0.003 (the tables' discretisation, measured below 0.001).
BOOST_AUTO_TEST_CASE(sums_of_draws_follow_the_completion_model) {
  const int n = 20000, L = 4;
  const std::vector<std::vector<double>> costs{{1, 1, 1, 1}, {1.6, 0.4, 1.5, 0.5}};
  for (const auto& l : all_laws()) {
    for (const auto& cost : costs) {
      const plan::CompletionModel m(l, cost);
      const std::vector<double> steps{1.0, 1.0, 0.5};  // three local steps, the last half a batch
      std::vector<std::vector<double>> sums(n, std::vector<double>(L, 0.0));
      std::vector<double> all(n, 0.0);
      util::Rng rng(11, l.describe());
      for (int i = 0; i < n; ++i) {
        double t = 0;
        for (std::size_t j = 0; j < steps.size(); ++j) {
          for (int k = 0; k < L; ++k) {
            t += steps[j] * cost[L - 1 - k] * l.draw(rng, L - 1 - k);
            if (j == 0) sums[i][k] = t;
          }
        }
        all[i] = t;
      }
      const std::string who = l.describe() + (cost[0] == 1 ? " equal costs" : " unequal costs");
      for (int k = 1; k <= L; ++k) {
        for (double x : {0.5 * k, 0.9 * k, 1.0 * k, 1.3 * k, 2.0 * k}) {
          int hits = 0;
          for (int i = 0; i < n; ++i) hits += sums[i][k - 1] <= x;
          check_frequency(hits, n, m.within(k, x).p, 0.003,
                          who + " S_" + std::to_string(k) + " <= " + std::to_string(x));
        }
      }
      for (double x : {6.0, 9.0, 10.0, 12.0, 16.0}) {
        int hits = 0;
        for (double v : all) hits += v <= x;
        check_frequency(hits, n, m.steps_within(steps, x).p, 0.003,
                        who + " steps <= " + std::to_string(x));
      }
    }
  }
}

// Tables (forced by a cost a hair away from 1) against the closed forms, and the densities
// against finite differences of the CDFs (away from the shifted law's jump in density at k s,
// which the tables smooth over one grid cell).
BOOST_AUTO_TEST_CASE(tables_agree_with_closed_forms) {
  for (const auto& l : {law(LawKind::kExponential), law(LawKind::kGamma, 2.5),
                        law(LawKind::kShiftedExponential, 0.4)}) {
    const plan::CompletionModel exact(l, {1, 1, 1, 1, 1, 1});
    const plan::CompletionModel table(l, {1, 1, 1, 1, 1, 1 + 1e-12});
    BOOST_REQUIRE(exact.closed_form());
    BOOST_REQUIRE(!table.closed_form());
    double worst = 0, worst_f = 0;
    for (int k = 1; k <= 6; ++k) {
      for (double x = 0.1; x < 4.0 * k; x += 0.05 * k) {
        if (std::abs(x - k * l.minimum(0)) < 0.06 * k) continue;
        worst = std::max(worst, std::abs(exact.within(k, x).p - table.within(k, x).p));
        const plan::Tail a = exact.tail(k, x), b = table.tail(k, x);
        worst_f = std::max(worst_f, std::abs(a.f - b.f));
        const double h = 1e-5 * k;
        const double fd = (exact.within(k, x + h).p - exact.within(k, x - h).p) / (2 * h);
        BOOST_TEST(std::abs(a.f - fd) < 1e-6 + 1e-5 * a.f);
      }
    }
    BOOST_TEST_MESSAGE(l.describe()
                       << ": table vs closed form, CDF " << worst << ", density " << worst_f);
    BOOST_TEST(worst < 1e-3);
    BOOST_TEST(worst_f < 2e-2);
  }
}

BOOST_AUTO_TEST_CASE(incomplete_gamma_function) {
  for (double x : {0.01, 0.5, 1.0, 3.0, 10.0, 40.0}) {
    BOOST_TEST(plan::gamma_p(1.0, x) == -std::expm1(-x), boost::test_tools::tolerance(1e-13));
    BOOST_TEST(plan::gamma_p(0.5, x) == std::erf(std::sqrt(x)),
               boost::test_tools::tolerance(1e-12));
    for (int k : {2, 5, 17}) {
      BOOST_TEST(plan::gamma_q(k, x) == plan::q_upper(k, x), boost::test_tools::tolerance(1e-12));
      BOOST_TEST(plan::gamma_p(k, x) + plan::gamma_q(k, x) == 1.0,
                 boost::test_tools::tolerance(1e-14));
    }
  }
  BOOST_TEST(plan::gamma_q(3.0, 0.0) == 1.0);
  BOOST_CHECK_THROW(plan::gamma_p(0.0, 1.0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(empirical_csv_reader) {
  const fs::path dir = fs::temp_directory_path() / "fedgrid-test-empirical";
  fs::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  const auto pooled = plan::read_empirical_law(write("a.csv", "time\n2\n\n4\n6\n"), 3);
  BOOST_TEST(pooled.samples.size() == 1u);
  BOOST_TEST(pooled.samples[0] == std::vector<double>({0.5, 1.0, 1.5}));
  BOOST_TEST(!pooled.per_stage());
  const auto per = plan::read_empirical_law(write("b.csv", "stage,time\n1,3\n0,1\n0,3\n1,1\n"), 2);
  BOOST_TEST(per.per_stage());
  BOOST_TEST(per.samples[0] == std::vector<double>({0.5, 1.5}));
  BOOST_TEST(per.cdf(0.7, 1) == 0.5);
  const auto expect_error = [&](const std::string& text, const std::string& needle) {
    try {
      plan::read_empirical_law(write("bad.csv", text), 2);
      BOOST_ERROR("expected InputError for " << text);
    } catch (const util::InputError& e) {
      BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, e.what());
    }
  };
  expect_error("time\n1\n-2\n", "bad.csv:3: key 'time': expected a time > 0, found -2");
  expect_error("stage,time\n0,1\n2,1\n", "bad.csv:3: key 'stage': expected a stage in 0..1");
  expect_error("stage,time\n0,1\n", "at least one row for stage 1");
  expect_error("time\n", "at least one time");
  expect_error("duration\n1\n", "expected header 'time'");
  fs::remove_all(dir);
}

namespace {

using fedgrid::test::reference_inputs;  // the paper's CNN/MNIST row (reference_inputs.hpp)

}  // namespace

// The planner under other laws: the generic derivatives match finite differences, the plan
// satisfies the KKT conditions and sums to the budget; the exponential model gives the same plan
// (bit for bit) through either path.
BOOST_AUTO_TEST_CASE(planner_under_each_law) {
  plan::PlannerInputs in = reference_inputs();
  const plan::Plan paper = plan::solve_plan(in);
  in.timing = std::make_shared<const plan::CompletionModel>(plan::CompletionModel::paper(8));
  const plan::Plan same = plan::solve_plan(in);
  BOOST_TEST(same.m == paper.m);
  BOOST_TEST(same.deadlines == paper.deadlines);
  for (const auto& l :
       {law(LawKind::kGamma, 3.0), law(LawKind::kLognormal, 1.0), law(LawKind::kWeibull, 0.7),
        law(LawKind::kPareto, 2.5), law(LawKind::kShiftedExponential, 0.5)}) {
    in.timing = std::make_shared<const plan::CompletionModel>(l, std::vector<double>(8, 1.0));
    const plan::Objective obj(in);
    for (double m : {0.6, 1.0}) {
      for (double T : {5.0, 7.0, 10.0}) {
        if (T < 1.05 * obj.min_feasible_deadline(m)) continue;
        const double h = 1e-4;
        const auto s = obj.stage_cost(T, m), up = obj.stage_cost(T + h, m),
                   dn = obj.stage_cost(T - h, m);
        BOOST_TEST(std::abs(s.dc_dT - (up.c - dn.c) / (2 * h)) <= 1e-3 * std::abs(s.dc_dT) + 1e-9,
                   l.describe() << " dC/dT at T=" << T << " m=" << m);
        if (s.dc_dT < -1e-12) {
          BOOST_TEST(obj.log_marginal(T, m).log_h == std::log(-s.dc_dT),
                     boost::test_tools::tolerance(1e-9));
        }
      }
    }
    const plan::Plan p = plan::solve_plan(in);
    double sum = 0;
    for (double t : p.deadlines) sum += t;
    BOOST_TEST(sum == 200.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(p.objective <= p.objective_uniform_m1 + 1e-9);
    std::vector<double> lambdas;
    const double lb = std::max(in.T_min, obj.min_feasible_deadline(p.m));
    for (int t = 0; t < in.R; ++t) {
      if (p.deadlines[t] > lb * (1 + 1e-9))
        lambdas.push_back(-obj.weights()[t] * obj.stage_cost(p.deadlines[t], p.m).dc_dT);
    }
    for (double g : lambdas) {
      BOOST_TEST(std::abs(g - lambdas.front()) <= 1e-5 * std::abs(lambdas.front()),
                 l.describe() << ": KKT multipliers " << g << " vs " << lambdas.front());
    }
    BOOST_TEST_MESSAGE(l.describe() << ": m* " << p.m << ", T_1 " << p.deadlines.front() << ", T_R "
                                    << p.deadlines.back() << ", objective " << p.objective);
  }
}
