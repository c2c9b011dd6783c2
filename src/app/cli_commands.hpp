// The fedgrid commands as CLI11 subcommands: run, validate, platform, plan and sweep with their
// options (values converted and range-checked with FedGrid's messages), descriptions, examples
// and notes, which `--help` prints (app/cli_format.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include "app/options.hpp"

namespace fedgrid::app {

// Adds the five commands to `root`: a parsed run, validate, platform or plan fills `o`, a parsed
// sweep fills `s`. Values are converted while CLI11 parses; a bad one throws util::InputError.
void add_commands(CLI::App& root, Options& o, SweepOptions& s);

}  // namespace fedgrid::app
