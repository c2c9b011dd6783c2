// FedNova (Wang et al. 2020): clients that ran different numbers of local steps tau_u are
// averaged after normalising each update by its step count a_u, so that fast clients do not pull
// the model towards their own objective. With client momentum rho:
//   a_u = [tau_u - rho (1 - rho^tau_u) / (1 - rho)] / (1 - rho)   (= tau_u when rho = 0),
//   d = sum_u p_u U_u / a_u,  tau_eff = sum_u p_u a_u,  direction = tau_eff d,
// p_u = q_u / sum q over the clients received (q_u: training.weighting). Equal tau_u gives FedAvg.
// Deadlines and partial work as FedProx (k >= 1 finished steps count).
#include <cmath>

#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"

namespace fedgrid::fl {

namespace {

class FedNova final : public Algorithm {
 public:
  FedNova(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : Algorithm(cfg, std::move(clients), num_stages) {
    set_schedule(fixed_deadlines(), 1.0, /*partial_stages=*/false, /*partial_steps=*/true);
  }

  // ||a_u||_1 for tau local steps of SGD with momentum rho.
  static double steps_norm(int tau, double rho) {
    if (rho == 0) return tau;
    return (tau - rho * (1 - std::pow(rho, tau)) / (1 - rho)) / (1 - rho);
  }

  AggregateResult aggregate(const RoundPlan& plan, const std::vector<Update>& updates,
                            const std::vector<nn::Stage>& stages) const override {
    std::vector<const Update*> used;
    for (const auto& u : updates) {
      if (u.stages_done > 0) used.push_back(&u);
    }
    const double rho = config().training.client.momentum;
    Weights q = client_weights(plan, used);  // q_u
    double q_sum = 0, tau_eff = 0;
    std::vector<double> a(used.size());
    for (std::size_t i = 0; i < used.size(); ++i) {
      a[i] = steps_norm(used[i]->steps_done, rho);
      q_sum += q.per_update[i];
      tau_eff += q.per_update[i] * a[i];
    }
    if (q_sum > 0) tau_eff /= q_sum;
    // The code rule with weights q_u / a_u over a total of sum q gives d = sum p_u U_u / a_u.
    Weights w{{}, q_sum};
    for (std::size_t i = 0; i < used.size(); ++i) w.per_update.push_back(q.per_update[i] / a[i]);
    AggregateResult r = aggregate_updates(Aggregation::kCode, stages, used,
                                          static_cast<int>(plan.tasks.size()), {}, &w);
    for (std::size_t s = 0; s < stages.size(); ++s) r.active[s] = r.contributors[s] > 0;
    if (r.direction.size() == 0) return r;
    for (const auto& st : stages) {
      const auto off = static_cast<Eigen::Index>(st.offset);
      const auto trained = static_cast<Eigen::Index>(st.size - st.statistics);
      r.direction.segment(off, trained) *= static_cast<float>(tau_eff);
      // Running statistics are not steps: their plain weighted mean of old - new.
      if (st.statistics == 0) continue;
      auto tail = r.direction.segment(off + trained, static_cast<Eigen::Index>(st.statistics));
      tail.setZero();
      for (std::size_t i = 0; i < used.size(); ++i) {
        tail += static_cast<float>(q.per_update[i] / q_sum) *
                used[i]->grad.segment(off + trained, static_cast<Eigen::Index>(st.statistics));
      }
    }
    return r;
  }
};

}  // namespace

AlgorithmInfo fednova_algorithm() {
  AlgorithmInfo a;
  a.name = "fednova";
  a.summary = "FedNova: updates normalised by each client's local steps";
  a.deadlines = DeadlinePolicy::kOptional;
  a.aggregations = {Aggregation::kPlain};
  a.make = construct<FedNova>;
  return a;
}

}  // namespace fedgrid::fl
