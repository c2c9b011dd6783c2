// ADEL-FL batch sizes (spec 4.3, 11.4): b_{u,t} = round(m P_u max(0, (T - B_u)/T)), clamped to
// [1, shard size], with every clamp reported to the caller.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fedgrid::plan {

// per_round: T = T_t, recomputed every round; first_round: T = T_1 for every round (authors' code).
enum class BatchRule { kPerRound, kFirstRound };

// Names as in scenario files: "per_round" | "first_round".
std::optional<BatchRule> parse_batch_rule(const std::string& name);
std::string to_string(BatchRule rule);

// A batch that had to be changed to fit [1, shard size].
struct BatchClamp {
  int client = 0;   // 0-based client index
  int round = 0;    // 1-based round; first_round reports each clamp once, with round 1
  long wanted = 0;  // the rule's value
  int got = 0;      // the batch actually used
};

struct BatchPlan {
  std::vector<std::vector<int>> batch;  // batch[t-1][u] for rounds t = 1..R
  std::vector<BatchClamp> clamps;
};

// Samples in local step `step` (0-based) of a client with a shard of `shard` samples and batch
// `batch`: the batch (at most the shard) for K local steps; with epochs (passes over the shard in
// batches), the last batch of each pass holds what is left.
int step_batch(std::size_t shard, int batch, bool epochs, long step);

// The unclamped rule value round(m P max(0, (T - B)/T)); ties round to even like numpy.round.
long batch_size(double m, double P, double B, double T);

// Batches for every round and client. deadlines = T_1..T_R (R >= 1), P, B and shard_sizes have
// one entry per client. Throws std::invalid_argument on size mismatches, util::InputError when a
// client's shard is empty (no batch >= 1 exists).
BatchPlan plan_batches(const std::vector<double>& P, const std::vector<double>& B,
                       const std::vector<double>& deadlines, double m, BatchRule rule,
                       const std::vector<int>& shard_sizes);

}  // namespace fedgrid::plan
