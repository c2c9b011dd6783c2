// The one registry of algorithm names: what each algorithm is (deadline policy, default
// aggregation rule, its own scenario keys) and how to build it. Adding an algorithm is one file
// in src/fl plus one line in registry.cpp (docs/adding-an-algorithm.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fl/config.hpp"
#include "fl/types.hpp"

namespace fedgrid::fl {

class Algorithm;

// How an algorithm's rounds end.
enum class DeadlinePolicy {
  kNone,      // wait for every client (time_budget: stop once spent; round_timeout allowed)
  kFixed,     // T_t = deadline, or time_budget / rounds: one of the two is required
  kPlanned,   // the algorithm plans T_t from time_budget (required)
  kOptional,  // kFixed when deadline or time_budget is given, else kNone
  kNoRounds,  // asynchronous: no deadlines; time_budget (optional) ends the run when spent
};

enum class ParamType { kNumber, kInteger, kBool, kChoice, kPath };

// One scenario key of an algorithm, below `algorithm.` (one level of nesting: "constants.G").
struct ParamSpec {
  std::string key;
  ParamType type = ParamType::kNumber;
  double lo = 0, hi = 0;  // numbers and integers: inclusive range
  std::string def;        // default as the reference shows it; "" = optional, no default (paths)
  std::vector<std::string> choices;
  std::string doc;               // one line for --help and the key reference
  bool at_most_clients = false;  // integers: also at most the scenario's number of clients
};

using AlgorithmFactory = std::unique_ptr<Algorithm> (*)(const AlgorithmConfig& cfg,
                                                        std::vector<ClientInfo> clients,
                                                        int num_stages);

struct AlgorithmInfo {
  std::string name;
  std::string summary;
  DeadlinePolicy deadlines = DeadlinePolicy::kNone;
  std::vector<Aggregation> aggregations;  // the rules it accepts; the first is the default
  // Layer-wise partial updates are defined for one backward pass: local_steps must be 1.
  bool one_local_step = false;
  // No rounds: clients train and report at any time (fl/async.hpp). Without deadlines, batches
  // are fixed and client optimiser state is reset for each job.
  bool asynchronous = false;
  // The algorithm's own rule moves the model (FedAsync's mixing): training.momentum,
  // training.server_optimizer and training.weighting do not apply.
  bool own_server_step = false;
  std::vector<ParamSpec> params;
  AlgorithmFactory make = nullptr;
};

// Every algorithm, in the order of the documentation.
const std::vector<AlgorithmInfo>& algorithms();
// The algorithm called `name`, or null.
const AlgorithmInfo* find_algorithm(const std::string& name);
// Builds the configured algorithm; throws std::invalid_argument for an unknown name and
// util::InputError when the configuration cannot be planned (e.g. infeasible ADEL-FL budget).
std::unique_ptr<Algorithm> make_algorithm(const AlgorithmConfig& cfg,
                                          std::vector<ClientInfo> clients, int num_stages);
// Every declared parameter at its default (for algorithms built outside a scenario file).
Params default_params(const std::string& name);

}  // namespace fedgrid::fl
