// FedAvg that waits for every selected client (the paper's Wait-Stragglers baseline; McMahan et
// al. with training.local_steps > 1): no deadline, every client's complete update counts. A
// round may be bounded by algorithm.round_timeout (clients still busy are dropped).
#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"

namespace fedgrid::fl {

namespace {

class FedAvg final : public Algorithm {
 public:
  FedAvg(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : Algorithm(cfg, std::move(clients), num_stages) {
    set_schedule({}, 1.0, /*partial_stages=*/false, /*partial_steps=*/false);
  }
};

}  // namespace

AlgorithmInfo fedavg_algorithm() {
  AlgorithmInfo a;
  a.name = "fedavg";
  a.summary = "FedAvg waiting for every client (Wait-Stragglers)";
  a.deadlines = DeadlinePolicy::kNone;
  a.aggregations = {Aggregation::kPlain, Aggregation::kCode, Aggregation::kExchangeable};
  a.make = construct<FedAvg>;
  return a;
}

}  // namespace fedgrid::fl
