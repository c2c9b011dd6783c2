// The fedgrid subcommands; each takes the arguments after its name and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace fedgrid::app {

int cmd_run(const std::vector<std::string>& args);
int cmd_validate(const std::vector<std::string>& args);
int cmd_platform(const std::vector<std::string>& args);
int cmd_plan(const std::vector<std::string>& args);

}  // namespace fedgrid::app
