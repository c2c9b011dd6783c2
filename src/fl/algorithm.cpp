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
    : cfg_(cfg),
      info_(info_of(cfg.name)),
      clients_(std::move(clients)),
      num_stages_(num_stages),
      timing_(std::make_shared<const plan::CompletionModel>(
          cfg.stage_law, cfg.stage_cost.empty() ? std::vector<double>(std::max(num_stages, 1), 1.0)
                                                : cfg.stage_cost)) {}

std::vector<double> Algorithm::fixed_deadlines() const {
  const int R = cfg_.rounds;
  if (cfg_.deadline > 0) return std::vector<double>(R, cfg_.deadline);
  if (cfg_.time_budget > 0) return std::vector<double>(R, cfg_.time_budget / R);
  return {};
}

void Algorithm::set_schedule(std::vector<double> deadlines, double m, bool partial_stages,
                             bool partial_steps) {
  deadlines_ = std::move(deadlines);
  segments_.assign(1, Segment{1, m, clients_});
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
  starts_.assign(R, 0.0);
  for (int t = 1; t < R && !deadlines_.empty(); ++t)
    starts_[t] = starts_[t - 1] + deadlines_[t - 1];
  add_clamps(1);
}

// Clamps of the batches from round `first` on: fixed and first_round batches are the same in
// every round of a plan (reported once, as its first round); per_round ones for every round.
void Algorithm::add_clamps(int first) {
  const BatchRule rule = cfg_.training.batch_rule;
  if (rule == BatchRule::kFixed && first > 1) return;
  const int last = rule == BatchRule::kPerRound ? cfg_.rounds : first;
  for (int t = first; t <= last; ++t) {
    for (int u = 0; u < static_cast<int>(clients_.size()); ++u) {
      const long wanted = planned_batch(t, u);
      const int got = batch(t, u);
      if (got != wanted) clamps_.push_back({u, t, wanted, got});
    }
  }
}

void Algorithm::replan(int first, const std::vector<double>& deadlines, double m,
                       std::vector<ClientInfo> beliefs) {
  const int R = cfg_.rounds;
  if (first < 2 || first > R || static_cast<int>(deadlines.size()) != R - first + 1 ||
      beliefs.size() != clients_.size()) {
    throw std::logic_error("Algorithm::replan: plan of the wrong shape");
  }
  for (int t = first; t <= R; ++t) deadlines_[t - 1] = nominal_[t - 1] = deadlines[t - first];
  for (int t = first; t < R; ++t) starts_[t] = starts_[t - 1] + deadlines_[t - 1];
  segments_.push_back(Segment{first, m, std::move(beliefs)});
  add_clamps(first);
}

const Algorithm::Segment& Algorithm::segment(int round) const {
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it)
    if (it->first <= round) return *it;
  return segments_.front();
}

int Algorithm::plan_index(int round) const {
  return static_cast<int>(&segment(round) - segments_.data());
}

double Algorithm::m() const { return segments_.empty() ? 1.0 : segments_.back().m; }

long Algorithm::planned_batch(int round, int client) const {
  const BatchRule rule = cfg_.training.batch_rule;
  if (rule == BatchRule::kFixed) return cfg_.training.batch;
  const Segment& seg = segment(round);
  const double T = nominal_[rule == BatchRule::kPerRound ? round - 1 : seg.first - 1];
  const ClientInfo& c = seg.clients[client];
  return plan::batch_size(seg.m, c.speed, c.comm_time, T);
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

double Algorithm::round_start(int round) const {
  return round >= 1 && round <= static_cast<int>(starts_.size()) ? starts_[round - 1] : 0.0;
}

// Per local step: its batch / the planned batch (epochs end each pass with what is left).
static std::vector<double> step_factors(const ClientTask& task, std::size_t shard, bool epochs) {
  if (task.steps == 1) return {1.0};
  std::vector<double> f(static_cast<std::size_t>(task.steps));
  for (long j = 0; j < task.steps; ++j)
    f[j] = static_cast<double>(plan::step_batch(shard, task.batch, epochs, j)) / task.batch;
  return f;
}

std::vector<std::vector<plan::Within>> Algorithm::inclusion_probabilities(
    const RoundPlan& plan) const {
  std::vector<std::vector<plan::Within>> out;
  if (!std::isfinite(plan.deadline)) return out;
  // What the algorithm accepts decides how much work stage s needs (RoundPlan): the stage suffix
  // L - s of the single step, one whole step, or all of the planned steps.
  const plan::Counts counts = plan.partial_stages  ? plan::Counts::kStageSuffix
                              : plan.partial_steps ? plan::Counts::kAnyStep
                                                   : plan::Counts::kAllWork;
  static const plan::Availability always;
  const bool epochs = cfg_.training.local_epochs > 0;
  const std::vector<ClientInfo>& beliefs = segment(plan.round).clients;
  for (const auto& task : plan.tasks) {
    const ClientInfo& c = beliefs[task.client];
    plan::ClientRound r;
    const double budget = std::max(0.0, plan.deadline - c.comm_time);
    r.x = budget * c.speed / task.batch;
    r.unit = task.batch / c.speed;
    r.deadline = plan.deadline;
    r.comm = c.comm_time;
    r.start = round_start(plan.round);
    r.steps = step_factors(task, c.shard, epochs);
    const plan::Availability& a =
        cfg_.availability.empty() ? always : cfg_.availability.at(task.client);
    out.push_back(plan::delivery_probabilities(*timing_, r, counts, a));
  }
  return out;
}

std::vector<double> Algorithm::expected_no_contributor(const RoundPlan& plan) const {
  std::vector<double> p;
  if (!std::isfinite(plan.deadline)) return p;
  p.assign(num_stages_, 1.0);
  for (const auto& row : inclusion_probabilities(plan)) {
    for (int s = 0; s < num_stages_; ++s) p[s] *= row[s].q;  // independent clients
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
  if (cfg_.aggregation == Aggregation::kExchangeable) {
    p_none = expected_no_contributor(plan);
    for (double& v : p_none) v = std::min(v, 1.0 - 1e-12);
  }
  const int selected = static_cast<int>(plan.tasks.size());
  if (cfg_.aggregation == Aggregation::kInclusion || cfg_.aggregation == Aggregation::kHajek) {
    const Weights w = client_weights(plan, used);
    const Inclusion inc = inclusion_weights(plan, used);
    const bool uniform = cfg_.training.weighting == Weighting::kUniform;
    return aggregate_updates(cfg_.aggregation, stages, used, selected, p_none,
                             uniform ? nullptr : &w, &inc);
  }
  if (cfg_.training.weighting == Weighting::kUniform) {
    return aggregate_updates(cfg_.aggregation, stages, used, selected, p_none);
  }
  const Weights w = client_weights(plan, used);
  return aggregate_updates(cfg_.aggregation, stages, used, selected, p_none, &w);
}

Inclusion Algorithm::inclusion_weights(const RoundPlan& plan,
                                       const std::vector<const Update*>& used) const {
  const int L = num_stages_;
  const auto pis = inclusion_probabilities(plan);
  const bool samples = cfg_.training.weighting == Weighting::kSamples;
  const double floor = cfg_.inclusion_floor;
  Inclusion inc;
  inc.reachable.assign(L, 0.0);
  std::vector<int> task_of(clients_.size(), -1);
  for (std::size_t i = 0; i < plan.tasks.size(); ++i)
    task_of[plan.tasks[i].client] = static_cast<int>(i);
  std::vector<std::vector<char>> reached(plan.tasks.size(), std::vector<char>(L, 0));
  for (const Update* u : used) {
    const int i = task_of.at(u->client);
    std::vector<double> row(L, 1.0);
    for (int s = L - u->stages_done; s < L; ++s) {
      reached[i][s] = 1;
      // A contributor the model said could not make it (only at the exact boundary of
      // deterministic times) counts as certain.
      const double pi = pis[i][s].p;
      row[s] = pi > 0.0 ? std::max(pi, floor) : 1.0;
    }
    inc.pi.push_back(std::move(row));
  }
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const double q = samples ? static_cast<double>(clients_[plan.tasks[i].client].shard) : 1.0;
    for (int s = 0; s < L; ++s) {
      if (pis[i][s].p > 0.0 || reached[i][s]) inc.reachable[s] += q;
    }
  }
  return inc;
}

void Algorithm::server_step(ServerModel& model, const AggregateResult& agg, const RoundPlan& plan,
                            const std::vector<nn::Stage>& stages) const {
  if (agg.direction.size() == 0) return;
  const double lr = cfg_.training.server_lr * plan.lr;
  model.optimizer.step(model.params, agg.direction, static_cast<float>(lr), stages, agg.active);
}

}  // namespace fedgrid::fl
