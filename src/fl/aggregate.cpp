// Layer-wise aggregation rules (code / plain / exchangeable / inclusion) over stage slices of the
// flat vector.
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
    case Aggregation::kExchangeable:
      return "exchangeable";
    case Aggregation::kInclusion:
      return "inclusion";
    case Aggregation::kHajek:
      return "hajek";
  }
  return "?";
}

std::vector<std::string> aggregation_names() {
  return {"code", "plain", "exchangeable", "inclusion", "hajek"};
}

namespace {

// Inclusion rule on stage s: sum_i q_i g_i / pi_i,s over the contributors, divided by the
// reachable weight (hajek: by sum_i q_i / pi_i,s); BatchNorm statistics: the contributors'
// q-weighted mean.
void inclusion_stage(const std::vector<const Update*>& updates, const Weights* weights,
                     const Inclusion& inc, int s, int L, const nn::Stage& stage, double k_eff,
                     bool hajek, nn::Vector& direction) {
  const auto off = static_cast<Eigen::Index>(stage.offset);
  const auto len = static_cast<Eigen::Index>(stage.size);
  const auto stat = static_cast<Eigen::Index>(stage.statistics);
  auto dst = direction.segment(off, len);
  double realised = 0.0;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    if (s < L - updates[i]->stages_done) continue;
    const double q = weights ? weights->per_update[i] : 1.0;
    const double pi = inc.pi[i][s];
    if (!(pi > 0.0 && pi <= 1.0) || !(inc.reachable[s] > 0.0)) {
      throw std::invalid_argument("aggregate_updates: update " + std::to_string(i) +
                                  " reached stage " + std::to_string(s) +
                                  " with pi = " + std::to_string(pi) + ", reachable weight " +
                                  std::to_string(inc.reachable[s]));
    }
    dst += static_cast<float>(q / pi) * updates[i]->grad.segment(off, len);
    realised += q / pi;
  }
  dst *= static_cast<float>(1.0 / (hajek ? realised : inc.reachable[s]));
  if (stat == 0) return;
  dst.tail(stat).setZero();
  for (std::size_t i = 0; i < updates.size(); ++i) {
    if (s < L - updates[i]->stages_done) continue;
    const double q = weights ? weights->per_update[i] : 1.0;
    dst.tail(stat) += static_cast<float>(q) * updates[i]->grad.segment(off + len - stat, stat);
  }
  dst.tail(stat) *= static_cast<float>(1.0 / k_eff);
}

void check_inclusion(const Inclusion* inc, std::size_t updates, int L) {
  if (!inc || inc->pi.size() != updates || inc->reachable.size() != static_cast<std::size_t>(L)) {
    throw std::invalid_argument(
        "aggregate_updates: the inclusion rule needs pi per update and "
        "the reachable weight per stage");
  }
  for (std::size_t i = 0; i < updates; ++i) {
    if (inc->pi[i].size() != static_cast<std::size_t>(L))
      throw std::invalid_argument("aggregate_updates: pi of update " + std::to_string(i));
  }
}

}  // namespace

AggregateResult aggregate_updates(Aggregation rule, const std::vector<nn::Stage>& stages,
                                  const std::vector<const Update*>& updates, int selected,
                                  const std::vector<double>& p_none, const Weights* weights,
                                  const Inclusion* inclusion) {
  if (weights && weights->per_update.size() != updates.size()) {
    throw std::invalid_argument("aggregate_updates: " + std::to_string(weights->per_update.size()) +
                                " weights for " + std::to_string(updates.size()) + " updates");
  }
  const int L = static_cast<int>(stages.size());
  const bool inclusion_rule = rule == Aggregation::kInclusion || rule == Aggregation::kHajek;
  if (inclusion_rule) check_inclusion(inclusion, updates.size(), L);
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
      case Aggregation::kExchangeable: {
        r.active[s] = k > 0;
        double p = p_none.empty() ? 0.0 : p_none[s];
        if (!(p >= 0.0 && p < 1.0)) {
          throw std::invalid_argument("aggregate_updates: p_none[" + std::to_string(s) +
                                      "] = " + std::to_string(p) + " must lie in [0, 1)");
        }
        scale = k > 0 ? 1.0 / (k_eff * (1.0 - p)) : 0.0;
        break;
      }
      case Aggregation::kInclusion:
      case Aggregation::kHajek:
        r.active[s] = k > 0;
        break;
    }
    if (!have_math || k == 0) continue;
    if (inclusion_rule) {
      inclusion_stage(updates, weights, *inclusion, s, L, stages[s], k_eff,
                      rule == Aggregation::kHajek, r.direction);
      continue;
    }
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
