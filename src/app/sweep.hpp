// `fedgrid sweep`: expands a sweep file into runs and executes them (N processes at a time,
// skipping complete ones), or emits a Slurm array / GNU parallel job list, or collects results.
#pragma once

#include "app/options.hpp"

namespace fedgrid::app {

int cmd_sweep(const SweepOptions& o);

}  // namespace fedgrid::app
