// The base of every FL algorithm: what the simulator asks it (does it wait for everyone, which
// incomplete work counts), the round plan (selection, batches, local steps, deadline, step
// size), aggregation of a round's updates and the server's optimiser step. Each algorithm is a
// subclass in its own file (fl/fedavg.cpp, fl/salf.cpp, ...) behind fl/registry.hpp.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fl/aggregate.hpp"
#include "fl/config.hpp"
#include "fl/registry.hpp"
#include "fl/types.hpp"
#include "nn/model.hpp"
#include "plan/batch_rule.hpp"
#include "plan/inclusion.hpp"

namespace fedgrid::fl {

// The global model and the server's optimiser state.
struct ServerModel {
  nn::Vector params;
  nn::Sgd optimizer;
};

class AsyncAlgorithm;  // fl/async.hpp

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  Algorithm(const Algorithm&) = delete;
  Algorithm& operator=(const Algorithm&) = delete;

  const AlgorithmConfig& config() const { return cfg_; }
  const AlgorithmInfo& info() const { return info_; }
  int num_stages() const { return num_stages_; }

  // What the simulator needs to know.
  // Asynchronous algorithms (no rounds, fl/async.hpp) return themselves; null for round-based ones.
  virtual const AsyncAlgorithm* asynchronous() const { return nullptr; }
  bool waits_for_all() const { return deadlines_.empty(); }
  // Which incomplete work counts (see RoundPlan).
  bool accepts_partial_stages() const { return partial_stages_; }
  bool accepts_partial_steps() const { return partial_steps_; }

  // The plan of round `round` (1-based): selected clients with their batch and local steps,
  // deadline, what incomplete work counts, step size.
  virtual RoundPlan configure(int round) const;
  // Aggregates the delivered updates (sorted by client id) stage by stage with the configured
  // rule and client weights.
  virtual AggregateResult aggregate(const RoundPlan& plan, const std::vector<Update>& updates,
                                    const std::vector<nn::Stage>& stages) const;
  // Applies the aggregated direction: v = beta v + d; w -= (server_lr * eta_t) v on the active
  // stages (running statistics: w -= d).
  virtual void server_step(ServerModel& model, const AggregateResult& agg, const RoundPlan& plan,
                           const std::vector<nn::Stage>& stages) const;
  // Per task of the plan (in order) and stage s (0 = input side): pi_{u,s} = P(the client
  // delivers stage s this round) and 1 - pi, under the timing model in force (stage-time law,
  // stage costs, batch, speed, deadline, communication time, availability where modelled;
  // plan/inclusion.hpp). Empty for rounds without a deadline.
  std::vector<std::vector<plan::Within>> inclusion_probabilities(const RoundPlan& plan) const;
  // Probability that stage s gets no contributor: prod_u (1 - pi_{u,s}); empty without a
  // deadline.
  std::vector<double> expected_no_contributor(const RoundPlan& plan) const;
  // The timing model the server plans and weighs with.
  const plan::CompletionModel& timing() const { return *timing_; }
  // When round `round` (1-based) starts: the sum of the deadlines before it (deadline rounds).
  double round_start(int round) const;

  // The plan over the run.
  const std::vector<double>& deadlines() const { return deadlines_; }  // empty: wait for all
  double m() const;  // batch factor of the paper's rule (1 unless planned; the latest plan's)
  // Plans: the initial one (index 0) and one per re-plan, each in force from its first round.
  int plan_index(int round) const;
  // What the server believes of the clients (P_u, B_u) in the plan of round `round`.
  const std::vector<ClientInfo>& knowledge(int round) const { return segment(round).clients; }
  // True when the plan may change during the run (plan.csv then says which plan each round used).
  virtual bool adaptive() const { return false; }
  // What the server saw in a round; called after every round when adaptive().
  virtual void observe(const RoundObservation& /*round*/) {}
  // FedProx's mu: each local step adds mu (w - w_t) to the gradient (0 = none).
  virtual double proximal_mu() const { return 0; }
  // What `fedgrid plan` adds to its first line (e.g. ADEL-FL's objective value).
  virtual std::string plan_note() const { return ""; }
  // Batches changed to fit [1, shard] (fixed and first_round rules report each once, round 1).
  const std::vector<plan::BatchClamp>& clamps() const { return clamps_; }
  // The batch rule's value before clamping, for round t (1-based) and client u.
  long planned_batch(int round, int client) const;
  // Clients taking part in a round (K, or U without selection).
  int clients_per_round() const;
  // Local steps planned for client u (local_steps, or local_epochs passes over its shard).
  int local_steps(int round, int client) const;

 protected:
  Algorithm(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages);
  // Called once by each subclass's constructor: deadlines per round (empty = wait for all),
  // the batch factor m and which incomplete work counts. Computes the batch clamps.
  void set_schedule(std::vector<double> deadlines, double m, bool partial_stages,
                    bool partial_steps);
  // Replaces the plan from round `first` (>= 2) on: deadlines[t - first] for rounds first..R, batch
  // factor m and the clients as the server now believes them (speeds, communication times);
  // earlier rounds keep the plan they used.
  void replan(int first, const std::vector<double>& deadlines, double m,
              std::vector<ClientInfo> beliefs);
  // Deadlines from `deadline` or `time_budget / rounds` (kFixed; empty when neither is set).
  std::vector<double> fixed_deadlines() const;
  // Weights q_u of the delivered updates (training.weighting), summed over the selected ones.
  Weights client_weights(const RoundPlan& plan, const std::vector<const Update*>& used) const;
  // The inclusion rule's pi per delivered update and reachable weight per stage.
  Inclusion inclusion_weights(const RoundPlan& plan, const std::vector<const Update*>& used) const;
  const std::vector<ClientInfo>& clients() const { return clients_; }
  std::shared_ptr<const plan::CompletionModel> timing_model() const { return timing_; }

 private:
  int batch(int round, int client) const;
  std::vector<int> select(int round) const;  // sorted client ids

  // A plan in force from round `first` on: its batch factor and what the server then believed
  // of the clients (the batch rule and the inclusion probabilities use these).
  struct Segment {
    int first = 1;
    double m = 1.0;
    std::vector<ClientInfo> clients;
  };
  const Segment& segment(int round) const;
  void add_clamps(int first);

  AlgorithmConfig cfg_;
  const AlgorithmInfo& info_;
  std::vector<ClientInfo> clients_;  // as given (the initial beliefs)
  int num_stages_;
  std::vector<double> deadlines_;  // per round (empty for wait-all)
  std::vector<double> nominal_;    // deadlines the batch rules see
  std::vector<Segment> segments_;
  bool partial_stages_ = false, partial_steps_ = false;
  std::vector<plan::BatchClamp> clamps_;
  std::shared_ptr<const plan::CompletionModel> timing_;
  std::vector<double> starts_;  // round_start() per round
};

// The registry's factory for algorithm class A (AlgorithmInfo::make = construct<A>).
template <class A>
std::unique_ptr<Algorithm> construct(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients,
                                     int num_stages) {
  return std::make_unique<A>(cfg, std::move(clients), num_stages);
}

}  // namespace fedgrid::fl
