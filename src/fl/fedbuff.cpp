// FedBuff (Nguyen et al. 2022, buffered asynchronous aggregation): the server adds each update,
// in model space and weighted by s(staleness), to a buffer; with M updates in it, it applies their
// weighted mean as a pseudo-gradient with its optimiser:
//   Delta_u = eta_v U_u,  d = sum_u q_u s(tau_u) Delta_u / sum_u q_u,
//   v = beta v + d,  w -= eta_s v      (eta_s = training.server_optimizer.lr, beta its momentum).
// eta_s = 1, beta = 0, M = C = U and no staleness is synchronous FedAvg (model averaging).
#include <algorithm>

#include "fl/algorithms.hpp"
#include "fl/async.hpp"

namespace fedgrid::fl {

namespace {

class FedBuff final : public AsyncAlgorithm {
 public:
  FedBuff(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : AsyncAlgorithm(cfg, std::move(clients), num_stages,
                       static_cast<int>(cfg.params.number("buffer"))) {}

  void add(AsyncBuffer& b, const AsyncUpdate& u, const nn::Vector& /*current*/,
           const std::vector<nn::Stage>& stages) const override {
    const double q = weight_of(u.client);
    ++b.count;
    b.weight += q;
    if (!u.update || u.update->grad.size() == 0) return;  // timing only
    const nn::Vector& g = u.update->grad;
    if (b.sum.size() != g.size()) b.sum = nn::Vector::Zero(g.size());
    const double w = q * staleness().weight(u.staleness);
    for (const auto& st : stages) {
      const auto off = static_cast<Eigen::Index>(st.offset);
      const auto stat = static_cast<Eigen::Index>(std::min(st.statistics, st.size));
      const auto trained = static_cast<Eigen::Index>(st.size) - stat;
      b.sum.segment(off, trained).noalias() +=
          static_cast<float>(w * u.eta) * g.segment(off, trained);
      b.sum.segment(off + trained, stat).noalias() +=
          static_cast<float>(w) * g.segment(off + trained, stat);
    }
  }

  void apply(ServerModel& model, AsyncBuffer& b,
             const std::vector<nn::Stage>& stages) const override {
    if (b.sum.size() > 0 && b.weight > 0) {
      const nn::Vector d = b.sum / static_cast<float>(b.weight);
      model.optimizer.step(model.params, d, static_cast<float>(config().training.server_lr), stages,
                           std::vector<char>(stages.size(), 1));
    }
    b.clear();
  }
};

}  // namespace

AlgorithmInfo fedbuff_algorithm() {
  AlgorithmInfo a;
  a.name = "fedbuff";
  a.summary = "FedBuff: asynchronous, staleness-weighted buffer of M updates, server optimiser";
  a.deadlines = DeadlinePolicy::kNoRounds;
  a.aggregations = {Aggregation::kPlain};
  a.asynchronous = true;
  a.params = async_params();
  a.params.insert(a.params.begin() + 1,
                  {"buffer",
                   ParamType::kInteger,
                   1,
                   1e7,
                   "10",
                   {},
                   "M: updates the server collects before it updates the model"});
  a.make = [](const AlgorithmConfig& cfg, std::vector<ClientInfo> clients,
              int num_stages) -> std::unique_ptr<Algorithm> {
    return std::make_unique<FedBuff>(cfg, std::move(clients), num_stages);
  };
  return a;
}

}  // namespace fedgrid::fl
