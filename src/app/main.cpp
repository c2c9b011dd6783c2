// fedgrid: command-line front end (run, validate, platform, plan). Parses FedGrid's own options
// before SimGrid sees anything; only --cfg=/--log= reach the engine. Exit 2 = bad input.
#include <cerrno>
#include <csignal>
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
    "  run SCENARIO.yaml [-o DIR] [--set key=value]... [--seed N] [--quiet] [--force]\n"
    "        [--allow-large] [--cfg=..] [--log=..]\n"
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
    "Every command accepts --help. Exit codes: 0 ok, 1 internal or system error (e.g. a full\n"
    "disk), 2 bad input, 3 the run diverged (a NaN or infinite loss or parameter), 128 + signal\n"
    "when a run was stopped by a signal.\n";

// What the command printed must have reached stdout (a full disk, a closed pipe): exit 1 if not.
static int check_stdout(int code) {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "fedgrid: error: cannot write standard output: %s\n",
                 std::strerror(errno != 0 ? errno : EIO));
    return code == 0 ? 1 : code;
  }
  return code;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  // Beyond a file-size limit (ulimit -f) writes fail with EFBIG and are reported like a full
  // disk, instead of the default SIGXFSZ killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    int code = 2;
    if (cmd == "run") {
      code = app::cmd_run(args);
    } else if (cmd == "validate") {
      code = app::cmd_validate(args);
    } else if (cmd == "platform") {
      code = app::cmd_platform(args);
    } else if (cmd == "plan") {
      code = app::cmd_plan(args);
    } else if (cmd == "sweep") {
      code = app::cmd_sweep(args);
    } else {
      std::fprintf(stderr, "fedgrid: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
      return 2;
    }
    return check_stdout(code);
  } catch (const fedgrid::util::InputError& e) {
    std::fprintf(stderr, "fedgrid: error: %s\n", e.what());
    return 2;
  } catch (const fedgrid::util::SystemError& e) {  // a full disk, an I/O error
    std::fprintf(stderr, "fedgrid: error: %s\n", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::fprintf(stderr, "fedgrid: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "fedgrid: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fedgrid: internal error: %s\n", e.what());
    return 1;
  }
}
