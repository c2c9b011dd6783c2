// The fedgrid subcommands; each takes the arguments after its name and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace fedgrid::app {

// Exit code of a run stopped because its model diverged (a NaN or infinite loss or parameter).
constexpr int kExitDiverged = 3;

int cmd_run(const std::vector<std::string>& args);
int cmd_validate(const std::vector<std::string>& args);
int cmd_platform(const std::vector<std::string>& args);
int cmd_plan(const std::vector<std::string>& args);

}  // namespace fedgrid::app
