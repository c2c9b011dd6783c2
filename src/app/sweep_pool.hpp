// Local execution of a sweep: each run is `fedgrid run ...` in its own process (fork/exec of
// this same binary), N at a time, with a progress display on stderr.
#pragma once

#include <string>
#include <vector>

#include "app/sweep_results.hpp"
#include "app/sweep_spec.hpp"

namespace fedgrid::app {

// Absolute path of the running fedgrid binary (/proc/self/exe).
std::string self_executable();

// The arguments after the binary for a run that is not complete: `run --resume OUT/runs/ID
// --quiet --threads T` when its folder holds a checkpoint of this very run (stopped by a signal),
// else `run BASE -o OUT/runs/ID --quiet --threads T --set k=v ... [--force]` (--force when the
// folder holds another run's summary.json or checkpoint). Removes the folder's stale
// summary.json first: it must not survive a run that fails before rewriting it (fedgrid run
// writes manifest.json first), or the folder would look complete.
std::vector<std::string> prepare_run(const RunSpec& run, const RunExpectation& expect,
                                     const std::string& out_dir, int threads);

// Runs every run that is not complete, `jobs` at a time with `threads` threads each (stdout and
// stderr of each go to
// OUT/logs/<id>.log). SIGINT/SIGTERM stop the children and return early. Returns the ids of the
// runs that failed (non-zero exit, a signal, or "Deadlock detected" in the log).
std::vector<std::string> run_pool(const std::vector<RunSpec>& runs,
                                  const std::vector<RunExpectation>& expect,
                                  const std::string& out_dir, int jobs, int threads, bool quiet);

}  // namespace fedgrid::app
