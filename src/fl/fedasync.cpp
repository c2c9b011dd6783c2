// FedAsync (Xie, Koyejo, Gupta 2019): every update moves the model at once (M = 1) by mixing it
// with the client's model x_u = w_v - Delta_u (Delta_u = eta_v U_u in model space):
//   alpha_t = alpha s(tau_u),  w <- (1 - alpha_t) w + alpha_t x_u = w - alpha_t (w - w_v +
//   Delta_u).
// No server optimiser: the mixing is the server step.
#include <stdexcept>

#include "fl/algorithms.hpp"
#include "fl/async.hpp"

namespace fedgrid::fl {

namespace {

class FedAsync final : public AsyncAlgorithm {
 public:
  FedAsync(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : AsyncAlgorithm(cfg, std::move(clients), num_stages, 1),
        alpha_(cfg.params.number("alpha")) {}

  void add(AsyncBuffer& b, const AsyncUpdate& u, const nn::Vector& current,
           const std::vector<nn::Stage>& stages) const override {
    ++b.count;
    b.weight += 1;
    if (!u.update || u.update->grad.size() == 0) return;  // timing only
    if (!u.start) throw std::logic_error("FedAsync: an update without the model it started from");
    const double a = alpha_ * staleness().weight(u.staleness);
    model_delta(u.update->grad, u.eta, stages, b.sum);  // Delta_u
    b.sum += current - *u.start;
    b.sum *= static_cast<float>(a);
  }

  void apply(ServerModel& model, AsyncBuffer& b,
             const std::vector<nn::Stage>& /*stages*/) const override {
    if (b.sum.size() > 0) model.params -= b.sum;
    b.clear();
  }

 private:
  double alpha_;
};

}  // namespace

AlgorithmInfo fedasync_algorithm() {
  AlgorithmInfo a;
  a.name = "fedasync";
  a.summary = "FedAsync: asynchronous, each update mixed into the model with weight alpha s(tau)";
  a.deadlines = DeadlinePolicy::kNoRounds;
  a.aggregations = {Aggregation::kPlain};
  a.asynchronous = true;
  a.own_server_step = true;
  a.params = async_params();
  a.params.insert(a.params.begin() + 1,
                  {"alpha",
                   ParamType::kNumber,
                   1e-9,
                   1,
                   "0.6",
                   {},
                   "mixing weight: w <- (1 - alpha s(tau)) w + alpha s(tau) x_u"});
  a.make = [](const AlgorithmConfig& cfg, std::vector<ClientInfo> clients,
              int num_stages) -> std::unique_ptr<Algorithm> {
    return std::make_unique<FedAsync>(cfg, std::move(clients), num_stages);
  };
  return a;
}

}  // namespace fedgrid::fl
