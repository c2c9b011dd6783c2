// Layer-wise aggregation rules over the flat parameter vector (spec sections 3.2, 4.5, 11.2).
#pragma once

#include <vector>

#include "fl/types.hpp"
#include "nn/model.hpp"

namespace fedgrid::fl {

// With weights q_u (uniform: q_u = 1) and S_s the updates that reached stage s:
// code:     d_s = sum_{u in S_s} q_u g_u,s / sum_{u selected} q_u  (non-contributors count as 0)
// plain:    d_s = sum_{u in S_s} q_u g_u,s / sum_{u in S_s} q_u, stage kept when S_s is empty
// unbiased: d_s = plain / (1 - p_s), stage kept when S_s is empty
enum class Aggregation { kCode, kPlain, kUnbiased };

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
// contributor (unbiased rule only; must be < 1). Updates are summed in the given order;
// `weights` null = uniform (the sum, then one division: the rules exactly as written above).
AggregateResult aggregate_updates(Aggregation rule, const std::vector<nn::Stage>& stages,
                                  const std::vector<const Update*>& updates, int selected,
                                  const std::vector<double>& p_none,
                                  const Weights* weights = nullptr);

const char* aggregation_name(Aggregation a);

}  // namespace fedgrid::fl
