// Device speeds that change during a run (docs/replanning.md): a step change, a slow linear
// drift or a trace file, each a piecewise-constant factor of the host's initial speed. The sim
// layer turns each client's timeline into a SimGrid host speed profile; this module knows
// nothing of SimGrid (tested on its own), and the planner's oracle reads the same timelines.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fedgrid::platform {

enum class SpeedChangeModel { kNone, kStep, kDrift, kTrace };

struct SpeedChangeSpec {
  SpeedChangeModel model = SpeedChangeModel::kNone;
  double fraction = 1.0;   // step, drift: share of the clients affected (exactly round(f * n))
  double factor = 1.0;     // step, drift: speed factor after the change (drift: at `end`)
  double at = 0.0;         // step: when the speed changes (s)
  double start = 0.0;      // drift: the factor goes from 1 at `start` to `factor` at `end` in
  double end = 0.0;        // `pieces` equal steps (at start + i (end - start) / pieces it
  int pieces = 20;         // becomes 1 + (factor - 1) i / pieces)
  std::string trace_file;  // trace: resolved path of the CSV file
};

// Factor of the initial speed from each date on: (date, factor) pairs, dates ascending, the
// factor before the first date is 1. Empty = constant speed.
using SpeedTimeline = std::vector<std::pair<double, double>>;

// The factor in force at time t.
double speed_factor(const SpeedTimeline& timeline, double t);

// Reads a trace: header "client,t,factor", rows with t >= 0 ascending per client and factor > 0
// (factor of the client's initial speed from t on). Throws util::InputError (file:line, column).
std::vector<SpeedTimeline> read_speed_trace(const std::string& path, int clients);

// Every client's timeline for a spec; the affected clients of step and drift are drawn from
// (seed, "speed-change-clients"). Trace files are read here.
std::vector<SpeedTimeline> make_speed_timelines(const SpeedChangeSpec& spec, int clients,
                                                uint64_t seed);

}  // namespace fedgrid::platform
