// Local training of one client in one round, outside SimGrid: the batches it draws from its
// shard and the local SGD steps (client momentum, weight decay, FedProx's proximal term) that
// turn the global model w_t into its update U = (w_t - w_u) / eta_t.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/model.hpp"
#include "util/rng.hpp"

namespace fedgrid::train {

// The clients' local optimiser for one round: SGD with step size lr, momentum rho, weight decay
// lambda and FedProx's mu. A step on the trained entries of a stage:
//   d = g + lambda w + mu (w - w_t);  m = rho m + d (m = d when rho = 0);  w -= lr m;  U += m.
// Running statistics (BatchNorm) follow their own rule: w -= g; U += g (g = old - new).
struct LocalSgd {
  float lr = 0;
  double momentum = 0;
  double weight_decay = 0;
  double mu = 0;
};

// Where a client's local steps get their batches from.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // The next step's batch: x (features x n) and its labels.
  virtual void next(nn::Matrix& x, std::vector<int>& y) = 0;
};

// A client's batches in one round. Steps mode: each step takes `batch` distinct samples of the
// shard uniformly (partial Fisher-Yates, one RNG from (seed, "batch", client, round) continued
// over the steps: the first step draws what one-step training draws). Epochs mode: each epoch
// shuffles the shard once and takes consecutive batches (the last one of an epoch smaller).
class BatchSampler {
 public:
  BatchSampler(const std::vector<std::size_t>& shard, uint64_t seed, int client, int round,
               int batch, bool epochs);
  // The sample indices of the next step (valid until the next call).
  const std::vector<std::size_t>& next();
  // Samples in step `step` (0-based) for a shard of `shard` samples (what its timing costs).
  static int step_batch(std::size_t shard, int batch, bool epochs, long step);

 private:
  std::vector<std::size_t> idx_, out_;
  util::Rng rng_;
  int batch_;
  bool epochs_;
  std::size_t pos_ = 0;  // epochs mode: next sample of the current permutation
  void shuffle_prefix(std::size_t n);
};

// The batches of one client's shard of a training set, drawn by a BatchSampler.
class ShardBatches final : public BatchSource {
 public:
  ShardBatches(BatchSampler& sampler, const nn::Matrix& train_x, const std::vector<int>& train_y)
      : sampler_(sampler), x_(train_x), y_(train_y) {}
  void next(nn::Matrix& x, std::vector<int>& y) override;

 private:
  BatchSampler& sampler_;
  const nn::Matrix& x_;
  const std::vector<int>& y_;
};

// Buffers of one thread (reused across jobs: no allocation once sized).
struct LocalScratch {
  nn::Workspace ws;
  nn::Vector grad, w, m;
  nn::Matrix x;
  std::vector<int> y;
};

// Runs `steps` local steps of `model` from `start` on the batches `batches` gives and writes U
// into `out` (full length). A single
// step may stop at stage `first_stage` (a stage suffix: the other stages of U stay zero).
// `momentum`, when not null, is the client's persistent momentum buffer (read and updated;
// stages a suffix did not reach keep theirs). Returns the mean training loss over the steps.
double local_update(const nn::Model& model, const nn::Vector& start, int steps, int first_stage,
                    const LocalSgd& opt, nn::Vector* momentum, BatchSource& batches,
                    LocalScratch& s, nn::Vector& out);

}  // namespace fedgrid::train
