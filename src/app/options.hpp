// What the command line gives each command: fedgrid run / validate / platform / plan fill
// Options, fedgrid sweep SweepOptions (parsed and checked by app/cli.cpp with CLI11).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/progress.hpp"

namespace fedgrid::app {

struct Options {
  std::string scenario;
  std::string out;
  std::vector<std::string> sets;
  std::optional<uint64_t> seed;
  bool quiet = false;
  bool force = false;                    // run: replace a finished or stopped run in -o DIR
  bool allow_large = false;              // skip the run size check (io/memory_estimate.hpp)
  int threads = 0;                       // 0 = every core
  std::vector<std::string> engine_args;  // "--cfg=..." and "--log=..." in the order given
  int checkpoint_every = 0;
  std::string resume;           // run folder to continue
  util::ProgressMode progress;  // --progress (run)
};

struct SweepOptions {
  std::string file, out, emit;
  std::vector<std::string> sets;
  int jobs = 1;
  int threads = 0;  // per run; 0 = cores / jobs locally, 1 in emitted jobs
  bool dry_run = false, collect = false, quiet = false, allow_large = false;
};

}  // namespace fedgrid::app
