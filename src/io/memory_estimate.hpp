// Size of a run before anything is allocated: values inside the documented ranges can still ask
// for more than any machine has (synthetic.train 2^31 - 1, dense units 2^31 - 1: std::bad_alloc
// after minutes) or for billions of SimGrid events (availability with mean_up 1e-9). The
// estimate is checked against this machine and refused with exit 2 unless --allow-large.
#pragma once

#include <string>

#include "io/scenario.hpp"

namespace fedgrid::io {

struct RunEstimate {
  double data = 0;     // bytes: decoded samples (train, with its validation split, and test)
  double model = 0;    // bytes: parameters, optimiser, per-client gradients, thread workspaces
  double clients = 0;  // bytes: shards, per-client state, slot actors and hosts
  double plan = 0;     // bytes: the round plan and plan.csv
  double events = 0;   // expected device state changes (availability), SimGrid events
  double total() const { return data + model + clients + plan; }
  std::string text() const;  // "12.3 GiB (data 12 GiB, model 0.2 GiB, clients 10 MiB, plan 1 MiB)"
};

// Estimates the run of `s` with `threads` math threads (IDX/CIFAR sizes from the files'
// headers and sizes; the model's parameters and activations from its spec). Never throws for
// a bad model or missing data: those are reported by the loaders afterwards.
RunEstimate estimate_run(const Scenario& s, int threads);

// Memory this process may use: the smallest of the machine's RAM, its cgroup's limit and the
// address-space/data rlimits (bytes).
double usable_memory();

// Most device state changes a run may ask of SimGrid without --allow-large (~3 us each).
constexpr double kMaxEvents = 1e8;

// Throws util::InputError naming the scenario and the estimate when the run needs more memory
// than usable_memory() or more than kMaxEvents events, unless `allow_large`.
void check_run_size(const Scenario& s, int threads, bool allow_large);

}  // namespace fedgrid::io
