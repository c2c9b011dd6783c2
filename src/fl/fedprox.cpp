// FedProx (Li et al. 2020): each local step adds mu (w - w_t) to the gradient, which keeps the
// client near the global model; a client the deadline cuts short sends the k >= 1 local steps it
// finished (variable local work) instead of being dropped. Rounds have a fixed deadline when
// `deadline` or `time_budget` is given, else they wait for every client. mu = 0 is FedAvg with
// partial work accepted.
#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"

namespace fedgrid::fl {

namespace {

class FedProx final : public Algorithm {
 public:
  FedProx(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : Algorithm(cfg, std::move(clients), num_stages), mu_(cfg.params.number("mu")) {
    set_schedule(fixed_deadlines(), 1.0, /*partial_stages=*/false, /*partial_steps=*/true);
  }
  double proximal_mu() const override { return mu_; }

 private:
  double mu_;
};

}  // namespace

AlgorithmInfo fedprox_algorithm() {
  AlgorithmInfo a;
  a.name = "fedprox";
  a.summary = "FedProx: proximal local objective, late clients send the steps they finished";
  a.deadlines = DeadlinePolicy::kOptional;
  a.aggregations = {Aggregation::kPlain, Aggregation::kCode};
  a.params = {{"mu",
               ParamType::kNumber,
               0,
               1e6,
               "0.01",
               {},
               "proximal coefficient: each local step adds mu (w - w_t) to the gradient"}};
  a.make = construct<FedProx>;
  return a;
}

}  // namespace fedgrid::fl
