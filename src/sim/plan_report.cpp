// plan.csv, the printed plan, the deadline check and the clamp note (see plan_report.hpp).
#include "sim/plan_report.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "fl/async.hpp"
#include "metrics/recorder.hpp"
#include "util/error.hpp"

namespace fedgrid::sim {

namespace {

void append_int(std::string& s, long v) {
  char buf[24];
  s.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace

// plan.csv; planned_batch is the batch rule's value before clamping to [1, shard size].
// Adaptive algorithms (re-planning) add `plan`: which plan each round used (0 = the initial one).
std::string plan_csv(const fl::Algorithm& algo) {
  const bool adaptive = algo.adaptive();
  std::string s = adaptive ? "round,client,batch,planned_batch,deadline,plan\n"
                           : "round,client,batch,planned_batch,deadline\n";
  for (int r = 1; r <= algo.config().rounds; ++r) {
    const fl::RoundPlan p = algo.configure(r);
    std::string deadline =
        "," + metrics::fmt(std::isfinite(p.deadline) ? p.deadline : metrics::kNaN);
    if (adaptive) deadline += "," + std::to_string(algo.plan_index(r));
    deadline += "\n";
    for (const auto& t : p.tasks) {
      append_int(s, r);
      s += ',';
      append_int(s, t.client);
      s += ',';
      append_int(s, t.batch);
      s += ',';
      append_int(s, algo.planned_batch(r, t.client));
      s += deadline;
    }
  }
  return s;
}

// Rejects deadlines within which no client can ever deliver what the algorithm requires.
void check_deadlines(const io::Experiment& exp, const fl::Algorithm& algo,
                     const std::vector<fl::ClientInfo>& infos) {
  const auto& sc = exp.scenario;
  if (algo.deadlines().empty()) return;
  const int L = exp.model.num_stages();
  for (int r = 1; r <= sc.algorithm.rounds; ++r) {
    fl::RoundPlan p = algo.configure(r);
    // Stages a client must finish for anything to count: one (a stage suffix), a whole local
    // step (partial steps) or all of its planned work.
    const bool need_all = !p.partial_stages && !p.partial_steps;
    bool possible = false;
    double best = std::numeric_limits<double>::infinity();
    for (const auto& t : p.tasks) {
      const auto& c = infos[t.client];
      // The least time the needed stages can take under the stage-time law (0 for exponential).
      const long needed = p.partial_stages ? 1 : p.partial_steps ? L : long(t.steps) * L;
      const double work = algo.timing().minimum(needed) * t.batch / c.speed;
      best = std::min(best, c.comm_time + work);
      possible = possible || c.comm_time + work < p.deadline;
    }
    if (!possible) {
      util::throw_input_error(
          sc.file, 0, sc.algorithm.deadline > 0 ? "algorithm.deadline" : "algorithm.time_budget",
          "a round deadline longer than the fastest client's " +
              std::string(need_all          ? "full update"
                          : p.partial_steps ? "download, one local step and upload"
                                            : "download, one stage and upload") +
              " (" + metrics::fmt(best) + " s)",
          "deadline " + metrics::fmt(p.deadline) + " s in round " + std::to_string(r));
    }
  }
}

void print_plan(const fl::Algorithm& algo, const World& world) {
  const std::vector<fl::ClientInfo>& infos = world.infos;
  const auto& cfg = algo.config();
  std::printf("algorithm %s, %d rounds, %zu clients, m = %.6g", cfg.name.c_str(), cfg.rounds,
              infos.size(), algo.m());
  std::printf("%s", algo.plan_note().c_str());
  std::printf("\nheterogeneity: CV of client speeds %.6g, CV of communication times %.6g",
              world.heterogeneity, world.comm_heterogeneity);
  // What the plan uses (the platform's values, inputs_csv's, or the estimates' prior).
  const std::vector<fl::ClientInfo>& known = algo.knowledge(1);
  std::printf("\nclient capabilities P_u and communication times B_u (as planned):\n");
  for (std::size_t u = 0; u < infos.size(); ++u) {
    std::printf("  client %zu: P_u %.6g  B_u %.6g  shard %zu\n", u, known[u].speed,
                known[u].comm_time, infos[u].shard);
  }
  if (const fl::AsyncAlgorithm* as = algo.asynchronous()) {
    std::printf("asynchronous: %d clients in flight, %d updates per server update, no rounds\n",
                as->concurrency(), as->buffer_size());
    return;
  }
  std::printf("round  deadline  batches\n");
  for (int r = 1; r <= cfg.rounds; ++r) {
    fl::RoundPlan p = algo.configure(r);
    std::printf("%5d  %8s ", r,
                std::isfinite(p.deadline) ? metrics::fmt(p.deadline).c_str() : "none");
    for (const auto& t : p.tasks) std::printf(" %d", t.batch);
    std::printf("\n");
  }
}

void note_clamps(const fl::Algorithm& algo) {
  const auto& c = algo.clamps().front();
  std::fprintf(stderr,
               "[fedgrid] note: %zu planned batch sizes were clamped to [1, shard size] (first: "
               "round %d client %d wanted %ld, got %d); see plan.csv\n",
               algo.clamps().size(), c.round, c.client, c.wanted, c.got);
}

}  // namespace fedgrid::sim
