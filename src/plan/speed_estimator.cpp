// Censored-exponential speed estimates with a Gamma prior and forgetting (speed_estimator.hpp).
#include "plan/speed_estimator.hpp"

#include <stdexcept>

namespace fedgrid::plan {

SpeedEstimator::SpeedEstimator(int clients, EstimatorSettings settings)
    : s_(settings),
      work_(clients, settings.prior_capability * settings.prior_seconds),
      seconds_(clients, settings.prior_seconds),
      download_(clients, 0.0),
      seen_download_(clients, 0) {
  if (!(s_.prior_capability > 0.0) || !(s_.prior_seconds > 0.0) || !(s_.prior_comm >= 0.0) ||
      !(s_.forgetting > 0.0 && s_.forgetting <= 1.0)) {
    throw std::invalid_argument(
        "SpeedEstimator: prior capability and weight must be > 0, "
        "prior comm >= 0, forgetting in (0, 1]");
  }
}

void SpeedEstimator::observe_compute(int client, double work, double seconds) {
  if (!(work >= 0.0) || !(seconds >= 0.0)) return;  // nothing measurable (NaN, negative)
  work_.at(client) += work;
  seconds_.at(client) += seconds;
}

void SpeedEstimator::observe_download(int client, double seconds) {
  if (!(seconds >= 0.0)) return;
  download_.at(client) = seconds;
  seen_download_.at(client) = 1;
}

void SpeedEstimator::end_round() {
  if (s_.forgetting == 1.0) return;
  for (std::size_t u = 0; u < work_.size(); ++u) {
    work_[u] *= s_.forgetting;
    seconds_[u] *= s_.forgetting;
  }
}

double SpeedEstimator::capability(int client) const {
  return work_.at(client) / seconds_.at(client);
}

double SpeedEstimator::comm_time(int client) const {
  return seen_download_.at(client) ? 2.05 * download_[client] + 1e-6 : s_.prior_comm;
}

}  // namespace fedgrid::plan
