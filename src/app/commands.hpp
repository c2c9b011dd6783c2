// The fedgrid subcommands; each takes its options parsed by app/cli.hpp and returns the exit code.
#pragma once

#include <string>
#include <vector>

#include "app/options.hpp"

namespace fedgrid::app {

// Exit code of a run stopped because its model diverged (a NaN or infinite loss or parameter).
constexpr int kExitDiverged = 3;

// `args`: the arguments after "run", as given (manifest.json's command line).
int cmd_run(const Options& o, const std::vector<std::string>& args);
int cmd_validate(const Options& o);
int cmd_platform(const Options& o);
int cmd_plan(const Options& o);

}  // namespace fedgrid::app
