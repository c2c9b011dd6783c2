// Checkpoints of a run: what the server needs to continue after round `round` exactly as an
// uninterrupted run would (model, optimiser velocity, clock, sizes of the result files written
// so far, last evaluation) and how the run was started. Every random draw is derived from
// (seed, purpose, client, round), so no generator state needs saving. One file, DIR/checkpoint,
// written atomically, with a checksum.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "nn/model.hpp"

namespace fedgrid::io {

struct Checkpoint {
  int round = 0;                     // rounds finished
  double t_next = 0;                 // virtual time at which round + 1 starts
  double clock = 0;                  // SimGrid's clock when the checkpoint was taken
  std::vector<uint64_t> file_sizes;  // rounds.csv, clients.csv, layers.csv (bytes)
  double val_accuracy = 0, test_accuracy = 0, test_loss = 0;  // last evaluation (NaN: none)
  // What the test evaluations reached (metrics::Milestones; NaN: nothing yet): the last one's
  // round and time, accuracy and loss of the last one within the time budget, the time the
  // target accuracy was first reached.
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  double evaluation_round = kNone, evaluation_time = kNone;
  double budget_accuracy = kNone, budget_loss = kNone, target_time = kNone;
  nn::Vector params, velocity;
  std::vector<nn::Vector> client_state;  // per client: persistent momentum (empty: none)
  // Asynchronous runs (`round` = server updates): the model versions older than `params` that
  // clients in flight at the checkpoint had downloaded, as (version, parameters).
  std::vector<std::pair<long, nn::Vector>> versions;
  std::string invocation;  // YAML (see commands.cpp): scenario, overrides, seed, SimGrid options
};

// Writes DIR/checkpoint (temporary name + rename).
void write_checkpoint(const std::string& dir, const Checkpoint& c);
// Reads DIR/checkpoint; throws util::InputError if it is missing, truncated or corrupt.
Checkpoint read_checkpoint(const std::string& dir);

}  // namespace fedgrid::io
