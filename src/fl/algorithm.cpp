// What every algorithm shares: client selection, batches (fixed or the paper's rule), local
// steps, the step-size schedule, weighted layer-wise aggregation and the server's SGD step.
#include "fl/algorithm.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

#include "plan/timing_stats.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::fl {

namespace {
const AlgorithmInfo& info_of(const std::string& name) {
  const AlgorithmInfo* info = find_algorithm(name);
  if (!info) throw std::invalid_argument("unknown algorithm '" + name + "'");
  return *info;
}
}  // namespace

Algorithm::Algorithm(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
    : cfg_(cfg), info_(info_of(cfg.name)), clients_(std::move(clients)), num_stages_(num_stages) {}

std::vector<double> Algorithm::fixed_deadlines() const {
  const int R = cfg_.rounds;
  if (cfg_.deadline > 0) return std::vector<double>(R, cfg_.deadline);
  if (cfg_.time_budget > 0) return std::vector<double>(R, cfg_.time_budget / R);
  return {};
}

void Algorithm::set_schedule(std::vector<double> deadlines, double m, bool partial_stages,
                             bool partial_steps) {
  deadlines_ = std::move(deadlines);
  m_ = m;
  partial_stages_ = partial_stages;
  partial_steps_ = partial_steps;
  const int R = cfg_.rounds;
  const int U = static_cast<int>(clients_.size());
  // Deadlines the batch rules see; the wait-for-all baseline uses the budget spread evenly.
  nominal_ = deadlines_;
  if (nominal_.empty()) nominal_.assign(R, cfg_.time_budget > 0 ? cfg_.time_budget / R : 1.0);
  // Clamps to [1, shard]: fixed and first_round batches are the same every round (reported
  // once, as round 1); per_round ones are reported for every round, rounds first.
  const BatchRule rule = cfg_.training.batch_rule;
  if (rule != BatchRule::kFixed) {
    for (int u = 0; u < U; ++u) {
      if (clients_[u].shard < 1) {
        throw util::InputError("ADEL-FL batches: client " + std::to_string(u) +
                               ": expected a data shard of at least 1 sample, found 0");
      }
    }
  }
  const int clamp_rounds = rule == BatchRule::kPerRound ? R : 1;
  for (int t = 1; t <= clamp_rounds; ++t) {
    for (int u = 0; u < U; ++u) {
      const long wanted = planned_batch(t, u);
      const int got = batch(t, u);
      if (got != wanted) clamps_.push_back({u, t, wanted, got});
    }
  }
}

long Algorithm::planned_batch(int round, int client) const {
  const BatchRule rule = cfg_.training.batch_rule;
  if (rule == BatchRule::kFixed) return cfg_.training.batch;
  const double T = nominal_[rule == BatchRule::kPerRound ? round - 1 : 0];
  const ClientInfo& c = clients_[client];
  return plan::batch_size(m_, c.speed, c.comm_time, T);
}

int Algorithm::batch(int round, int client) const {
  const long shard = static_cast<long>(clients_[client].shard);
  return static_cast<int>(std::clamp<long>(planned_batch(round, client), 1, std::max(1L, shard)));
}

int Algorithm::local_steps(int round, int client) const {
  const TrainingConfig& t = cfg_.training;
  if (t.local_epochs <= 0) return t.local_steps;
  const long b = batch(round, client);
  const long n = std::max<long>(1, static_cast<long>(clients_[client].shard));
  const long steps = static_cast<long>(t.local_epochs) * ((n + b - 1) / b);
  return static_cast<int>(std::min<long>(steps, 1L << 30));
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
  for (int u : select(round)) p.tasks.push_back({u, batch(round, u), local_steps(round, u)});
  if (!deadlines_.empty()) p.deadline = deadlines_[round - 1];
  p.partial_stages = partial_stages_;
  p.partial_steps = partial_steps_;
  p.lr = cfg_.training.lr_at(round);
  return p;
}

std::vector<double> Algorithm::expected_no_contributor(const RoundPlan& plan) const {
  std::vector<double> p;
  if (!std::isfinite(plan.deadline) || !cfg_.paper_timing) return p;
  const int L = num_stages_;
  p.assign(L, 1.0);
  // Stage s (0-based) needs `need` exponential backward steps of mean tau_u = b_u / P_u within
  // the compute budget T - B_u: P(miss) = Q(need, (T - B_u) / tau_u); independent clients.
  // need = L - s for a stage suffix, L for a whole step, steps x L for all of the planned work.
  for (const auto& task : plan.tasks) {
    const ClientInfo& c = clients_[task.client];
    double budget = std::max(0.0, plan.deadline - c.comm_time);
    double x = budget * c.speed / task.batch;
    for (int s = 0; s < L; ++s) {
      const long need = plan.partial_stages  ? L - s
                        : plan.partial_steps ? L
                                             : static_cast<long>(task.steps) * L;
      p[s] *= plan::q_upper(static_cast<int>(std::min<long>(need, 1L << 30)), x);
    }
  }
  return p;
}

Weights Algorithm::client_weights(const RoundPlan& plan,
                                  const std::vector<const Update*>& used) const {
  Weights w;
  const bool samples = cfg_.training.weighting == Weighting::kSamples;
  for (const Update* u : used) {
    w.per_update.push_back(samples ? static_cast<double>(clients_[u->client].shard) : 1.0);
  }
  for (const auto& t : plan.tasks) {
    w.selected_total += samples ? static_cast<double>(clients_[t.client].shard) : 1.0;
  }
  return w;
}

AggregateResult Algorithm::aggregate(const RoundPlan& plan, const std::vector<Update>& updates,
                                     const std::vector<nn::Stage>& stages) const {
  std::vector<const Update*> used;
  for (const auto& u : updates) {
    // A stage suffix counts only where the plan says so (the clients already drop the rest).
    if (u.stages_done > 0 && (plan.partial_stages || u.stages_done == num_stages_)) {
      used.push_back(&u);
    }
  }
  std::vector<double> p_none;
  if (cfg_.aggregation == Aggregation::kUnbiased) {
    p_none = expected_no_contributor(plan);
    for (double& v : p_none) v = std::min(v, 1.0 - 1e-12);
  }
  if (cfg_.training.weighting == Weighting::kUniform) {
    return aggregate_updates(cfg_.aggregation, stages, used, static_cast<int>(plan.tasks.size()),
                             p_none);
  }
  const Weights w = client_weights(plan, used);
  return aggregate_updates(cfg_.aggregation, stages, used, static_cast<int>(plan.tasks.size()),
                           p_none, &w);
}

void Algorithm::server_step(ServerModel& model, const AggregateResult& agg, const RoundPlan& plan,
                            const std::vector<nn::Stage>& stages) const {
  if (agg.direction.size() == 0) return;
  const double lr = cfg_.training.server_lr * plan.lr;
  model.optimizer.step(model.params, agg.direction, static_cast<float>(lr), stages, agg.active);
}

}  // namespace fedgrid::fl
