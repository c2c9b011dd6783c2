// FedAvg with a fixed round deadline T = deadline or time_budget / rounds: clients that did not
// deliver all of their planned work in time are dropped (the paper's FedAvg baseline), unless
// accept_partial is set, in which case k >= 1 finished local steps count.
#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"

namespace fedgrid::fl {

namespace {

class FedAvgDeadline final : public Algorithm {
 public:
  FedAvgDeadline(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : Algorithm(cfg, std::move(clients), num_stages) {
    set_schedule(fixed_deadlines(), 1.0, /*partial_stages=*/false,
                 /*partial_steps=*/cfg.params.number("accept_partial") != 0);
  }
};

}  // namespace

AlgorithmInfo fedavg_deadline_algorithm() {
  AlgorithmInfo a;
  a.name = "fedavg-deadline";
  a.summary = "FedAvg with a fixed deadline; late clients are dropped";
  a.deadlines = DeadlinePolicy::kFixed;
  a.aggregations = {Aggregation::kPlain, Aggregation::kCode, Aggregation::kExchangeable,
                    Aggregation::kInclusion, Aggregation::kHajek};
  a.params = {{"accept_partial",
               ParamType::kBool,
               0,
               0,
               "false",
               {},
               "count the k >= 1 local steps a late client finished (else drop it)"}};
  a.make = construct<FedAvgDeadline>;
  return a;
}

}  // namespace fedgrid::fl
