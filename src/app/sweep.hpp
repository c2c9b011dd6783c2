// `fedgrid sweep`: expands a sweep file into runs and executes them (N processes at a time,
// skipping complete ones), or emits a Slurm array / GNU parallel job list, or collects results.
#pragma once

#include <string>
#include <vector>

namespace fedgrid::app {

int cmd_sweep(const std::vector<std::string>& args);

}  // namespace fedgrid::app
