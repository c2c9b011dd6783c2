// Entry point of one simulation: SimGrid engine, platform, actors, outputs. One per process.
#pragma once

#include <string>
#include <vector>

#include "io/experiment.hpp"

namespace fedgrid::sim {

struct RunOptions {
  std::string out_dir;
  bool quiet = false;
  std::vector<std::string> engine_args;  // --cfg=... / --log=... handed to SimGrid
  bool plan_only = false;  // build platform and plan, print it (and write plan.csv), no run
};

// "major.minor.patch" of the SimGrid library in use.
std::string simgrid_version();

// Runs the whole simulation and writes the output folder. Throws util::InputError for problems
// only visible with SimGrid (platform file without the expected hosts, impossible deadlines).
void run_simulation(const io::Experiment& exp, const RunOptions& opt);

}  // namespace fedgrid::sim
