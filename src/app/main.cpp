// fedgrid: command-line front end (run, validate, platform, plan). Parses FedGrid's own options
// before SimGrid sees anything; only --cfg=/--log= reach the engine. Exit 2 = bad input.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.hpp"
#include "app/sweep.hpp"
#include "util/error.hpp"

namespace app = fedgrid::app;

static const char* kUsage =
    "fedgrid - discrete-event simulator for federated learning on heterogeneous devices\n"
    "\n"
    "usage: fedgrid <command> [options]\n"
    "\n"
    "commands:\n"
    "  run SCENARIO.yaml [-o DIR] [--set key=value]... [--seed N] [--quiet] [--cfg=..] [--log=..]\n"
    "        simulate the scenario and write rounds.csv, clients.csv, layers.csv, plan.csv,\n"
    "        partition.csv, platform.xml (if generated), summary.json, manifest.json to DIR\n"
    "        (default results/<scenario name>); --threads N: math threads (default: all cores)\n"
    "  validate SCENARIO.yaml [--set key=value]...\n"
    "        check the scenario, model, data and platform without simulating\n"
    "  platform SCENARIO.yaml -o FILE.xml [--seed N]\n"
    "        write the SimGrid platform generated from the scenario's platform.generate\n"
    "  plan SCENARIO.yaml [-o DIR] [--set key=value]...\n"
    "        print the per-round deadlines and batches the algorithm would use (asynchronous\n"
    "        algorithms: the clients' capabilities and C, M)\n"
    "  sweep SWEEP.yaml [-o DIR] [-j N] [--dry-run | --emit slurm|parallel | --collect]\n"
    "        run a grid/zip of scenario variants N processes at a time (resumable) and write\n"
    "        DIR/index.csv and DIR/aggregate.csv, or emit a Slurm array / GNU parallel job list\n"
    "\n"
    "Every command accepts --help. Exit codes: 0 ok, 1 internal error, 2 bad input.\n";

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "run") return app::cmd_run(args);
    if (cmd == "validate") return app::cmd_validate(args);
    if (cmd == "platform") return app::cmd_platform(args);
    if (cmd == "plan") return app::cmd_plan(args);
    if (cmd == "sweep") return app::cmd_sweep(args);
    std::fprintf(stderr, "fedgrid: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const fedgrid::util::InputError& e) {
    std::fprintf(stderr, "fedgrid: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fedgrid: internal error: %s\n", e.what());
    return 1;
  }
}
