// What a run's test evaluations reached, in time order: the last one, the last one at or before a
// time limit and the first time a target accuracy was reached. summary.json (the run) and the
// sweep's tables (rounds.csv read back) share it, on numbers as the files write them.
#pragma once

#include <cmath>
#include <optional>

#include "metrics/recorder.hpp"

namespace fedgrid::metrics {

struct Milestones {
  // `limit`: evaluations at t <= limit (+1e-9) count for the *_at_limit values (INFINITY: every
  // one); `target`: the accuracy time_to_target waits for (none: never set).
  explicit Milestones(double limit = INFINITY, std::optional<double> target = std::nullopt)
      : limit_(limit), target_(target) {}

  // One test evaluation after round (async: server update) `step`, at virtual time t. Values are
  // taken as_written (10 significant digits), so that the run and rounds.csv agree to the bit.
  void observe(long step, double t, double accuracy, double loss);

  // kNaN until an evaluation says otherwise (the state a checkpoint keeps).
  double last_step = kNaN, last_time = kNaN;              // the last evaluation
  double accuracy_at_limit = kNaN, loss_at_limit = kNaN;  // the last one at or before limit
  double time_to_target = kNaN;  // t of the first evaluation with accuracy >= target

 private:
  double limit_;
  std::optional<double> target_;
};

}  // namespace fedgrid::metrics
