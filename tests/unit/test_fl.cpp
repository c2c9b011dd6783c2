// Aggregation rules (hand-computed values, the unbiasedness claim checked statistically) and the
// Algorithm object's round plans (deadlines, batch rules, clamps, no-contributor probabilities).
#define BOOST_TEST_MODULE fl
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "fl/aggregate.hpp"
#include "fl/algorithm.hpp"
#include "plan/timing_stats.hpp"
#include "util/rng.hpp"

using namespace fedgrid;

// Two stages of sizes 1 and 2: flat vector [s0 | s1 s1].
static std::vector<nn::Stage> two_stages() { return {{"a", 0, 1, 0}, {"b", 1, 2, 0}}; }

static fl::Update upd(int client, int k, std::vector<float> g) {
  fl::Update u;
  u.client = client;
  u.stages_done = k;
  u.grad = Eigen::Map<nn::Vector>(g.data(), static_cast<Eigen::Index>(g.size()));
  return u;
}

BOOST_AUTO_TEST_CASE(hand_computed_rules) {
  auto st = two_stages();
  // Client 0 finished both stages, client 1 only the output stage (zeros elsewhere).
  fl::Update a = upd(0, 2, {1, 2, 4}), b = upd(1, 1, {0, 6, 8});
  std::vector<const fl::Update*> ups{&a, &b};
  // code: divide by U = 4 selected clients.
  auto c = fl::aggregate_updates(fl::Aggregation::kCode, st, ups, 4, {});
  BOOST_TEST(c.direction(0) == 0.25f);
  BOOST_TEST(c.direction(1) == 2.0f);
  BOOST_TEST(c.direction(2) == 3.0f);
  BOOST_TEST(c.contributors[0] == 1);
  BOOST_TEST(c.contributors[1] == 2);
  BOOST_TEST(c.active[0] == 1);
  // plain: mean over contributors.
  auto p = fl::aggregate_updates(fl::Aggregation::kPlain, st, ups, 4, {});
  BOOST_TEST(p.direction(0) == 1.0f);
  BOOST_TEST(p.direction(1) == 4.0f);
  BOOST_TEST(p.direction(2) == 6.0f);
  // unbiased: mean over contributors / (1 - p_s).
  auto u = fl::aggregate_updates(fl::Aggregation::kExchangeable, st, ups, 4, {0.5, 0.2});
  BOOST_TEST(u.direction(0) == 2.0f);
  BOOST_TEST(std::abs(u.direction(1) - 5.0f) < 1e-6f);
  BOOST_TEST(std::abs(u.direction(2) - 7.5f) < 1e-6f);
  // Nobody reached stage 0: plain and unbiased keep it, code averages zeros.
  std::vector<const fl::Update*> only_b{&b};
  auto p2 = fl::aggregate_updates(fl::Aggregation::kPlain, st, only_b, 4, {});
  BOOST_TEST(p2.active[0] == 0);
  BOOST_TEST(p2.direction(0) == 0.0f);
  auto c2 = fl::aggregate_updates(fl::Aggregation::kCode, st, only_b, 4, {});
  BOOST_TEST(c2.active[0] == 1);
  BOOST_CHECK_THROW(fl::aggregate_updates(fl::Aggregation::kExchangeable, st, ups, 4, {1.0, 0.0}),
                    std::invalid_argument);
}

// Spec 4.5: with i.i.d. stage counts K_u ~ min(Poisson(x), L), the unbiased rule's mean over
// rounds equals the full-participation mean; the code rule shrinks stage s by 1 - Q(L-s, x).
BOOST_AUTO_TEST_CASE(unbiased_rule_is_unbiased_code_rule_is_not) {
  const int U = 10, L = 4, rounds = 40000;
  const double x = 2.5;
  std::vector<nn::Stage> st;
  for (int s = 0; s < L; ++s) st.push_back({"s" + std::to_string(s), std::size_t(s) * 3, 3, 0});
  util::Rng rng(11);
  std::vector<fl::Update> all(U);
  nn::Vector full = nn::Vector::Zero(3 * L);
  for (int u = 0; u < U; ++u) {
    all[u].client = u;
    all[u].grad = nn::Vector(3 * L);
    for (int i = 0; i < 3 * L; ++i) all[u].grad(i) = static_cast<float>(1.0 + rng.normal());
    full += all[u].grad / U;
  }
  std::vector<double> p(L);
  for (int s = 0; s < L; ++s) p[s] = std::pow(plan::q_upper(L - s, x), U);
  Eigen::VectorXd sum_unb = Eigen::VectorXd::Zero(3 * L), sum_code = sum_unb;
  for (int r = 0; r < rounds; ++r) {
    std::vector<fl::Update> ups;
    std::vector<const fl::Update*> ptrs;
    ups.reserve(U);
    for (int u = 0; u < U; ++u) {
      int k = static_cast<int>(std::min<uint64_t>(rng.poisson(x), L));
      if (k == 0) continue;
      ups.push_back(all[u]);
      ups.back().stages_done = k;
      for (int s = 0; s < L - k; ++s) ups.back().grad.segment(3 * s, 3).setZero();
    }
    for (auto& u : ups) ptrs.push_back(&u);
    auto unb = fl::aggregate_updates(fl::Aggregation::kExchangeable, st, ptrs, U, p);
    auto code = fl::aggregate_updates(fl::Aggregation::kCode, st, ptrs, U, p);
    if (unb.direction.size()) sum_unb += unb.direction.cast<double>();
    if (code.direction.size()) sum_code += code.direction.cast<double>();
  }
  Eigen::VectorXd mean_unb = sum_unb / rounds, mean_code = sum_code / rounds;
  Eigen::VectorXd target = full.cast<double>();
  for (int s = 0; s < L; ++s) {
    const double rel = (mean_unb.segment(3 * s, 3) - target.segment(3 * s, 3)).norm() /
                       target.segment(3 * s, 3).norm();
    // 40,000 rounds: the per-stage standard error is below 1% here; 3% is the tolerance.
    BOOST_TEST(rel < 0.03, "unbiased rule, stage " << s << ": relative error " << rel);
    const double shrink = 1.0 - plan::q_upper(L - s, x);
    const double rel_code =
        (mean_code.segment(3 * s, 3) - shrink * target.segment(3 * s, 3)).norm() /
        target.segment(3 * s, 3).norm();
    BOOST_TEST(rel_code < 0.03, "code rule, stage " << s << ": " << rel_code);
  }
  // The code rule is measurably biased on the input stage: E = (1 - Q(4, 2.5)) g = 0.24 g.
  BOOST_TEST(mean_code.segment(0, 3).norm() < 0.5 * target.segment(0, 3).norm());
}

// An algorithm as the scenario loader would configure it (its own keys at their defaults).
static std::unique_ptr<fl::Algorithm> make(fl::AlgorithmConfig cfg,
                                           const std::vector<fl::ClientInfo>& infos, int L) {
  cfg.params = fl::default_params(cfg.name);
  return fl::make_algorithm(cfg, infos, L);
}

static std::vector<fl::ClientInfo> clients() {
  return {{100, 0.5, 1000}, {400, 0.0, 1000}, {50, 1.0, 30}};
}

BOOST_AUTO_TEST_CASE(salf_plan_and_paper_batch_rule) {
  fl::AlgorithmConfig cfg;
  cfg.name = "salf";
  cfg.rounds = 5;
  cfg.time_budget = 20;
  cfg.aggregation = fl::Aggregation::kExchangeable;
  cfg.training.batch_rule = fl::BatchRule::kPerRound;
  cfg.training.lr = 0.5;
  const auto salf = make(cfg, clients(), 6);
  const fl::Algorithm& a = *salf;
  fl::RoundPlan p = a.configure(2);
  BOOST_TEST(p.deadline == 4.0);
  BOOST_TEST(p.lr == 0.25);  // lr / t
  BOOST_TEST(p.partial_stages);
  BOOST_TEST(!p.partial_steps);
  // b = round(m P (T - B) / T) with m = 1, T = 4: 100*3.5/4 = 87.5 -> 88 (ties to even), 400,
  // 50*3/4 = 37.5 -> 38 clamped to the shard of 30.
  BOOST_TEST(p.tasks[0].batch == 88);
  BOOST_TEST(p.tasks[1].batch == 400);
  BOOST_TEST(p.tasks[2].batch == 30);
  BOOST_TEST(a.clamps().size() == 5u);  // client 2 in every round
  BOOST_TEST(a.clamps()[0].wanted == 38);
  BOOST_TEST(a.planned_batch(2, 2) == 38);
  // p_s = prod_u Q(L - s, (T - B_u) P_u / b_u).
  auto pn = a.expected_no_contributor(p);
  for (int s = 0; s < 6; ++s) {
    double want = plan::q_upper(6 - s, 3.5 * 100 / 88) * plan::q_upper(6 - s, 4.0 * 400 / 400) *
                  plan::q_upper(6 - s, 3.0 * 50 / 30);
    BOOST_TEST(std::abs(pn[s] - want) < 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(baselines) {
  fl::AlgorithmConfig cfg;
  cfg.name = "fedavg-deadline";
  cfg.rounds = 3;
  cfg.deadline = 2.5;
  cfg.training.batch = 16;
  const auto dp = make(cfg, clients(), 4);
  const fl::Algorithm& d = *dp;
  auto p = d.configure(3);
  BOOST_TEST(p.deadline == 2.5);
  BOOST_TEST(!p.partial_stages);
  BOOST_TEST(!p.partial_steps);
  BOOST_TEST(p.tasks.size() == 3u);
  BOOST_TEST(p.tasks[2].batch == 16);
  // Only complete updates count: a partial one is ignored by the aggregation.
  std::vector<nn::Stage> st = {{"a", 0, 1, 0}, {"b", 1, 1, 0}, {"c", 2, 1, 0}, {"d", 3, 1, 0}};
  std::vector<fl::Update> ups = {upd(0, 4, {1, 1, 1, 1}), upd(1, 3, {0, 5, 5, 5})};
  auto r = d.aggregate(p, ups, st);
  BOOST_TEST(r.contributors[3] == 1);
  BOOST_TEST(r.direction(3) == 1.0f);
  cfg.name = "fedavg";
  const auto wp = make(cfg, clients(), 4);
  const fl::Algorithm& w = *wp;
  BOOST_TEST(w.waits_for_all());
  BOOST_TEST(std::isinf(w.configure(1).deadline));
  BOOST_TEST(w.expected_no_contributor(w.configure(1)).empty());
}

// algorithm.clients_per_round: K of U clients per round, uniform without replacement, seeded by
// (seed, round); the code rule divides by K. Checked exactly (sizes, order, determinism) and
// statistically (every client's and every pair's selection frequency).
BOOST_AUTO_TEST_CASE(client_selection) {
  const int U = 12, K = 4, R = 6000;
  std::vector<fl::ClientInfo> infos(U, fl::ClientInfo{100, 0.5, 50});
  fl::AlgorithmConfig cfg;
  cfg.name = "salf";
  cfg.rounds = R;
  cfg.deadline = 2;
  cfg.training.batch = 8;
  cfg.clients_per_round = K;
  cfg.seed = 77;
  cfg.aggregation = fl::Aggregation::kCode;
  const auto ap = make(cfg, infos, 2);
  const fl::Algorithm& a = *ap;
  BOOST_TEST(a.clients_per_round() == K);
  std::vector<int> picked(U, 0);
  int pair01 = 0, same_as_previous = 0;
  std::vector<int> previous;
  for (int r = 1; r <= R; ++r) {
    fl::RoundPlan p = a.configure(r);
    BOOST_REQUIRE(p.tasks.size() == std::size_t(K));
    std::vector<int> ids;
    for (const auto& t : p.tasks) ids.push_back(t.client);
    for (int i = 1; i < K; ++i) BOOST_REQUIRE(ids[i - 1] < ids[i]);  // sorted and distinct
    BOOST_REQUIRE(ids.front() >= 0 && ids.back() < U);
    for (int u : ids) ++picked[u];
    pair01 += std::count(ids.begin(), ids.end(), 0) && std::count(ids.begin(), ids.end(), 1);
    same_as_previous += ids == previous;
    previous = ids;
  }
  // Same round, same selection; another seed, another one.
  const auto first = a.configure(5);
  BOOST_TEST(first.tasks[0].client == a.configure(5).tasks[0].client);
  cfg.seed = 78;
  const auto bp = make(cfg, infos, 2);
  const fl::Algorithm& b = *bp;
  int differ = 0;
  for (int r = 1; r <= 20; ++r) {
    differ += b.configure(r).tasks[0].client != a.configure(r).tasks[0].client ||
              b.configure(r).tasks[1].client != a.configure(r).tasks[1].client;
  }
  BOOST_TEST(differ > 10);
  // P(client picked) = K/U = 1/3: mean 2000 per client, sd sqrt(R p (1-p)) = 36.5; 5 sd = 183.
  for (int u = 0; u < U; ++u) BOOST_TEST(std::abs(picked[u] - R * K / U) < 183);
  // P(0 and 1 both picked) = K(K-1) / (U(U-1)) = 1/11: mean 545, sd 22; 5 sd = 111.
  BOOST_TEST(std::abs(pair01 - R / 11.0) < 111);
  // 495 possible subsets: a repeated selection in consecutive rounds is rare (mean 12).
  BOOST_TEST(same_as_previous < 40);
  // The code rule averages over the K selected clients: two updates of 3 and 5 give 8 / 4.
  std::vector<nn::Stage> st = {{"a", 0, 1, 0}, {"b", 1, 1, 0}};
  std::vector<fl::Update> ups = {upd(first.tasks[0].client, 2, {3, 3}),
                                 upd(first.tasks[1].client, 1, {0, 5})};
  auto agg = a.aggregate(first, ups, st);
  BOOST_TEST(agg.direction(0) == 0.75f);
  BOOST_TEST(agg.direction(1) == 2.0f);
  // clients_per_round >= U (or 0) means every client, in order.
  cfg.clients_per_round = U;
  const auto allp = make(cfg, infos, 2);
  const fl::Algorithm& all = *allp;
  BOOST_TEST(all.configure(3).tasks.size() == std::size_t(U));
  BOOST_TEST(all.configure(3).tasks[U - 1].client == U - 1);
}
