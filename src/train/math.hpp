// The real math of a run (the clients' local training, evaluation) on a WorkerPool, outside
// SimGrid. Output bytes do not depend on the number of threads: an update depends only on (model,
// client, round, batch, steps, first stage, the client's own state) and evaluation is split in
// fixed chunks summed in a fixed order.
#pragma once

#include <memory>
#include <vector>

#include "fl/aggregate.hpp"
#include "io/experiment.hpp"
#include "metrics/recorder.hpp"
#include "train/local.hpp"
#include "train/pool.hpp"

namespace fedgrid::train {

// Wall-clock accounting of the math (seconds). *_wait: time the simulation thread spent waiting
// for (and helping with) the math; *_cpu: time summed over the threads that ran it.
struct MathTimes {
  double gradient_wait = 0, gradient_cpu = 0;
  double evaluation_wait = 0, evaluation_cpu = 0;
  long gradients = 0;
};

// How clients train locally, fixed for a run.
struct LocalTraining {
  double momentum = 0, weight_decay = 0, mu = 0;
  bool persistent = false;  // each client keeps its momentum buffer across rounds
  bool epochs = false;      // batches by epochs over the shard (else independent draws)
};

// One client's local work in one round.
struct LocalJob {
  std::shared_ptr<const nn::Vector> model;  // w_t, shared read-only by the round's jobs
  int client = 0, round = 0, batch = 0;
  int steps = 1;              // local steps to run (those the client finished in virtual time)
  int first_stage = 0;        // one step cut short: stages [first_stage, L) only
  float lr = 0;               // eta_t
  fl::Update* out = nullptr;  // gets grad (= U) and loss; valid until wait_gradients()
};

class MathEngine {
 public:
  MathEngine(const io::Experiment& exp, const LocalTraining& local, int threads);
  ~MathEngine();

  int threads() const { return pool_.threads(); }
  // Queues a client's local training (train/local.hpp); its batches are drawn from its shard
  // with its seeded RNG.
  void submit(LocalJob job);
  void wait_gradients();
  // The clients' persistent momentum buffers (empty vectors: none yet), for checkpoints.
  const std::vector<nn::Vector>& client_state() const { return client_state_; }
  void set_client_state(std::vector<nn::Vector> state);
  // Loss and accuracy of `params` on the test set (and the validation set when asked).
  void evaluate(const nn::Vector& params, bool validation, metrics::RoundRecord& r);
  MathTimes times() const;

 private:
  // A fixed slice of an evaluation set (evaluated in place).
  struct Chunk {
    const data::Dataset* set = nullptr;
    Eigen::Index start = 0, count = 0;
  };
  struct Scratch;  // per thread: workspace, batch buffers, CPU time
  static std::vector<Chunk> split(const data::Dataset& d);
  nn::EvalResult evaluate_set(const nn::Vector& params, const std::vector<Chunk>& chunks);

  const io::Experiment& exp_;
  LocalTraining local_;
  std::vector<nn::Vector> client_state_;  // per client (persistent momentum only)
  std::vector<Chunk> test_, validation_;
  std::vector<std::unique_ptr<Scratch>> scratch_;
  MathTimes times_;
  WorkerPool pool_;  // last: its threads stop before the buffers above go away
};

}  // namespace fedgrid::train
