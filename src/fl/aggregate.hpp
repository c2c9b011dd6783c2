// Layer-wise aggregation rules over the flat parameter vector (spec sections 3.2, 4.5, 11.2).
#pragma once

#include <vector>

#include "nn/model.hpp"

namespace fedgrid::fl {

// code:     d_s = (1/U) sum_{u in S_s} g_u,s     (non-contributors count as zero updates)
// plain:    d_s = mean_{u in S_s} g_u,s, stage kept (inactive) when S_s is empty
// unbiased: d_s = mean_{u in S_s} g_u,s / (1 - p_s), stage kept when S_s is empty
enum class Aggregation { kCode, kPlain, kUnbiased };

// A client's contribution: the gradient (pseudo-gradient) of the stage suffix it finished.
struct Update {
  int client = 0;
  int stages_done = 0;  // K: stages [L-K, L) hold real values, the others are zero
  int batch = 0;
  double loss = 0;  // training loss of its batch (NaN in timing-only mode)
  nn::Vector grad;  // full length (zeros outside the suffix); empty in timing-only mode
};

struct AggregateResult {
  nn::Vector direction;           // aggregated pseudo-gradient (full length)
  std::vector<int> contributors;  // per stage
  std::vector<char> active;       // per stage: 0 = keep the stage as it is
};

// `selected` is U for the code rule; p_none[s] is the probability that stage s has no
// contributor (unbiased rule only; must be < 1). Updates are summed in the given order.
AggregateResult aggregate_updates(Aggregation rule, const std::vector<nn::Stage>& stages,
                                  const std::vector<const Update*>& updates, int selected,
                                  const std::vector<double>& p_none);

const char* aggregation_name(Aggregation a);

}  // namespace fedgrid::fl
