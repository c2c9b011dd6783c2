// Sweep results: one run's numbers read from its result files, index.csv (one row per run) and
// aggregate.csv (mean and Student-t 95% confidence interval over seeds).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/sweep_spec.hpp"
#include "util/json.hpp"

namespace fedgrid::app {

struct RunResult {
  // complete | diverged (a NaN/inf loss or parameter stopped it; no accuracy numbers) | failed
  // (the run exited non-zero) | stopped (a checkpoint to resume) | incomplete (no summary.json)
  // | missing (no folder) | stale (finished, but for another resolved scenario or seed)
  std::string status = "missing";
  std::string algorithm;
  double rounds = 0;
  double virtual_time = 0;
  double final_test_accuracy = 0;
  double time_limit = 0;              // NaN when the scenario has no time budget
  double test_accuracy_at_limit = 0;  // last test accuracy of a round ending <= time_limit
  double time_to_target = 0;          // t_end of the first round reaching target_accuracy
  double heterogeneity = 0;           // CV of client speeds (generated platforms)
  double wall_seconds = 0;            // from wall.json
};

// What a run folder must hold to count as this run: the manifest's resolved scenario (an object,
// io::Scenario::resolved_json parsed) and seed, plus the time limit for the accuracy column.
struct RunExpectation {
  nlohmann::json resolved;
  uint64_t seed = 0;
  double time_limit = 0;  // NaN: none
};

// True when dir/manifest.json names the expected scenario and seed.
bool run_matches(const std::string& dir, const RunExpectation& expect);
// True when the run matches and dir/summary.json says it completed.
bool run_is_complete(const std::string& dir, const RunExpectation& expect);
// True when the run matches and is over: complete, or stopped because it diverged (running it
// again would diverge again: the same seed gives the same bytes).
bool run_is_finished(const std::string& dir, const RunExpectation& expect);
// True when the run matches and left a checkpoint (stopped or killed): `run --resume` it.
bool run_can_resume(const std::string& dir, const RunExpectation& expect);

// Reads summary.json, wall.json and rounds.csv of a complete run (status "complete"); any other
// folder gets status incomplete/missing/stale and NaN numbers.
RunResult read_run(const std::string& dir, const RunExpectation& expect,
                   std::optional<double> target_accuracy);

// index.csv: id, one column per axis, algorithm, status, rounds, virtual_time,
// final_test_accuracy, time_limit, test_accuracy_at_limit, time_to_target, heterogeneity,
// wall_seconds.
std::string index_csv(const SweepSpec& spec, const std::vector<RunSpec>& runs,
                      const std::vector<RunResult>& results);

// aggregate.csv: one row per combination of the non-seed axes: runs (complete) and planned,
// then for each number its mean over complete runs and the half-width of the 95% confidence
// interval t_{0.975, n-1} s / sqrt(n) (empty for n < 2). time_to_target is averaged over the
// runs that reached the target; `reached` counts them.
std::string aggregate_csv(const SweepSpec& spec, const std::vector<RunSpec>& runs,
                          const std::vector<RunResult>& results);

// Quantile of Student's t distribution: P(T <= t) = p with df degrees of freedom (df >= 1).
double student_t_quantile(double p, int df);

}  // namespace fedgrid::app
