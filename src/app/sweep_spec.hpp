// Sweep files: a base scenario (or several) plus axes of scenario overrides (grid = cartesian
// product, zip = lists advanced together), strictly validated and expanded into named runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fedgrid::app {

// One `--set key=value` override; value is YAML text, line is where it came from (sweep file or
// 0 for the command line).
struct Override {
  std::string key;
  std::string value;
  int line = 0;
  std::string assignment() const { return key + "=" + value; }
};

// One axis of the sweep: `labels[i]` names value i (a column of index.csv) and `values[i]` is the
// list of overrides it applies. kind: "scenario" (list of base files), "grid", "zip", "seed".
struct Axis {
  std::string name;
  std::string kind;
  int line = 0;
  std::vector<std::string> labels;    // index.csv value per entry (no comma, quote or newline)
  std::vector<std::string> id_parts;  // the entry's part of the run id ([A-Za-z0-9._+-])
  std::vector<std::vector<Override>> values;
  std::vector<std::string> bases;  // kind "scenario" only: absolute base file per value
};

struct SweepSpec {
  std::string file;  // the sweep file as given
  std::string name;  // default: the file's stem
  std::string base;  // absolute base scenario when there is no "scenario" axis
  int base_line = 0;
  std::optional<double> target_accuracy;
  std::optional<double> time_limit;        // default: each run's algorithm.time_budget
  std::vector<Override> fixed;             // `set:` then the command line's --set (applied last)
  std::vector<Axis> axes;                  // nesting order: first = outermost, seed last
  std::vector<std::string> slurm_options;  // extra #SBATCH lines
};

// One expanded run: its id (folder name under runs/), one label per axis, the base file and the
// overrides in application order (sweep `set`, axes in order, command-line --set).
struct RunSpec {
  std::string id;
  std::vector<std::string> labels;
  std::string base;
  std::vector<Override> overrides;
  std::vector<std::string> flags;  // extra `fedgrid run` flags (sweep --allow-large)
  std::vector<std::string> assignments() const;
};

// Loads and validates a sweep file; `cli_sets` are extra key=value overrides applied last.
// Throws util::InputError naming file:line for any problem.
SweepSpec load_sweep(const std::string& path, const std::vector<std::string>& cli_sets = {});

// Expands the axes (product in nesting order, last axis fastest). Checks that ids are unique.
std::vector<RunSpec> expand_runs(const SweepSpec& spec);

}  // namespace fedgrid::app
