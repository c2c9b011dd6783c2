// The options of fedgrid run / validate / platform / plan, parsed in one place: each command
// names the flags it takes, any other is an error (exit 2) naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fedgrid::app {

struct Options {
  std::string scenario;
  std::string out;
  std::vector<std::string> sets;
  std::optional<uint64_t> seed;
  bool quiet = false;
  bool help = false;
  bool force = false;        // run: replace a finished or stopped run in -o DIR
  bool allow_large = false;  // skip the run size check (io/memory_estimate.hpp)
  int threads = 0;           // 0 = every core
  std::vector<std::string> engine_args;
  int checkpoint_every = 0;
  std::string resume;  // run folder to continue
};

// Parses `args` of command `cmd`; `allowed` lists the flags this command takes ("-o --set ...").
// --cfg=/--log= values are checked against the SimGrid allow-list. Throws util::InputError.
Options parse_options(const std::vector<std::string>& args, const std::string& cmd,
                      const std::string& allowed);

}  // namespace fedgrid::app
