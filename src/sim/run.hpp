// Entry point of one simulation: SimGrid engine, platform, actors, outputs. One per process.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "io/experiment.hpp"

namespace fedgrid::sim {

struct RunOptions {
  std::string out_dir;
  bool quiet = false;
  std::vector<std::string> engine_args;  // --cfg=... / --log=... handed to SimGrid
  bool plan_only = false;    // build platform and plan, print it (and write plan.csv), no run
  int threads = 0;           // math threads (0 = every core); results do not depend on it
  int checkpoint_every = 0;  // write DIR/checkpoint every K rounds (0 = never)
  const io::Checkpoint* resume = nullptr;  // continue the run this checkpoint describes
  std::string invocation;                  // stored in checkpoints (see io/checkpoint.hpp)
  // SIGINT and SIGTERM stop the run after the current round, with a checkpoint and
  // summary.json marked incomplete (a second signal kills at once).
  bool stop_on_signals = false;
  // Out: the round after which a loss or a parameter was NaN/inf (the run stopped there), or 0.
  int* diverged_round = nullptr;
  // When the command started (wall.json counts data loading from here).
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// "major.minor.patch" of the SimGrid library in use.
std::string simgrid_version();

// The number of math threads `requested` means (0 = std::thread::hardware_concurrency()).
int resolve_threads(int requested);

// Makes SIGINT and SIGTERM request a stop instead of killing the process (used by `fedgrid run`
// from its start, so that a signal during data loading also stops cleanly, before round 1).
void catch_stop_signals();

// Runs the whole simulation and writes the output folder. Throws util::InputError for problems
// only visible with SimGrid (platform file without the expected hosts, impossible deadlines).
// Returns 0 when every round ran, else the signal that stopped it (see RunOptions).
int run_simulation(const io::Experiment& exp, const RunOptions& opt);

}  // namespace fedgrid::sim
