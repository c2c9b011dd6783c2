// The one Algorithm object: per-round deadlines and batches (fixed, paper rule or ADEL-FL plan),
// and aggregation of a round's updates with the configured layer-wise rule.
#include "fl/algorithm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "fl/adel_plan.hpp"
#include "plan/timing_stats.hpp"

namespace fedgrid::fl {

AlgorithmKind parse_algorithm_kind(const std::string& name) {
  if (name == "fedavg") return AlgorithmKind::kFedAvg;
  if (name == "fedavg-deadline") return AlgorithmKind::kFedAvgDeadline;
  if (name == "salf") return AlgorithmKind::kSalf;
  if (name == "adel-fl") return AlgorithmKind::kAdelFl;
  throw std::invalid_argument("unknown algorithm '" + name + "'");
}

Aggregation default_aggregation(AlgorithmKind kind) {
  switch (kind) {
    case AlgorithmKind::kFedAvg:
    case AlgorithmKind::kFedAvgDeadline:
      return Aggregation::kPlain;
    case AlgorithmKind::kSalf:
    case AlgorithmKind::kAdelFl:
      return Aggregation::kUnbiased;
  }
  return Aggregation::kPlain;
}

Algorithm::Algorithm(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
    : cfg_(cfg), clients_(std::move(clients)), num_stages_(num_stages) {
  const int R = cfg_.rounds;
  const int U = static_cast<int>(clients_.size());
  if (cfg_.kind == AlgorithmKind::kAdelFl) {
    AdelPlan p = solve_adel_plan(cfg_, clients_, num_stages_);
    deadlines_ = p.deadlines;
    m_ = p.m;
    objective_ = p.objective;
  } else if (cfg_.kind != AlgorithmKind::kFedAvg) {
    double T = cfg_.deadline > 0 ? cfg_.deadline : cfg_.time_budget / R;
    deadlines_.assign(R, T);
  }
  // Deadlines the batch rules see; the wait-for-all baseline uses the budget spread evenly.
  std::vector<double> nominal = deadlines_;
  if (nominal.empty()) nominal.assign(R, cfg_.time_budget > 0 ? cfg_.time_budget / R : 1.0);
  std::vector<double> P, B;
  std::vector<int> shards;
  for (const auto& c : clients_) {
    P.push_back(c.speed);
    B.push_back(c.comm_time);
    shards.push_back(static_cast<int>(c.shard));
  }
  const std::string& rule = cfg_.training.batch_rule;
  planned_.assign(R, std::vector<long>(U, cfg_.training.batch));
  if (rule == "fixed") {
    batches_.assign(R, std::vector<int>(U, 0));
    for (int u = 0; u < U; ++u) {
      const int got = std::clamp(cfg_.training.batch, 1, std::max(1, shards[u]));
      if (got != cfg_.training.batch) clamps_.push_back({u, 1, cfg_.training.batch, got});
      for (int t = 0; t < R; ++t) batches_[t][u] = got;
    }
  } else {
    const auto r = rule == "per_round" ? plan::BatchRule::kPerRound : plan::BatchRule::kFirstRound;
    plan::BatchPlan bp = plan::plan_batches(P, B, nominal, m_, r, shards);
    batches_ = std::move(bp.batch);
    clamps_ = std::move(bp.clamps);
    for (int t = 0; t < R; ++t) {
      const double T = nominal[r == plan::BatchRule::kPerRound ? t : 0];
      for (int u = 0; u < U; ++u) planned_[t][u] = plan::batch_size(m_, P[u], B[u], T);
    }
  }
}

RoundPlan Algorithm::configure(int round) const {
  RoundPlan p;
  p.round = round;
  const int t = round - 1;
  for (int u = 0; u < static_cast<int>(clients_.size()); ++u)
    p.tasks.push_back({u, batches_[t][u]});
  if (!deadlines_.empty()) p.deadline = deadlines_[t];
  p.full_only = cfg_.kind == AlgorithmKind::kFedAvgDeadline;
  p.lr = cfg_.training.inverse_schedule ? cfg_.training.lr / round : cfg_.training.lr;
  return p;
}

std::vector<double> Algorithm::expected_no_contributor(const RoundPlan& plan) const {
  std::vector<double> p;
  if (!std::isfinite(plan.deadline) || !cfg_.paper_timing) return p;
  const int L = num_stages_;
  p.assign(L, 1.0);
  // Stage s (0-based) needs L - s exponential backward steps of mean tau_u = b_u / P_u within
  // the compute budget T - B_u: P(miss) = Q(L - s, (T - B_u) / tau_u); independent clients.
  for (const auto& task : plan.tasks) {
    const ClientInfo& c = clients_[task.client];
    double budget = std::max(0.0, plan.deadline - c.comm_time);
    double x = budget * c.speed / task.batch;
    for (int s = 0; s < L; ++s) p[s] *= plan::q_upper(L - s, x);
  }
  if (plan.full_only) {
    // Only complete updates count: every stage needs the whole backward pass.
    for (int s = 0; s < L; ++s) p[s] = p[0];
  }
  return p;
}

AggregateResult Algorithm::aggregate(const RoundPlan& plan, const std::vector<Update>& updates,
                                     const std::vector<nn::Stage>& stages) const {
  std::vector<const Update*> used;
  for (const auto& u : updates) {
    if (plan.full_only && u.stages_done < num_stages_) continue;
    if (u.stages_done > 0) used.push_back(&u);
  }
  std::vector<double> p_none;
  if (cfg_.aggregation == Aggregation::kUnbiased) {
    p_none = expected_no_contributor(plan);
    for (double& v : p_none) v = std::min(v, 1.0 - 1e-12);
  }
  return aggregate_updates(cfg_.aggregation, stages, used, static_cast<int>(plan.tasks.size()),
                           p_none);
}

}  // namespace fedgrid::fl
