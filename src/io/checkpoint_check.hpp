// A checkpoint checked against the run it claims to continue, beyond its checksum (which anyone
// editing the file can recompute): the round within the run, the clock, the model's size and
// finiteness, and the result files' sizes at row boundaries with the number of rows those rounds
// wrote (rounds.csv 1 per round, clients.csv K, layers.csv one per stage; asynchronous runs:
// rounds.csv 1 per server update, clients.csv whole rows, no layers.csv).
#pragma once

#include <cstddef>
#include <string>

#include "io/checkpoint.hpp"

namespace fedgrid::io {

struct RunShape {
  int rounds = 0;             // algorithm.rounds
  int stages = 0;             // the model's stages (layers.csv rows per round)
  int clients_per_round = 0;  // clients.csv rows per round
  std::size_t params = 0;     // the model's parameters
  std::size_t velocity = 0;   // the optimiser's (0 for timing-only runs)
  // Asynchronous runs: `round` counts server updates (one rounds.csv row each), clients.csv has
  // one row per job (any number: only whole rows are checked) and there is no layers.csv.
  bool asynchronous = false;
};

// Throws util::InputError naming DIR/checkpoint (or the result file) and what does not fit.
void check_checkpoint(const std::string& dir, const Checkpoint& c, const RunShape& shape);

}  // namespace fedgrid::io
