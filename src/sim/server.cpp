// Server actor: the one round loop. Configure a round, start the clients, collect one report per
// client (by the deadline at the latest), aggregate layer-wise, step the optimiser, evaluate.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sim/context.hpp"

namespace fedgrid::sim {

static void evaluate(Context* ctx, const nn::Vector& params, metrics::RoundRecord& r) {
  const auto& e = *ctx->exp;
  if (ctx->exp->scenario.evaluation.validation && e.validation.size() > 0) {
    auto v = e.model.evaluate(params, e.validation.x, e.validation.y);
    r.val_loss = v.loss;
    r.val_accuracy = v.accuracy();
  }
  auto t = e.model.evaluate(params, e.test.x, e.test.y);
  r.test_loss = t.loss;
  r.test_accuracy = t.accuracy();
}

static void progress(const Context* ctx, const metrics::RoundRecord& r, int rounds) {
  if (ctx->quiet) return;
  std::fprintf(stderr,
               "[fedgrid] round %d/%d  t=%.3f  full %d  partial %d  dropped %d  test_acc %s\n",
               r.round, rounds, r.t_end, r.full, r.partial, r.dropped,
               std::isnan(r.test_accuracy) ? "-" : metrics::fmt(r.test_accuracy).c_str());
}

// Collects exactly one report per started client; returns the delivered updates by client id.
static std::vector<fl::Update> collect(Context* ctx, std::size_t expected,
                                       metrics::RoundRecord& rr) {
  std::vector<fl::Update> updates;
  std::vector<metrics::ClientRecord> records;
  for (std::size_t got = 0; got < expected; ++got) {
    ctx->inbox_sem->acquire();
    Report rep = std::move(ctx->inbox.front());
    ctx->inbox.pop_front();
    records.push_back(rep.record);
    if (rep.update) updates.push_back(std::move(*rep.update));
  }
  // Fixed order whatever the arrival order: by client id.
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.client < b.client; });
  std::sort(updates.begin(), updates.end(),
            [](const auto& a, const auto& b) { return a.client < b.client; });
  for (const auto& c : records) {
    ctx->recorder->client(c);
    rr.full += c.status == "full";
    rr.partial += c.status == "partial";
    rr.dropped += c.status == "dropped";
    rr.bytes_up += c.bytes_up;
  }
  return updates;
}

void server_actor(Context* ctx) {
  const auto& e = *ctx->exp;
  const auto& algo = *ctx->algorithm;
  const auto& stages = e.model.stages();
  const int R = algo.config().rounds;
  const double budget = algo.config().time_budget;
  const bool math = !e.scenario.timing.timing_only;
  nn::Vector params = e.initial_params;
  nn::Sgd sgd(math ? e.model.num_params() : 0, static_cast<float>(algo.config().training.momentum));
  double t_next = sg4::Engine::get_clock();
  for (int round = 1; round <= R; ++round) {
    // Deadline rounds start exactly where the previous one ended (no drift from the clock's
    // 1e-9 precision); wait-for-all rounds start when the last update came in.
    const double t0 = t_next;
    if (algo.waits_for_all() && budget > 0 && t0 >= budget) break;
    fl::RoundPlan plan = algo.configure(round);
    const double deadline = t0 + plan.deadline;
    auto model = std::make_shared<const nn::Vector>(params);
    for (const auto& task : plan.tasks) {
      ClientState& c = ctx->clients[task.client];
      c.order = RoundOrder{false, round, deadline, task.batch, model, plan.full_only};
      c.start->release();
    }
    metrics::RoundRecord rr;
    rr.round = round;
    rr.t_start = t0;
    rr.deadline = std::isfinite(plan.deadline) ? plan.deadline : metrics::kNaN;
    rr.lr = plan.lr;
    rr.selected = static_cast<int>(plan.tasks.size());
    rr.bytes_down = ctx->model_bytes * plan.tasks.size();
    std::vector<fl::Update> updates = collect(ctx, plan.tasks.size(), rr);
    // A deadline round lasts exactly its deadline (synchronous FL).
    if (std::isfinite(deadline) && sg4::Engine::get_clock() < deadline - 1e-9) {
      sg4::this_actor::sleep_until(deadline);
    }
    rr.t_end = std::isfinite(deadline) ? deadline : sg4::Engine::get_clock();
    t_next = rr.t_end;
    fl::AggregateResult agg = algo.aggregate(plan, updates, stages);
    std::vector<double> p = algo.expected_no_contributor(plan);
    for (int s = 0; s < static_cast<int>(stages.size()); ++s) {
      ctx->recorder->layer({round, s, stages[s].name, agg.contributors[s],
                            p.empty() ? metrics::kNaN : p[s], agg.active[s] != 0});
    }
    if (math) {
      double loss_sum = 0;
      int n = 0;
      for (const auto& u : updates) {
        if (plan.full_only && u.stages_done < static_cast<int>(stages.size())) continue;
        loss_sum += u.loss;
        ++n;
      }
      if (n > 0) rr.train_loss = loss_sum / n;
      if (agg.direction.size() > 0) {
        sgd.step(params, agg.direction, static_cast<float>(plan.lr), stages, agg.active);
      }
      if (round % e.scenario.evaluation.every == 0 || round == R) evaluate(ctx, params, rr);
      if (!std::isnan(rr.test_accuracy)) {
        ctx->final_test_accuracy = rr.test_accuracy;
        ctx->final_test_loss = rr.test_loss;
        ctx->final_val_accuracy = rr.val_accuracy;
      }
    }
    ctx->recorder->round(rr);
    ctx->rounds_done = round;
    progress(ctx, rr, R);
  }
  for (auto& c : ctx->clients) {
    c.order = RoundOrder{};
    c.order.stop = true;
    c.start->release();
  }
}

}  // namespace fedgrid::sim
