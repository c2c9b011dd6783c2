// fedgrid: command-line front end (run, validate, platform, plan, sweep). The command line is
// parsed whole (app/cli.cpp, CLI11) before SimGrid sees anything; only --cfg=/--log= reach the
// engine. Exit 2 = bad input.
#include <malloc.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/sweep.hpp"
#include "util/error.hpp"

namespace app = fedgrid::app;

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

static int run_command(const app::CommandLine& c) {
  if (c.command == "run") return app::cmd_run(c.options, c.args);
  if (c.command == "validate") return app::cmd_validate(c.options);
  if (c.command == "platform") return app::cmd_platform(c.options);
  if (c.command == "plan") return app::cmd_plan(c.options);
  return app::cmd_sweep(c.sweep);
}

int main(int argc, char** argv) {
  // glibc serves blocks above its mmap threshold (128 KiB at start) with mmap and unmaps them on
  // free; it raises the threshold (up to 32 MiB) only once a large mapped block is freed. The
  // per-batch buffers of training (a few MiB) would otherwise be mapped, zero-filled page by page
  // and unmapped at every step: the MLP trained 8x slower once data loading stopped freeing copies
  // of the dataset. These are the thresholds glibc reaches by itself after such a free.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  // Beyond a file-size limit (ulimit -f) writes fail with EFBIG and are reported like a full
  // disk, instead of the default SIGXFSZ killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    const app::CommandLine c = app::parse_command_line({argv + 1, argv + argc});
    if (c.command.empty()) {  // --help, --version, or the usage of an empty command line
      std::fputs(c.text.c_str(), c.to_stderr ? stderr : stdout);
      return c.to_stderr ? c.exit_code : check_stdout(c.exit_code);
    }
    return check_stdout(run_command(c));
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
