// The one Algorithm object: per-round deadlines and batches (fixed, paper rule or ADEL-FL plan),
// and aggregation of a round's updates with the configured layer-wise rule.
#include "fl/algorithm.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

#include "fl/adel_plan.hpp"
#include "plan/timing_stats.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

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
  nominal_ = deadlines_;
  if (nominal_.empty()) nominal_.assign(R, cfg_.time_budget > 0 ? cfg_.time_budget / R : 1.0);
  // Clamps to [1, shard]: fixed and first_round batches are the same every round (reported
  // once, as round 1); per_round ones are reported for every round, rounds first.
  const std::string& rule = cfg_.training.batch_rule;
  if (rule != "fixed") {
    for (int u = 0; u < U; ++u) {
      if (clients_[u].shard < 1) {
        throw util::InputError("ADEL-FL batches: client " + std::to_string(u) +
                               ": expected a data shard of at least 1 sample, found 0");
      }
    }
  }
  const int clamp_rounds = rule == "per_round" ? R : 1;
  for (int t = 1; t <= clamp_rounds; ++t) {
    for (int u = 0; u < U; ++u) {
      const long wanted = planned_batch(t, u);
      const int got = batch(t, u);
      if (got != wanted) clamps_.push_back({u, t, wanted, got});
    }
  }
}

long Algorithm::planned_batch(int round, int client) const {
  const std::string& rule = cfg_.training.batch_rule;
  if (rule == "fixed") return cfg_.training.batch;
  const double T = nominal_[rule == "per_round" ? round - 1 : 0];
  const ClientInfo& c = clients_[client];
  return plan::batch_size(m_, c.speed, c.comm_time, T);
}

int Algorithm::batch(int round, int client) const {
  const long shard = static_cast<long>(clients_[client].shard);
  return static_cast<int>(std::clamp<long>(planned_batch(round, client), 1, std::max(1L, shard)));
}

int Algorithm::clients_per_round() const {
  const int U = static_cast<int>(clients_.size());
  const int K = cfg_.clients_per_round;
  return K > 0 && K < U ? K : U;
}

// K of U clients, uniform without replacement (Floyd's algorithm), sorted by id.
std::vector<int> Algorithm::select(int round) const {
  const int U = static_cast<int>(clients_.size());
  const int K = clients_per_round();
  std::vector<int> out;
  if (K == U) {
    out.resize(U);
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  util::Rng rng(cfg_.seed, "select", static_cast<uint64_t>(round));
  std::unordered_set<int> chosen;
  chosen.reserve(2 * static_cast<std::size_t>(K));
  for (int j = U - K; j < U; ++j) {
    const int t = static_cast<int>(rng.below(static_cast<uint64_t>(j) + 1));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  out.assign(chosen.begin(), chosen.end());
  std::sort(out.begin(), out.end());
  return out;
}

RoundPlan Algorithm::configure(int round) const {
  RoundPlan p;
  p.round = round;
  const int t = round - 1;
  for (int u : select(round)) p.tasks.push_back({u, batch(round, u)});
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
