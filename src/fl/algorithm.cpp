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

// b_{u,t} = m * P_u * max(0, (T - B_u) / T) with T = T_t (per_round) or T_1 (first_round).
static double paper_batch(double m, const ClientInfo& c, double T) {
  return m * c.speed * std::max(0.0, (T - c.comm_time) / T);
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
  // Nominal T for batch rules of the wait-all baseline: the time budget spread evenly.
  auto nominal = [&](int t) {
    if (!deadlines_.empty()) return deadlines_[t];
    return cfg_.time_budget > 0 ? cfg_.time_budget / R : 1.0;
  };
  batches_.assign(R, std::vector<int>(U, 0));
  for (int t = 0; t < R; ++t) {
    for (int u = 0; u < U; ++u) {
      double want = cfg_.training.batch;
      if (cfg_.training.batch_rule == "per_round") want = paper_batch(m_, clients_[u], nominal(t));
      if (cfg_.training.batch_rule == "first_round") want = paper_batch(m_, clients_[u], nominal(0));
      long b = std::lround(want);
      long cap = static_cast<long>(clients_[u].shard);
      long got = std::clamp(b, 1L, std::max(1L, cap));
      if (got != b) clamps_.push_back({t + 1, u, want, static_cast<int>(got)});
      batches_[t][u] = static_cast<int>(got);
    }
  }
}

RoundPlan Algorithm::configure(int round) const {
  RoundPlan p;
  p.round = round;
  const int t = round - 1;
  for (int u = 0; u < static_cast<int>(clients_.size()); ++u) p.tasks.push_back({u, batches_[t][u]});
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
