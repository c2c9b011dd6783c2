// Milestones of a run's test evaluations (see milestones.hpp).
#include "metrics/milestones.hpp"

namespace fedgrid::metrics {

void Milestones::observe(long step, double t, double accuracy, double loss) {
  t = as_written(t);
  accuracy = as_written(accuracy);
  last_step = static_cast<double>(step);
  last_time = t;
  if (!(t > limit_ + 1e-9)) {
    accuracy_at_limit = accuracy;
    loss_at_limit = as_written(loss);
  }
  if (target_ && std::isnan(time_to_target) && accuracy >= *target_) time_to_target = t;
}

}  // namespace fedgrid::metrics
