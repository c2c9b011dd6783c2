// Server actor: the one round loop. Configure a round, start the selected clients' slots and the
// round's NIC helper, collect one report per client (by the deadline at the latest), wait for
// the gradient jobs, aggregate layer-wise, step the optimiser, evaluate, record.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "sim/context.hpp"

namespace fedgrid::sim {

namespace {

int dummy_payload;

// The server side of the round's transfers, on the server host: a model send to every slot's
// download mailbox and a receive on every upload mailbox, posted once (private mailboxes of
// length 1: O(1) matching; no detached comms). It never waits on them; at the end of the round
// it withdraws the receives of the clients that stopped before uploading.
void nic_actor(Context* ctx, int count, sg4::SemaphorePtr done) {
  std::vector<sg4::CommPtr> sends, receives;
  std::vector<void*> sinks(count);
  sends.reserve(count);
  receives.reserve(count);
  for (int i = 0; i < count; ++i) {
    sends.push_back(ctx->slots[i].down->put_async(&dummy_payload, ctx->model_bytes));
  }
  for (int i = 0; i < count; ++i) receives.push_back(ctx->slots[i].up->get_async(&sinks[i]));
  done->acquire();
  for (int i = 0; i < count; ++i) {
    if (!ctx->upload_posted[i]) receives[i]->cancel();
  }
}

void progress(const Context* ctx, const metrics::RoundRecord& r, int rounds) {
  if (ctx->quiet) return;
  std::fprintf(stderr,
               "[fedgrid] round %d/%d  t=%.3f  full %d  partial %d  dropped %d  test_acc %s\n",
               r.round, rounds, r.t_end, r.full, r.partial, r.dropped,
               std::isnan(r.test_accuracy) ? "-" : metrics::fmt(r.test_accuracy).c_str());
}

// Hands the round's orders to the slots (slot i plays the i-th selected client).
void start_slots(Context* ctx, const fl::RoundPlan& plan, double deadline,
                 const std::shared_ptr<const nn::Vector>& model, std::vector<fl::Update>& ups) {
  const bool host_slots = ctx->client_hosts.empty();
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& task = plan.tasks[i];
    Slot& s = ctx->slots[i];
    if (host_slots) {  // the slot's link takes the client's parameters (no transfer is active)
      const ClientParams& c = ctx->clients[task.client];
      for (sg4::Link* l : {s.link_up, s.link_down})
        l->set_bandwidth(c.bandwidth)->set_latency(c.latency);
    }
    s.order = RoundOrder{false,      plan.round,     task.client, deadline,
                         task.batch, plan.full_only, model,       &ups[i]};
    s.start->release();
  }
}

// Waits for exactly one report per started slot; records them by client id (= slot order) and
// returns which slots delivered their update.
std::vector<char> collect(Context* ctx, std::size_t expected, metrics::RoundRecord& rr) {
  if (expected > 0) ctx->inbox_sem->acquire();
  std::vector<metrics::ClientRecord> records(expected);
  std::vector<char> delivered(expected, 0);
  for (Report& rep : ctx->inbox) {
    delivered[rep.slot] = rep.delivered;
    records[rep.slot] = std::move(rep.record);
  }
  ctx->inbox.clear();
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& c : records) {
    ctx->recorder->client(c);
    rr.full += c.status == "full";
    rr.partial += c.status == "partial";
    rr.dropped += c.status == "dropped";
    rr.bytes_up += c.bytes_up;
  }
  ctx->write_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return delivered;
}

// The model being trained (math runs only).
struct Learner {
  nn::Vector params;
  nn::Sgd sgd;
};

// Steps the model with the aggregated direction and evaluates it (math runs only).
void learn(Context* ctx, const fl::RoundPlan& plan, const std::vector<fl::Update>& updates,
           const fl::AggregateResult& agg, Learner& l, metrics::RoundRecord& rr) {
  const auto& e = *ctx->exp;
  const auto& stages = e.model.stages();
  double loss_sum = 0;
  int n = 0;
  for (const auto& u : updates) {
    if (plan.full_only && u.stages_done < static_cast<int>(stages.size())) continue;
    loss_sum += u.loss;
    ++n;
  }
  if (n > 0) rr.train_loss = loss_sum / n;
  if (agg.direction.size() > 0) {
    l.sgd.step(l.params, agg.direction, static_cast<float>(plan.lr), stages, agg.active);
  }
  const int R = ctx->algorithm->config().rounds;
  if (plan.round % e.scenario.evaluation.every == 0 || plan.round == R) {
    ctx->math->evaluate(l.params, e.scenario.evaluation.validation, rr);
    ctx->final_test_accuracy = rr.test_accuracy;
    ctx->final_test_loss = rr.test_loss;
    ctx->final_val_accuracy = rr.val_accuracy;
  }
}

// Runs the clients of one round until each has reported and its gradient job is done; returns
// the delivered updates, by client id.
std::vector<fl::Update> run_clients(Context* ctx, const fl::RoundPlan& plan, double deadline,
                                    const Learner& l, metrics::RoundRecord& rr) {
  const auto K = plan.tasks.size();
  std::shared_ptr<const nn::Vector> model;  // one copy per round, shared by the jobs
  if (ctx->math) model = std::make_shared<const nn::Vector>(l.params);
  std::vector<fl::Update> slot_updates(K);  // the math threads write the gradients here
  ctx->reports_missing = K;
  ctx->upload_posted.assign(K, 0);
  sg4::SemaphorePtr nic_done = sg4::Semaphore::create(0);
  sg4::ActorPtr nic =
      sg4::Actor::create("nic", ctx->server_host, nic_actor, ctx, static_cast<int>(K), nic_done);
  start_slots(ctx, plan, deadline, model, slot_updates);
  model.reset();
  const std::vector<char> delivered = collect(ctx, K, rr);
  nic_done->release();
  nic->join();
  if (ctx->math) ctx->math->wait_gradients();
  std::vector<fl::Update> updates;
  for (std::size_t i = 0; i < K; ++i) {
    if (delivered[i]) updates.push_back(std::move(slot_updates[i]));
  }
  return updates;
}

// One round starting at t0; returns when it ended.
double server_round(Context* ctx, const fl::RoundPlan& plan, double t0, Learner& l) {
  const auto& stages = ctx->exp->model.stages();
  const auto& algo = *ctx->algorithm;
  const double deadline = t0 + plan.deadline;
  metrics::RoundRecord rr;
  rr.round = plan.round;
  rr.t_start = t0;
  rr.deadline = std::isfinite(plan.deadline) ? plan.deadline : metrics::kNaN;
  rr.lr = plan.lr;
  rr.selected = static_cast<int>(plan.tasks.size());
  rr.bytes_down = ctx->model_bytes * plan.tasks.size();
  const std::vector<fl::Update> updates = run_clients(ctx, plan, deadline, l, rr);
  // A deadline round lasts exactly its deadline (synchronous FL).
  if (std::isfinite(deadline) && sg4::Engine::get_clock() < deadline - 1e-9) {
    sg4::this_actor::sleep_until(deadline);
  }
  rr.t_end = std::isfinite(deadline) ? deadline : sg4::Engine::get_clock();
  fl::AggregateResult agg = algo.aggregate(plan, updates, stages);
  std::vector<double> p = algo.expected_no_contributor(plan);
  for (int s = 0; s < static_cast<int>(stages.size()); ++s) {
    ctx->recorder->layer({plan.round, s, stages[s].name, agg.contributors[s],
                          p.empty() ? metrics::kNaN : p[s], agg.active[s] != 0});
  }
  if (ctx->math) learn(ctx, plan, updates, agg, l, rr);
  ctx->recorder->round(rr);
  ctx->rounds_done = plan.round;
  progress(ctx, rr, algo.config().rounds);
  return rr.t_end;
}

}  // namespace

void server_actor(Context* ctx) {
  const auto& e = *ctx->exp;
  const auto& algo = *ctx->algorithm;
  const double budget = algo.config().time_budget;
  Learner l{e.initial_params, nn::Sgd(ctx->math ? e.model.num_params() : 0,
                                      static_cast<float>(algo.config().training.momentum))};
  // Deadline rounds start exactly where the previous one ended (no drift from the clock's 1e-9
  // precision); wait-for-all rounds start when the last update came in.
  double t0 = sg4::Engine::get_clock();
  for (int round = 1; round <= algo.config().rounds; ++round) {
    if (algo.waits_for_all() && budget > 0 && t0 >= budget) break;
    t0 = server_round(ctx, algo.configure(round), t0, l);
  }
  for (auto& s : ctx->slots) {
    s.order = RoundOrder{};
    s.order.stop = true;
    s.start->release();
  }
}

}  // namespace fedgrid::sim
