// Typed settings of the learning side of a run: local training (steps or epochs, the clients'
// and the server's optimisers, client weights) and the algorithm (its name, rounds, deadlines,
// aggregation rule and its own parameters, see fl/registry.hpp). Filled by io/scenario.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fl/aggregate.hpp"
#include "plan/inclusion.hpp"

namespace fedgrid::fl {

// fixed: training.batch for every client; per_round / first_round: the paper's rule
// b_u = m P_u (T - B_u) / T with T = T_t (every round) or T_1 (the authors' code).
enum class BatchRule { kFixed, kPerRound, kFirstRound };
const char* batch_rule_name(BatchRule r);

// Client weights q_u in the aggregation: uniform (1 each) or the client's sample count n_u.
enum class Weighting { kUniform, kSamples };

// The clients' local optimiser: SGD with momentum rho_c and weight decay, its momentum buffer
// reset every round or kept per client across rounds (the ADEL-FL authors' code).
struct ClientOptimizer {
  double momentum = 0;
  double weight_decay = 0;
  bool persistent = false;
};

struct TrainingConfig {
  double lr = 0.1;               // eta: the clients' local step size (scheduled below)
  bool inverse_schedule = true;  // eta_t = lr / t; false: eta_t = lr
  int batch = 32;                // fixed batch (the paper's rule may set its own)
  BatchRule batch_rule = BatchRule::kFixed;
  // Local work per round: `local_steps` SGD steps, or `local_epochs` passes over the shard
  // (ceil(n_u / b_u) steps each) when > 0.
  int local_steps = 1;
  int local_epochs = 0;
  // True when the scenario says how much local work to do (local_steps or local_epochs given):
  // clients.csv then has the columns `steps, steps_done`.
  bool local_work_columns = false;
  ClientOptimizer client;
  // The server's optimiser on the aggregated pseudo-gradient U (U_u = (w_t - w_u) / eta_t):
  // v = beta v + U; w -= (server_lr * eta_t) v. server_lr = 1 and beta = 0 is plain model
  // averaging (McMahan et al.); beta > 0 is FedAvgM. With one local step it is SGD with momentum
  // on the averaged gradient (FedSGD).
  double server_lr = 1;
  double server_momentum = 0.9;
  Weighting weighting = Weighting::kUniform;
  // eta_t for round t (1-based).
  double lr_at(int round) const { return inverse_schedule ? lr / round : lr; }
};

// An algorithm's own parameters (declared in fl/registry.hpp: name, type, default, range),
// filled with every declared key by the scenario loader (defaults included).
class Params {
 public:
  void set_number(const std::string& key, double v) { numbers_[key] = v; }
  void set_text(const std::string& key, const std::string& v) { texts_[key] = v; }
  bool has(const std::string& key) const { return numbers_.count(key) || texts_.count(key); }
  double number(const std::string& key) const;  // throws std::logic_error if undeclared
  const std::string& text(const std::string& key) const;

 private:
  std::map<std::string, double> numbers_;
  std::map<std::string, std::string> texts_;
};

struct AlgorithmConfig {
  std::string name = "fedavg";
  int rounds = 1;
  double time_budget = 0;    // T_max; 0 = none (wait-for-all: stop when spent)
  double deadline = 0;       // explicit per-round deadline; 0 = time_budget / rounds
  double round_timeout = 0;  // wait-for-all only: longest round (s); 0 = none
  Aggregation aggregation = Aggregation::kPlain;
  TrainingConfig training;
  Params params;  // the algorithm's own keys (e.g. fedprox's mu, adel-fl's planner settings)
  // The timing model the server plans and weighs with (plan/completion.hpp): the stage-time law
  // and each stage's relative cost (input side first, mean 1; empty = equal costs, the paper's
  // stage_cost: uniform), and what it knows of each client's device availability (empty: always
  // on). Filled by the loader and the simulator (flops costs need the built model).
  plan::StageLaw stage_law;
  std::vector<double> stage_cost;
  std::vector<plan::Availability> availability;
  // Device speed changes during the run (platform/speed_change.hpp): per client, (date, factor of
  // the initial speed) from that date on; empty = constant speeds. An oracle that re-plans reads
  // the current speeds from these.
  std::vector<std::vector<std::pair<double, double>>> speed_changes;
  // Inclusion rule: pi below this floor counts as the floor (biased, off by default: 0).
  double inclusion_floor = 0;
  // Clients selected per round: K of U uniformly without replacement, drawn from
  // (seed, "select", round); 0 = every client. The code rule then divides by K.
  int clients_per_round = 0;
  uint64_t seed = 0;  // scenario seed (client selection, planner draws)
};

}  // namespace fedgrid::fl
