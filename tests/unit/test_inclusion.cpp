// The inclusion-probability (Horvitz-Thompson) aggregation rule: hand-computed values, and the
// Monte-Carlo mean of fl::Algorithm::aggregate (the real rule with the real probability code)
// on 20 clients whose speeds and expected gradients differ, against the full-participation mean;
// the exchangeable rule (formerly `unbiased`) and the hajek rule on the same draws; deterministic
// times (pi in {0, 1}); the availability formulas against a direct simulation of the device
// timelines.
#define BOOST_TEST_MODULE inclusion
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "fl/aggregate.hpp"
#include "fl/algorithm.hpp"
#include "plan/inclusion.hpp"
#include "platform/availability.hpp"
#include "util/rng.hpp"

using namespace fedgrid;

static fl::Update upd(int client, int k, std::vector<float> g) {
  fl::Update u;
  u.client = client;
  u.stages_done = k;
  u.grad = Eigen::Map<nn::Vector>(g.data(), static_cast<Eigen::Index>(g.size()));
  return u;
}

BOOST_AUTO_TEST_CASE(hand_computed_inclusion_rule) {
  std::vector<nn::Stage> st{{"a", 0, 1, 0}, {"b", 1, 2, 0}};
  fl::Update a = upd(0, 2, {1, 2, 4}), b = upd(1, 1, {0, 6, 8});
  std::vector<const fl::Update*> ups{&a, &b};
  fl::Inclusion inc;
  inc.pi = {{0.5, 1.0}, {0.25, 0.8}};  // update b's stage-0 value is not used (not reached)
  inc.reachable = {3.0, 4.0};
  auto r = fl::aggregate_updates(fl::Aggregation::kInclusion, st, ups, 4, {}, nullptr, &inc);
  // Stage 0: (1 / 0.5) / 3; stage 1: (2 / 1 + 6 / 0.8) / 4 and (4 / 1 + 8 / 0.8) / 4.
  BOOST_TEST(std::abs(r.direction(0) - 2.0f / 3.0f) < 1e-6f);
  BOOST_TEST(std::abs(r.direction(1) - 9.5f / 4.0f) < 1e-6f);
  BOOST_TEST(std::abs(r.direction(2) - 14.0f / 4.0f) < 1e-6f);
  BOOST_TEST(r.active[0] == 1);
  BOOST_TEST(r.contributors[1] == 2);
  // hajek: normalised by the contributors' own weights: stage 1 = (2/1 + 6/0.8) / (1/1 + 1/0.8).
  auto h = fl::aggregate_updates(fl::Aggregation::kHajek, st, ups, 4, {}, nullptr, &inc);
  BOOST_TEST(std::abs(h.direction(0) - 1.0f) < 1e-6f);
  BOOST_TEST(std::abs(h.direction(1) - 9.5f / 2.25f) < 1e-6f);
  // Sample weights q_u = 10, 30: stage 1 = (10*2/1 + 30*6/0.8) / reachable weight 40.
  fl::Weights w{{10.0, 30.0}, 40.0};
  inc.reachable = {40.0, 40.0};
  auto rw = fl::aggregate_updates(fl::Aggregation::kInclusion, st, ups, 2, {}, &w, &inc);
  BOOST_TEST(std::abs(rw.direction(1) - (20.0f + 225.0f) / 40.0f) < 1e-4f);
  // A contributor with pi = 0, or without the probabilities, is an error, not a silent weight.
  inc.pi[1][1] = 0.0;
  BOOST_CHECK_THROW(fl::aggregate_updates(fl::Aggregation::kInclusion, st, ups, 2, {}, &w, &inc),
                    std::invalid_argument);
  BOOST_CHECK_THROW(fl::aggregate_updates(fl::Aggregation::kInclusion, st, ups, 2, {}),
                    std::invalid_argument);
}

namespace {

constexpr int kU = 20, kL = 4, kDim = 2;

// 20 clients: speeds 40 x 1.2^u samples/s, communication 0 .. 0.2 s, batch 100, deadline 4 s:
// x_u = (4 - B_u) P_u / 100 from 1.6 to 61, so the input stage's pi_u ranges from 0.08 to 1.
std::vector<fl::ClientInfo> heterogeneous_clients() {
  std::vector<fl::ClientInfo> c;
  for (int u = 0; u < kU; ++u) c.push_back({40.0 * std::pow(1.2, u), 0.05 * (u % 5), 1000});
  return c;
}

std::unique_ptr<fl::Algorithm> salf(fl::Aggregation rule, plan::StageLaw law,
                                    std::vector<double> cost = {}) {
  fl::AlgorithmConfig cfg;
  cfg.name = "salf";
  cfg.rounds = 1;
  cfg.deadline = 4.0;
  cfg.aggregation = rule;
  cfg.training.batch = 100;
  cfg.params = fl::default_params("salf");
  cfg.stage_law = std::move(law);
  cfg.stage_cost = std::move(cost);
  return fl::make_algorithm(cfg, heterogeneous_clients(), kL);
}

// Stages the client finishes: its stage times drawn output first as the simulator does
// (client.cpp: batch x work x law draw / speed), counted while they fit in T - B_u.
int stages_done(const fl::ClientInfo& c, const plan::StageLaw& law, const std::vector<double>& cost,
                util::Rng& rng) {
  const double unit = 100.0 / c.speed, budget = 4.0 - c.comm_time;
  double t = 0.0;
  int k = 0;
  while (k < kL) {
    const int s = kL - 1 - k;
    t += unit * (cost.empty() ? 1.0 : cost[s]) * law.draw(rng, s);
    if (t > budget) break;
    ++k;
  }
  return k;
}

struct MonteCarlo {
  std::vector<double> incl_error, exch_error, hajek_error;  // per stage: |mean - full| / |full|
};

// Mean of the aggregate over `rounds` rounds of both rules on the same draws. Client u's
// expected gradient grows with its speed (1 + 3u/U); each round adds N(0, 0.3^2) noise.
MonteCarlo monte_carlo(const plan::StageLaw& law, const std::vector<double>& cost, int rounds) {
  const auto incl = salf(fl::Aggregation::kInclusion, law, cost);
  const auto exch = salf(fl::Aggregation::kExchangeable, law, cost);
  const auto hajek = salf(fl::Aggregation::kHajek, law, cost);
  std::vector<nn::Stage> st;
  for (int s = 0; s < kL; ++s)
    st.push_back({"s" + std::to_string(s), std::size_t(s) * kDim, kDim, 0});
  const auto clients = heterogeneous_clients();
  Eigen::VectorXd full = Eigen::VectorXd::Zero(kL * kDim);
  std::vector<Eigen::VectorXd> mean_grad(kU);
  for (int u = 0; u < kU; ++u) {
    mean_grad[u] = Eigen::VectorXd::Zero(kL * kDim);
    for (int s = 0; s < kL; ++s) {
      mean_grad[u](s * kDim) = (1.0 + 3.0 * u / kU) * (1.0 + 0.2 * s);
      mean_grad[u](s * kDim + 1) = -0.5 * (1.0 + 3.0 * u / kU);
    }
    full += mean_grad[u] / kU;
  }
  const fl::RoundPlan plan = incl->configure(1);
  Eigen::VectorXd sum_i = Eigen::VectorXd::Zero(kL * kDim), sum_e = sum_i, sum_h = sum_i;
  util::Rng noise(7);
  for (int r = 0; r < rounds; ++r) {
    std::vector<fl::Update> ups;
    for (int u = 0; u < kU; ++u) {
      util::Rng rng(2024, "timing", u, r);
      const int k = stages_done(clients[u], law, cost, rng);
      if (k == 0) continue;
      fl::Update up;
      up.client = u;
      up.stages_done = k;
      up.grad = nn::Vector::Zero(kL * kDim);
      for (int i = (kL - k) * kDim; i < kL * kDim; ++i)
        up.grad(i) = static_cast<float>(mean_grad[u](i) + 0.3 * noise.normal());
      ups.push_back(std::move(up));
    }
    const auto a = incl->aggregate(plan, ups, st), b = exch->aggregate(plan, ups, st);
    if (a.direction.size()) sum_i += a.direction.cast<double>();
    if (b.direction.size()) sum_e += b.direction.cast<double>();
    const auto c = hajek->aggregate(plan, ups, st);
    if (c.direction.size()) sum_h += c.direction.cast<double>();
  }
  MonteCarlo mc;
  for (int s = 0; s < kL; ++s) {
    const auto target = full.segment(s * kDim, kDim);
    mc.incl_error.push_back((sum_i.segment(s * kDim, kDim) / rounds - target).norm() /
                            target.norm());
    mc.exch_error.push_back((sum_e.segment(s * kDim, kDim) / rounds - target).norm() /
                            target.norm());
    mc.hajek_error.push_back((sum_h.segment(s * kDim, kDim) / rounds - target).norm() /
                             target.norm());
  }
  return mc;
}

}  // namespace

// The acceptance test: 20,000 rounds (the input stage's per-round relative sd is 0.14,
// so the standard error of its mean is 0.1%): the inclusion rule within 1% of the
// full-participation mean on every stage, the exchangeable rule more than 10% off (fast clients,
// whose gradients are larger here, reach the input stage far more often).
BOOST_AUTO_TEST_CASE(inclusion_rule_unbiased_for_heterogeneous_clients) {
  const MonteCarlo mc = monte_carlo(plan::StageLaw{}, {}, 20000);
  double worst_exchangeable = 0.0;
  for (int s = 0; s < kL; ++s) {
    BOOST_TEST_MESSAGE("stage " << s << ": inclusion " << mc.incl_error[s] << ", exchangeable "
                                << mc.exch_error[s] << ", hajek " << mc.hajek_error[s]);
    BOOST_TEST(mc.hajek_error[s] <= mc.exch_error[s] + 0.002);
    BOOST_TEST(mc.incl_error[s] < 0.01, "inclusion rule, stage " << s << ": " << mc.incl_error[s]);
    worst_exchangeable = std::max(worst_exchangeable, mc.exch_error[s]);
  }
  BOOST_TEST(worst_exchangeable > 0.10);
  BOOST_TEST(mc.exch_error[0] > 0.10);
}

// Unequal stage costs (stage_cost: flops) take the numerical path of the probability code; the
// rule stays unbiased (no fallback to plain).
BOOST_AUTO_TEST_CASE(inclusion_rule_unbiased_with_unequal_stage_costs) {
  const MonteCarlo mc = monte_carlo(plan::StageLaw{}, {1.6, 0.4, 1.5, 0.5}, 20000);
  for (int s = 0; s < kL; ++s) {
    BOOST_TEST(mc.incl_error[s] < 0.01, "inclusion rule, stage " << s << ": " << mc.incl_error[s]);
  }
  BOOST_TEST(mc.exch_error[0] > 0.10);
}

// Deterministic stage times: pi is 0 or 1, the rule is the mean over the clients that can reach
// a stage (the only mean an estimator can be unbiased for), i.e. the plain mean of the
// contributors; layers.csv's no-contributor probability is exactly 0 or 1.
BOOST_AUTO_TEST_CASE(deterministic_times_give_the_mean_over_reachable_clients) {
  plan::StageLaw det;
  det.kind = plan::LawKind::kDeterministic;
  const auto a = salf(fl::Aggregation::kInclusion, det);
  const fl::RoundPlan plan = a->configure(1);
  const auto pis = a->inclusion_probabilities(plan);
  const auto clients = heterogeneous_clients();
  std::vector<fl::Update> ups;
  std::vector<nn::Stage> st;
  for (int s = 0; s < kL; ++s) st.push_back({"s", std::size_t(s), 1, 0});
  double sum0 = 0.0;
  int reach0 = 0;
  for (int u = 0; u < kU; ++u) {
    util::Rng rng(1);
    const int k = stages_done(clients[u], det, {}, rng);
    for (int s = 0; s < kL; ++s) BOOST_TEST(pis[u][s].p == (s >= kL - k ? 1.0 : 0.0));
    if (k == 0) continue;
    ups.push_back(upd(u, k, std::vector<float>(kL, static_cast<float>(u))));
    if (k == kL) sum0 += u, ++reach0;
  }
  BOOST_REQUIRE(reach0 > 0);
  BOOST_REQUIRE(reach0 < kU);
  const auto r = a->aggregate(plan, ups, st);
  BOOST_TEST(std::abs(r.direction(0) - sum0 / reach0) < 1e-4);
  for (double p : a->expected_no_contributor(plan)) BOOST_TEST((p == 0.0 || p == 1.0));
}

// The alternating-availability formula of plan::delivery_probabilities against a direct
// simulation of the device timelines (platform::ClientTimeline) with the simulator's rules: off at
// the round start = nothing; complete work is uploaded at B + S, partial work at the deadline;
// the device must stay on until then. 40,000 rounds per case, within 4 standard errors.
BOOST_AUTO_TEST_CASE(availability_formula_matches_simulated_timelines) {
  const auto model = plan::CompletionModel::paper(kL);
  plan::Availability a;
  a.kind = plan::Availability::Kind::kAlternating;
  a.mean_up = 8.0;
  a.mean_down = 3.0;
  for (double start : {0.0, 2.5, 40.0}) {
    plan::ClientRound r;
    r.unit = 0.6, r.deadline = 4.0, r.comm = 0.3, r.start = start;
    r.x = (r.deadline - r.comm) / r.unit;
    const auto pis = plan::delivery_probabilities(model, r, plan::Counts::kStageSuffix, a);
    const int n = 40000;
    std::vector<int> hits(kL, 0);
    for (int i = 0; i < n; ++i) {
      platform::ClientTimeline tl(99, i, a.mean_up, a.mean_down);
      double date = 0.0, last = 0.0;
      bool on = true, state = true;
      while (tl.next(&date, &on) && date <= start) last = date, state = on;
      const double off =
          state ? date : last;  // next off after the start (date: first change after)
      if (!state) continue;     // off at the start
      util::Rng rng(5, "t", i);
      double t = 0.0;
      int k = 0;
      while (k < kL && (t += r.unit * rng.exponential1()) <= r.deadline - r.comm) ++k;
      const double upload_end = start + (k == kL ? r.comm + t : r.deadline);
      if (k == 0 || off < upload_end) continue;
      for (int s = kL - k; s < kL; ++s) ++hits[s];
    }
    for (int s = 0; s < kL; ++s) {
      const double f = static_cast<double>(hits[s]) / n, p = pis[s].p;
      const double se = std::sqrt(p * (1 - p) / n);
      BOOST_TEST(std::abs(f - p) < 4 * se + 1e-9,
                 "start " << start << " stage " << s << ": " << f << " vs " << p);
    }
  }
}
