// The fedgrid command line, defined with CLI11 (app/cli_commands.cpp): parsed and checked here,
// before SimGrid sees anything, into the command to run and its options, or a text to print
// (--help, --version, usage). Bad input throws util::InputError "COMMAND: ..." (exit 2).
#pragma once

#include <string>
#include <vector>

#include "app/options.hpp"

namespace fedgrid::app {

struct CommandLine {
  std::string command;            // run, validate, platform, plan, sweep; empty: print `text`
  std::vector<std::string> args;  // the arguments after the command's name, as given
  Options options;                // run, validate, platform, plan
  SweepOptions sweep;             // sweep
  std::string text;               // help, version or usage
  bool to_stderr = false;         // `text` is the usage printed for an empty command line
  int exit_code = 0;              // with `text`
};

// `args` = argv[1..]. Throws util::InputError for bad input.
CommandLine parse_command_line(const std::vector<std::string>& args);

}  // namespace fedgrid::app
