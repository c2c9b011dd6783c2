// The real math of a run (client gradients, evaluation) on a WorkerPool, outside SimGrid. Output
// bytes do not depend on the number of threads: a gradient depends only on (model, client,
// round, batch, first stage) and evaluation is split in fixed chunks summed in a fixed order.
#pragma once

#include <memory>
#include <vector>

#include "fl/aggregate.hpp"
#include "io/experiment.hpp"
#include "metrics/recorder.hpp"
#include "sim/pool.hpp"

namespace fedgrid::sim {

// Wall-clock accounting of the math (seconds). *_wait: time the simulation thread spent waiting
// for (and helping with) the math; *_cpu: time summed over the threads that ran it.
struct MathTimes {
  double gradient_wait = 0, gradient_cpu = 0;
  double evaluation_wait = 0, evaluation_cpu = 0;
  long gradients = 0;
};

class MathEngine {
 public:
  MathEngine(const io::Experiment& exp, int threads);
  ~MathEngine();

  int threads() const { return pool_.threads(); }
  // Queues the gradient of stages [first_stage, L) of client `client` in round `round` on a batch
  // of `batch` samples of its shard (drawn from its seeded RNG), at `model`. Writes out->grad
  // and out->loss; `out` must stay valid until wait_gradients() returns.
  void submit_gradient(std::shared_ptr<const nn::Vector> model, int client, int round, int batch,
                       int first_stage, fl::Update* out);
  void wait_gradients();
  // Loss and accuracy of `params` on the test set (and the validation set when asked).
  void evaluate(const nn::Vector& params, bool validation, metrics::RoundRecord& r);
  MathTimes times() const;

 private:
  // A fixed slice of an evaluation set, copied by its first evaluation task (the copy is part
  // of the evaluation's cost, made in parallel).
  struct Chunk {
    const data::Dataset* set = nullptr;
    Eigen::Index start = 0, count = 0;
    nn::Matrix x;
    std::vector<int> y;
  };
  struct Scratch;  // per thread: workspace, batch buffers, CPU time
  static std::vector<Chunk> split(const data::Dataset& d);
  nn::EvalResult evaluate_set(const nn::Vector& params, std::vector<Chunk>& chunks);
  void draw_batch(Scratch& s, int client, int round, int batch) const;

  const io::Experiment& exp_;
  std::vector<Chunk> test_, validation_;
  std::vector<std::unique_ptr<Scratch>> scratch_;
  MathTimes times_;
  WorkerPool pool_;  // last: its threads stop before the buffers above go away
};

}  // namespace fedgrid::sim
