// Asynchronous FL (FedBuff, FedAsync): no rounds. C clients train at any time on the model version
// they downloaded; the server weighs each update by a function of its staleness (versions applied
// since the download), collects them in a buffer and updates the model when it holds M of them.
// This is the math of it (the actors are in src/sim/async_*.cpp); see docs/asynchronous.md.
#pragma once

#include <vector>

#include "fl/algorithm.hpp"

namespace fedgrid::fl {

// s(tau), the weight of an update of staleness tau = versions applied since its download:
//   polynomial: (1 + tau)^-a          (a = 0.5: FedBuff's 1 / sqrt(1 + tau))
//   hinge:      1 if tau <= b, else 1 / (a (tau - b) + 1)      (Xie et al. 2019)
//   constant:   1
struct Staleness {
  enum class Function { kPolynomial, kHinge, kConstant };
  Function function = Function::kPolynomial;
  double exponent = 0.5;          // polynomial a
  double slope = 10, offset = 4;  // hinge a, b
  double weight(long tau) const;
};

// What the server holds between two model updates: the weighted sum of the updates received in
// model space (math runs only) and how many there are.
struct AsyncBuffer {
  nn::Vector sum;     // sum of q_u s(tau_u) Delta_u (FedBuff) or the mixing step (FedAsync)
  double weight = 0;  // sum of q_u
  int count = 0;      // updates in the buffer
  void clear();
};

// One delivered update as the server receives it.
struct AsyncUpdate {
  int client = 0;
  const Update* update = nullptr;     // U_u = (w_v - w_u) / eta (null in timing-only runs)
  long staleness = 0;                 // tau_u
  double eta = 0;                     // the step size the client trained with
  const nn::Vector* start = nullptr;  // w_v, the version it downloaded
};

// Model-space delta of an update: Delta = eta U on trained entries and U on running statistics
// (which carry old - new already, see nn::Stage), written into `out`.
void model_delta(const nn::Vector& u, double eta, const std::vector<nn::Stage>& stages,
                 nn::Vector& out);

// The base of asynchronous algorithms. Each job of a client runs `local_steps` steps with a
// fixed batch from the version it downloaded, at step size eta_v = lr_at(v + 1): the step size a
// synchronous round v + 1 would use (with training.schedule inverse, lr / (v + 1)).
class AsyncAlgorithm : public Algorithm {
 public:
  const AsyncAlgorithm* asynchronous() const override { return this; }
  int concurrency() const { return concurrency_; }  // C: clients in flight
  int buffer_size() const { return buffer_; }       // M: updates per server update
  const Staleness& staleness() const { return staleness_; }
  // Batch and local steps of a job of `client` (the fixed batch, clamped to its shard).
  ClientTask task(int client) const;
  // eta of a job that downloads version `version` (0 = the initial model).
  double client_lr(long version) const { return config().training.lr_at(version + 1); }
  // Adds an update to the buffer; `current` is the model now (FedAsync mixes with it).
  virtual void add(AsyncBuffer& buffer, const AsyncUpdate& u, const nn::Vector& current,
                   const std::vector<nn::Stage>& stages) const = 0;
  // The server update once the buffer holds M updates; clears it.
  virtual void apply(ServerModel& model, AsyncBuffer& buffer,
                     const std::vector<nn::Stage>& stages) const = 0;

 protected:
  AsyncAlgorithm(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages,
                 int buffer);
  // The client weight q_u (training.weighting).
  double weight_of(int client) const;

 private:
  int concurrency_, buffer_;
  Staleness staleness_;
};

// Keys shared by the asynchronous algorithms' registry entries (concurrency, staleness.*).
std::vector<ParamSpec> async_params();
// Clients a run plays at once: C for asynchronous algorithms, else clients_per_round (or all).
int clients_in_flight(const AlgorithmConfig& cfg, int clients);

}  // namespace fedgrid::fl
