// What the server learns of its clients' speeds while the run goes on (docs/replanning.md): each
// client's capability P_u from the stages it finished and for how long it computed (a censored
// observation when the deadline stopped it), and its communication time B_u from its downloads.
#pragma once

#include <vector>

namespace fedgrid::plan {

struct EstimatorSettings {
  double prior_capability = 1;  // P_0: capability before any observation (samples x stages / s)
  double prior_comm = 0;        // B_0: communication time before any download was seen (s)
  double prior_seconds = 1;     // weight of the prior, as seconds of observed computing at P_0
  double forgetting = 1;        // per round, older observations count gamma times less (1 = never)
};

// With exponential stage times a client completes work (samples x stage costs) as a Poisson
// process of rate P_u while it computes, so sum(work) / sum(time computed) is the maximum-
// likelihood rate: a stage cut by the deadline adds its time but no work (censoring handled by
// the exposure). A Gamma prior starts the sums at P_0 t_0 work over t_0 seconds; forgetting
// discounts everything seen (the prior included) geometrically per round, for devices whose
// speed drifts.
class SpeedEstimator {
 public:
  SpeedEstimator(int clients, EstimatorSettings settings);

  // Client u computed for `seconds` and finished `work` = batch x the finished stages' relative
  // costs (its stop cut it short, or it finished everything: either way the same formula).
  void observe_compute(int client, double work, double seconds);
  // Client u's model download took `seconds` (the upload is assumed to take as long).
  void observe_download(int client, double seconds);
  // Called once after each round's observations: applies the forgetting factor.
  void end_round();

  // (discounted) (P_0 t_0 + sum work) / (t_0 + sum seconds).
  double capability(int client) const;
  // 2.05 d + 1e-6 from the last download d (download + upload with the simulator's 5% slack),
  // the prior until one was seen.
  double comm_time(int client) const;

 private:
  EstimatorSettings s_;
  std::vector<double> work_, seconds_, download_;
  std::vector<char> seen_download_;
};

}  // namespace fedgrid::plan
