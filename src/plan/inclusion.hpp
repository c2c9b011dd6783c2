// The probability that a client delivers each stage of the model in a round (its inclusion
// probability pi_{u,l,t}), from its work, budget and device availability under the stage-time law
// in force. One place for the no-contributor probabilities of layers.csv, the inclusion-
// probability aggregation rule and the checks (docs/inclusion-probability.md).
#pragma once

#include <utility>
#include <vector>

#include "plan/completion.hpp"

namespace fedgrid::plan {

// What the server knows of a client's device (platform/availability.hpp's timelines).
struct Availability {
  enum class Kind { kAlways, kAlternating, kTrace };
  Kind kind = Kind::kAlways;
  double mean_up = 0, mean_down = 0;               // alternating: on at t = 0, Exp periods
  std::vector<std::pair<double, double>> outages;  // trace: (off, on) in time order, on may be inf
};

// What counts as delivering stage s when the deadline cuts the client short (RoundPlan):
// the stage suffix L - s of a single step, any whole step, or all of the planned work.
enum class Counts { kStageSuffix, kAnyStep, kAllWork };

// One client's round, in the units of CompletionModel (unit = batch / P_u seconds).
struct ClientRound {
  double x = 0;                    // compute budget T - B_u in units (0 when the budget is <= 0)
  double unit = 1;                 // batch / P_u (s)
  double deadline = 0;             // T: the round's duration (s)
  double comm = 0;                 // B_u: download + upload time (s)
  double start = 0;                // the round's start (absolute virtual time, s)
  std::vector<double> steps{1.0};  // per local step: its batch / the planned batch
};

// P(on at time t) for a device that is on at t = 0 and alternates Exp(mean_up) up and
// Exp(mean_down) down periods: pi_on + (1 - pi_on) e^{-(1/mean_up + 1/mean_down) t}.
double on_probability(double mean_up, double mean_down, double t);

// Per stage s = 0..L-1 (0 = input side): p = pi_{u,s} = P(the client delivers stage s), q = 1 - p.
// Without availability p and q come straight from CompletionModel (q exactly as
// plan::q_upper for the paper's model). With availability (docs/inclusion-probability.md):
//   alternating: P(on at start) [e^{-T/mean_up} P(S_need <= x < S_all)
//                                + e^{-B/mean_up} E[e^{-S_all unit / mean_up}; S_all <= x]],
//   trace: 0 when off at the start, the no-availability value when on until the deadline,
//          else P(S_all <= (t_off - start - B) / unit) (only complete work is uploaded in time).
std::vector<Within> delivery_probabilities(const CompletionModel& model, const ClientRound& r,
                                           Counts counts, const Availability& availability);

}  // namespace fedgrid::plan
