// SALF (Lang, Cohen, Shlezinger): a fixed deadline T = deadline or time_budget / rounds; a
// client cut short by the deadline sends the stage suffix its backward pass finished, and each
// stage is aggregated over its own contributors (default rule: exchangeable;
// docs/inclusion-probability.md). One local step.
#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"

namespace fedgrid::fl {

namespace {

class Salf final : public Algorithm {
 public:
  Salf(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : Algorithm(cfg, std::move(clients), num_stages) {
    set_schedule(fixed_deadlines(), 1.0, /*partial_stages=*/true, /*partial_steps=*/false);
  }
};

}  // namespace

AlgorithmInfo salf_algorithm() {
  AlgorithmInfo a;
  a.name = "salf";
  a.summary = "SALF: fixed deadline, layer-wise partial updates";
  a.deadlines = DeadlinePolicy::kFixed;
  a.aggregations = {Aggregation::kExchangeable, Aggregation::kInclusion, Aggregation::kHajek,
                    Aggregation::kCode, Aggregation::kPlain};
  a.one_local_step = true;
  a.make = construct<Salf>;
  return a;
}

}  // namespace fedgrid::fl
