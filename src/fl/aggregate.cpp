// Layer-wise aggregation rules (code / plain / unbiased) over stage slices of the flat vector.
#include "fl/aggregate.hpp"

#include <stdexcept>
#include <string>

namespace fedgrid::fl {

const char* aggregation_name(Aggregation a) {
  switch (a) {
    case Aggregation::kCode:
      return "code";
    case Aggregation::kPlain:
      return "plain";
    case Aggregation::kUnbiased:
      return "unbiased";
  }
  return "?";
}

AggregateResult aggregate_updates(Aggregation rule, const std::vector<nn::Stage>& stages,
                                  const std::vector<const Update*>& updates, int selected,
                                  const std::vector<double>& p_none, const Weights* weights) {
  if (weights && weights->per_update.size() != updates.size()) {
    throw std::invalid_argument("aggregate_updates: " + std::to_string(weights->per_update.size()) +
                                " weights for " + std::to_string(updates.size()) + " updates");
  }
  const int L = static_cast<int>(stages.size());
  AggregateResult r;
  r.contributors.assign(L, 0);
  r.active.assign(L, 0);
  // Update u contributes to stage s iff s >= L - K_u (it finished the suffix from the output).
  for (const Update* u : updates) {
    for (int s = L - u->stages_done; s < L; ++s) ++r.contributors[s];
  }
  bool have_math = !updates.empty();
  for (const Update* u : updates) have_math = have_math && u->grad.size() > 0;
  std::size_t n = stages.empty() ? 0 : stages.back().offset + stages.back().size;
  if (have_math) r.direction = nn::Vector::Zero(static_cast<Eigen::Index>(n));

  for (int s = 0; s < L; ++s) {
    const int k = r.contributors[s];
    // The contributors' total weight (uniform: their number) and the selected clients' one.
    double k_eff = k, all = selected;
    if (weights) {
      k_eff = 0;
      for (std::size_t i = 0; i < updates.size(); ++i) {
        if (s >= L - updates[i]->stages_done) k_eff += weights->per_update[i];
      }
      all = weights->selected_total;
    }
    double scale = 0;
    switch (rule) {
      case Aggregation::kCode:
        r.active[s] = 1;  // a stage nobody reached still gets the (zero) average
        scale = all > 0 ? 1.0 / all : 0.0;
        break;
      case Aggregation::kPlain:
        r.active[s] = k > 0;
        scale = k > 0 ? 1.0 / k_eff : 0.0;
        break;
      case Aggregation::kUnbiased: {
        r.active[s] = k > 0;
        double p = p_none.empty() ? 0.0 : p_none[s];
        if (!(p >= 0.0 && p < 1.0)) {
          throw std::invalid_argument("aggregate_updates: p_none[" + std::to_string(s) +
                                      "] = " + std::to_string(p) + " must lie in [0, 1)");
        }
        scale = k > 0 ? 1.0 / (k_eff * (1.0 - p)) : 0.0;
        break;
      }
    }
    if (!have_math || k == 0) continue;
    const auto off = static_cast<Eigen::Index>(stages[s].offset);
    const auto len = static_cast<Eigen::Index>(stages[s].size);
    auto dst = r.direction.segment(off, len);
    for (std::size_t i = 0; i < updates.size(); ++i) {
      const Update* u = updates[i];
      if (s < L - u->stages_done) continue;
      if (weights) {
        dst += static_cast<float>(weights->per_update[i]) * u->grad.segment(off, len);
      } else {
        dst += u->grad.segment(off, len);
      }
    }
    dst *= static_cast<float>(scale);
    // BatchNorm running statistics (the stage's trailing entries) are averaged over the
    // contributors whatever the rule: clients send old - new, so the plain mean sets them to the
    // mean of the clients' values; ÷U or ÷k(1-p) would distort them (negative variances).
    const auto stat = static_cast<Eigen::Index>(stages[s].statistics);
    if (stat > 0) dst.tail(stat) *= static_cast<float>(1.0 / (k_eff * scale));
  }
  return r;
}

}  // namespace fedgrid::fl
