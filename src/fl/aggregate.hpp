// Layer-wise aggregation rules over the flat parameter vector (spec sections 3.2, 4.5, 11.2).
#pragma once

#include <string>
#include <vector>

#include "fl/types.hpp"
#include "nn/model.hpp"

namespace fedgrid::fl {

// With weights q_u (uniform: q_u = 1) and S_s the updates that reached stage s:
// code:         d_s = sum_{u in S_s} q_u g_u,s / sum_{u selected} q_u  (non-contributors: 0)
// plain:        d_s = sum_{u in S_s} q_u g_u,s / sum_{u in S_s} q_u, stage kept when S_s is empty
// exchangeable: d_s = plain / (1 - p_s), stage kept when S_s is empty (unbiased only when every
//               client is equally likely to reach s, or all have the same expected gradient;
//               the rule called `unbiased` before inclusion existed)
// inclusion:    d_s = sum_{u in S_s} q_u g_u,s / pi_{u,s} / sum_{u in R_s} q_u, R_s = the
//               selected clients with pi_{u,s} > 0 (Horvitz-Thompson; unbiased for the mean
//               over R_s; docs/inclusion-probability.md), stage kept when S_s is empty
// hajek:        d_s = sum_{u in S_s} q_u g_u,s / pi_{u,s} / sum_{u in S_s} q_u / pi_{u,s}: the
//               inclusion weights normalised over the contributors (a convex combination of
//               their updates: bounded, biased by O(1/|S_s|)), stage kept when S_s is empty
enum class Aggregation { kCode, kPlain, kExchangeable, kInclusion, kHajek };

// The inclusion and hajek rules' probabilities: per update (in the order given) and stage, pi_{u,s}
// > 0 (the caller replaces a zero by what it documents); per stage, sum_{u in R_s} q_u.
struct Inclusion {
  std::vector<std::vector<double>> pi;
  std::vector<double> reachable;
};

// Per-update weights q_u (e.g. sample counts) and their sum over every selected client.
struct Weights {
  std::vector<double> per_update;  // one per update, in the order given
  double selected_total = 0;
};

struct AggregateResult {
  nn::Vector direction;           // aggregated pseudo-gradient (full length)
  std::vector<int> contributors;  // per stage
  std::vector<char> active;       // per stage: 0 = keep the stage as it is
};

// `selected` is U for the code rule; p_none[s] is the probability that stage s has no
// contributor (exchangeable rule only; must be < 1); `inclusion` is required by the inclusion
// rule. Updates are summed in the given order; `weights` null = uniform (the sum, then one
// division: the rules exactly as written above). BatchNorm running statistics are averaged over
// the contributors (weights q_u) whatever the rule.
AggregateResult aggregate_updates(Aggregation rule, const std::vector<nn::Stage>& stages,
                                  const std::vector<const Update*>& updates, int selected,
                                  const std::vector<double>& p_none,
                                  const Weights* weights = nullptr,
                                  const Inclusion* inclusion = nullptr);

const char* aggregation_name(Aggregation a);
// Every rule's name, in the order above.
std::vector<std::string> aggregation_names();

}  // namespace fedgrid::fl
