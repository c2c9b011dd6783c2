// ADEL-FL batch-size rule with clamping to [1, shard size] and a list of the clamps made.
#include "plan/batch_rule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "util/error.hpp"

namespace fedgrid::plan {

std::optional<BatchRule> parse_batch_rule(const std::string& name) {
  if (name == "per_round") return BatchRule::kPerRound;
  if (name == "first_round") return BatchRule::kFirstRound;
  return std::nullopt;
}

std::string to_string(BatchRule rule) {
  return rule == BatchRule::kPerRound ? "per_round" : "first_round";
}

int step_batch(std::size_t shard, int batch, bool epochs, long step) {
  const auto b = static_cast<long>(batch);
  const auto n = static_cast<long>(shard);
  if (!epochs) return static_cast<int>(std::min(b, std::max(n, 1L)));
  const long per_epoch = std::max(1L, (n + b - 1) / b);
  const long j = step % per_epoch;
  return static_cast<int>(std::max(1L, std::min(b, n - j * b)));
}

long batch_size(double m, double P, double B, double T) {
  const double share = T > 0.0 ? std::max(0.0, (T - B) / T) : 0.0;
  return static_cast<long>(std::nearbyint(m * P * share));  // default mode: ties to even
}

BatchPlan plan_batches(const std::vector<double>& P, const std::vector<double>& B,
                       const std::vector<double>& deadlines, double m, BatchRule rule,
                       const std::vector<int>& shard_sizes) {
  const std::size_t U = P.size();
  if (B.size() != U || shard_sizes.size() != U || deadlines.empty()) {
    throw std::invalid_argument(
        "plan_batches: P, B and shard_sizes need one entry per client "
        "and there must be at least one deadline");
  }
  for (std::size_t u = 0; u < U; ++u) {
    if (shard_sizes[u] < 1) {
      throw util::InputError("ADEL-FL batches: client " + std::to_string(u) +
                             ": expected a data shard of at least 1 sample, found " +
                             std::to_string(shard_sizes[u]));
    }
  }
  BatchPlan plan;
  plan.batch.assign(deadlines.size(), std::vector<int>(U, 0));
  for (std::size_t t = 0; t < deadlines.size(); ++t) {
    const bool recompute = rule == BatchRule::kPerRound || t == 0;
    for (std::size_t u = 0; u < U; ++u) {
      if (!recompute) {
        plan.batch[t][u] = plan.batch[0][u];
        continue;
      }
      const long wanted = batch_size(m, P[u], B[u], deadlines[t]);
      const int got = static_cast<int>(std::clamp<long>(wanted, 1, shard_sizes[u]));
      plan.batch[t][u] = got;
      if (got != wanted) {
        plan.clamps.push_back(
            BatchClamp{static_cast<int>(u), static_cast<int>(t + 1), wanted, got});
      }
    }
  }
  return plan;
}

}  // namespace fedgrid::plan
