// Inclusion probabilities pi_{u,l,t}: the completion-time law of the client's work (and, where
// availability is modelled, the chance its device stays on until its upload is done).
#include "plan/inclusion.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fedgrid::plan {

double on_probability(double mean_up, double mean_down, double t) {
  const double pi_on = mean_up / (mean_up + mean_down);
  const double rate = 1.0 / mean_up + 1.0 / mean_down;
  return pi_on + (1.0 - pi_on) * std::exp(-rate * std::max(t, 0.0));
}

namespace {

// The deliveries without availability; also P(S_all <= x) in *all.
std::vector<Within> plain(const CompletionModel& m, const ClientRound& r, Counts counts,
                          Within* all) {
  const int L = m.stages();
  *all = r.steps.size() == 1 && r.steps[0] == 1.0 ? m.within(L, r.x) : m.steps_within(r.steps, r.x);
  std::vector<Within> out(L);
  if (counts == Counts::kAllWork) {
    std::fill(out.begin(), out.end(), *all);
    return out;
  }
  if (counts == Counts::kAnyStep) {
    std::fill(out.begin(), out.end(), m.within(L, r.x / r.steps.front()));
    return out;
  }
  for (int s = 0; s < L; ++s) out[s] = m.within(L - s, r.x / r.steps.front());
  return out;
}

// The next time the device goes off at or after `t` (inf: never), and whether it is off at t.
std::pair<double, bool> next_off(const Availability& a, double t) {
  for (const auto& [off, on] : a.outages) {
    if (off <= t && t < on) return {off, true};
    if (off > t) return {off, false};
  }
  return {std::numeric_limits<double>::infinity(), false};
}

}  // namespace

std::vector<Within> delivery_probabilities(const CompletionModel& model, const ClientRound& r,
                                           Counts counts, const Availability& availability) {
  Within all;
  std::vector<Within> out = plain(model, r, counts, &all);
  switch (availability.kind) {
    case Availability::Kind::kAlways:
      return out;
    case Availability::Kind::kTrace: {
      const auto [off, off_now] = next_off(availability, r.start);
      if (!off_now && off - r.start >= r.deadline) return out;
      // Off at the start: nothing. Off during the round: only work finished and uploaded
      // before then arrives, and only complete work is uploaded before the deadline's end.
      double p = 0.0;
      if (!off_now) {
        const double x = std::min(r.x, (off - r.start - r.comm) / r.unit);
        p = x > 0.0 ? model.steps_within(r.steps, x).p : 0.0;
      }
      std::fill(out.begin(), out.end(), Within{p, 1.0 - p});
      return out;
    }
    case Availability::Kind::kAlternating: {
      const double on0 = on_probability(availability.mean_up, availability.mean_down, r.start);
      const double lambda = 1.0 / availability.mean_up;
      // Complete work is uploaded at B + S_all; partial work at the deadline.
      const double complete =
          std::exp(-lambda * r.comm) * model.survive_within(r.steps, lambda * r.unit, r.x);
      const double partial_alive = std::exp(-lambda * r.deadline);
      for (auto& w : out) {
        const double partial = std::max(0.0, w.p - all.p);
        const double p = on0 * (partial_alive * partial + complete);
        w = Within{p, 1.0 - p};
      }
      return out;
    }
  }
  return out;
}

}  // namespace fedgrid::plan
