// What FedBuff and FedAsync share: staleness weights, model-space deltas, the job a client runs,
// their common scenario keys.
#include "fl/async.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "util/error.hpp"

namespace fedgrid::fl {

double Staleness::weight(long tau) const {
  const double t = static_cast<double>(std::max(0L, tau));
  switch (function) {
    case Function::kPolynomial:
      return std::pow(1.0 + t, -exponent);
    case Function::kHinge:
      return t <= offset ? 1.0 : 1.0 / (slope * (t - offset) + 1.0);
    case Function::kConstant:
      return 1.0;
  }
  return 1.0;
}

void AsyncBuffer::clear() {
  if (sum.size() > 0) sum.setZero();
  weight = 0;
  count = 0;
}

void model_delta(const nn::Vector& u, double eta, const std::vector<nn::Stage>& stages,
                 nn::Vector& out) {
  out = u;
  for (const auto& st : stages) {
    const auto trained = static_cast<Eigen::Index>(st.size - std::min(st.statistics, st.size));
    out.segment(static_cast<Eigen::Index>(st.offset), trained) *= static_cast<float>(eta);
  }
}

namespace {

Staleness staleness_of(const Params& p) {
  Staleness s;
  const std::string& f = p.text("staleness.function");
  s.function = f == "hinge"      ? Staleness::Function::kHinge
               : f == "constant" ? Staleness::Function::kConstant
                                 : Staleness::Function::kPolynomial;
  s.exponent = p.number("staleness.exponent");
  s.slope = p.number("staleness.slope");
  s.offset = p.number("staleness.offset");
  return s;
}

}  // namespace

AsyncAlgorithm::AsyncAlgorithm(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients,
                               int num_stages, int buffer)
    : Algorithm(cfg, std::move(clients), num_stages),
      concurrency_(clients_in_flight(cfg, static_cast<int>(this->clients().size()))),
      buffer_(buffer),
      staleness_(staleness_of(cfg.params)) {
  set_schedule({}, 1.0, /*partial_stages=*/false, /*partial_steps=*/false);
  if (concurrency_ < 1 || concurrency_ > static_cast<int>(this->clients().size())) {
    throw util::InputError("algorithm.concurrency: expected 1 to " +
                           std::to_string(this->clients().size()) + " clients in flight, found " +
                           std::to_string(concurrency_));
  }
}

ClientTask AsyncAlgorithm::task(int client) const {
  const long shard = static_cast<long>(clients()[client].shard);
  const int batch =
      static_cast<int>(std::clamp<long>(planned_batch(1, client), 1, std::max(1L, shard)));
  return {client, batch, local_steps(1, client)};
}

double AsyncAlgorithm::weight_of(int client) const {
  return config().training.weighting == Weighting::kSamples
             ? static_cast<double>(clients()[client].shard)
             : 1.0;
}

std::vector<ParamSpec> async_params() {
  std::vector<ParamSpec> p;
  ParamSpec c{"concurrency",
              ParamType::kInteger,
              1,
              1e7,
              "clients",
              {},
              "C: clients training at any time (a client that reports is replaced at once)"};
  c.at_most_clients = true;
  p.push_back(c);
  p.push_back({"staleness.function",
               ParamType::kChoice,
               0,
               0,
               "polynomial",
               {"polynomial", "hinge", "constant"},
               "s(tau) weighting an update of staleness tau: (1 + tau)^-a, hinge, or 1"});
  p.push_back({"staleness.exponent",
               ParamType::kNumber,
               0,
               100,
               "0.5",
               {},
               "polynomial a (0.5: FedBuff's 1 / sqrt(1 + tau))"});
  p.push_back({"staleness.slope",
               ParamType::kNumber,
               0,
               1e6,
               "10",
               {},
               "hinge a: s = 1 / (a (tau - b) + 1) beyond b"});
  p.push_back({"staleness.offset",
               ParamType::kNumber,
               0,
               1e9,
               "4",
               {},
               "hinge b: updates at most b versions old keep weight 1"});
  return p;
}

int clients_in_flight(const AlgorithmConfig& cfg, int clients) {
  const AlgorithmInfo* info = find_algorithm(cfg.name);
  if (info && info->asynchronous) {
    return cfg.params.has("concurrency") ? static_cast<int>(cfg.params.number("concurrency"))
                                         : clients;
  }
  const int K = cfg.clients_per_round;
  return K > 0 && K < clients ? K : clients;
}

}  // namespace fedgrid::fl
