// FL algorithms as one small object with two verbs: configure a round, aggregate its updates.
// Variants (fedavg, fedavg-deadline, salf, adel-fl) are parameters, chosen in one place.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fl/aggregate.hpp"
#include "nn/model.hpp"
#include "plan/batch_rule.hpp"

namespace fedgrid::fl {

enum class AlgorithmKind { kFedAvg, kFedAvgDeadline, kSalf, kAdelFl };

struct TrainingConfig {
  double lr = 0.1;
  double momentum = 0.9;
  bool inverse_schedule = true;      // eta_t = lr / t; false: eta_t = lr
  int batch = 32;                    // fixed batch (baselines); the ADEL-FL plan may set its own
  std::string batch_rule = "fixed";  // fixed | per_round | first_round (paper rule, m = 1 or m*)
};

struct AdelConfig {
  double min_deadline = 3.4;  // T_min
  std::string variance_term = "one_minus_2p";
  double m_max = 1.2;
  double G = 0.1, rho_s = 1.0, rho_c = 0.3, Gamma = 1.0, alpha = 1.0;
  double plan_lr = 0.5;  // lr inside the objective's eta_t
  std::string plan_schedule = "inverse";
  double sigma_mean = 5.0;  // sigma_u = sigma_mean * U(0,1), seeded
  std::string inputs_csv;   // optional: P_u, B_u, sigma_u from a CSV (reproduction)
  uint64_t seed = 0;        // scenario seed (for sigma_u)
};

struct AlgorithmConfig {
  AlgorithmKind kind = AlgorithmKind::kFedAvg;
  std::string name = "fedavg";
  int rounds = 1;
  double time_budget = 0;    // T_max; 0 = none (fedavg only)
  double deadline = 0;       // explicit per-round deadline; 0 = time_budget / rounds
  double round_timeout = 0;  // wait-for-all only: longest round (s); 0 = none
  Aggregation aggregation = Aggregation::kPlain;
  TrainingConfig training;
  AdelConfig adel;
  // True when stage times are exponential with equal mean per stage (the paper's model): then
  // the no-contributor probabilities p_{l,t} are exact and the unbiased rule uses them.
  bool paper_timing = true;
  // Clients selected per round: K of U uniformly without replacement, drawn from
  // (seed, "select", round); 0 = every client. The code rule then divides by K.
  int clients_per_round = 0;
  uint64_t seed = 0;  // scenario seed (client selection)
};

// What the server knows about a client before the run.
struct ClientInfo {
  double speed = 0;       // capability P_u: samples x stages per second (host speed / work)
  double comm_time = 0;   // estimated download + upload time of the full model (B_u)
  std::size_t shard = 0;  // samples in its shard
};

struct ClientTask {
  int client = 0;
  int batch = 0;
};

struct RoundPlan {
  int round = 0;                                              // 1-based
  std::vector<ClientTask> tasks;                              // by ascending client id
  double deadline = std::numeric_limits<double>::infinity();  // duration; inf = wait for all
  bool full_only = false;  // drop clients that did not finish every stage
  double lr = 0;           // eta_t of this round
};

class Algorithm {
 public:
  Algorithm(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages);

  RoundPlan configure(int round) const;
  // Updates must be sorted by client id. Partial updates are dropped when plan.full_only.
  AggregateResult aggregate(const RoundPlan& plan, const std::vector<Update>& updates,
                            const std::vector<nn::Stage>& stages) const;
  // Probability that stage s (0-based from the input) gets no contributor in this round under
  // the paper's model (exponential stages of mean batch/speed); empty when not applicable.
  std::vector<double> expected_no_contributor(const RoundPlan& plan) const;

  const AlgorithmConfig& config() const { return cfg_; }
  bool waits_for_all() const { return cfg_.kind == AlgorithmKind::kFedAvg; }
  const std::vector<double>& deadlines() const { return deadlines_; }
  double m() const { return m_; }
  double objective() const { return objective_; }
  // Batches changed to fit [1, shard] (fixed and first_round rules report each once, round 1).
  const std::vector<plan::BatchClamp>& clamps() const { return clamps_; }
  // The batch rule's value before clamping, for round t (1-based) and client u.
  long planned_batch(int round, int client) const;
  // Clients taking part in a round (K, or U without selection).
  int clients_per_round() const;

 private:
  AlgorithmConfig cfg_;
  std::vector<ClientInfo> clients_;
  int num_stages_;
  // Batches are computed on demand (no rounds x clients tables: memory stays flat in U).
  int batch(int round, int client) const;
  std::vector<int> select(int round) const;  // sorted client ids

  std::vector<double> deadlines_;  // per round (empty for wait-all)
  std::vector<double> nominal_;    // deadlines the batch rules see
  double m_ = 1.0;
  double objective_ = 0;
  std::vector<plan::BatchClamp> clamps_;
};

AlgorithmKind parse_algorithm_kind(const std::string& name);  // throws std::invalid_argument
Aggregation default_aggregation(AlgorithmKind kind);

}  // namespace fedgrid::fl
