// Server actor: the one round loop. Configure a round, start the selected clients' slots and the
// round's NIC helper, collect one report per client (by the deadline at the latest), wait for
// the gradient jobs, aggregate layer-wise, step the optimiser, evaluate, record.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "metrics/divergence.hpp"
#include "sim/context.hpp"

namespace fedgrid::sim {

namespace {

int dummy_payload;

// The server side of the round's transfers, on the server host: a model send to every slot's
// download mailbox and a receive on every upload mailbox, posted once (private mailboxes of
// length 1: O(1) matching; no detached comms). It never waits on them; at the end of the round
// it withdraws the receives of the clients that stopped before uploading.
// Slots whose client's device was off at the start of the round get no transfers.
void nic_actor(Context* ctx, std::vector<int> started, sg4::SemaphorePtr done) {
  std::vector<sg4::CommPtr> sends, receives;
  std::vector<void*> sinks(started.size());
  sends.reserve(started.size());
  receives.reserve(started.size());
  for (int i : started) {
    sends.push_back(ctx->slots[i].down->put_async(&dummy_payload, ctx->model_bytes));
  }
  for (std::size_t k = 0; k < started.size(); ++k) {
    receives.push_back(ctx->slots[started[k]].up->get_async(&sinks[k]));
  }
  done->acquire();
  for (std::size_t k = 0; k < started.size(); ++k) {
    if (!ctx->upload_posted[started[k]]) receives[k]->cancel();
  }
}

void progress(const Context* ctx, const metrics::RoundRecord& r, int rounds) {
  if (ctx->quiet) return;
  std::fprintf(stderr,
               "[fedgrid] round %d/%d  t=%.3f  full %d  partial %d  dropped %d  test_acc %s\n",
               r.round, rounds, r.t_end, r.full, r.partial, r.dropped,
               std::isnan(r.test_accuracy) ? "-" : metrics::fmt(r.test_accuracy).c_str());
}

// Hands the round's orders to the slots (slot i plays the i-th selected client) and returns
// the slots started. A client whose device is off is reported `offline` at once; a slot whose
// actor a failure killed is started again on the client's host.
std::vector<int> start_slots(Context* ctx, const fl::RoundPlan& plan, double bound, bool timeout,
                             const std::shared_ptr<const nn::Vector>& model,
                             std::vector<fl::Update>& ups) {
  const bool host_slots = ctx->client_hosts.empty();
  std::vector<int> started;
  started.reserve(plan.tasks.size());
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& task = plan.tasks[i];
    Slot& s = ctx->slots[i];
    Report& rep = s.report;
    rep = Report{};
    rep.slot = static_cast<int>(i);
    rep.record.round = plan.round;
    rep.record.client = task.client;
    rep.record.batch = task.batch;
    rep.record.status = "dropped";
    rep.record.reason = "download";
    if (ctx->availability) {
      sg4::Host* h = ctx->client_hosts[task.client];
      if (!h->is_on()) {
        rep.record.status = "offline";
        rep.record.reason.clear();
        deliver_report(ctx, std::move(rep));
        continue;
      }
      if (!s.alive) spawn_slot(ctx, static_cast<int>(i), h);
    }
    if (host_slots) {  // the slot's link takes the client's parameters (no transfer is active)
      const ClientParams& c = ctx->clients[task.client];
      for (sg4::Link* l : {s.link_up, s.link_down})
        l->set_bandwidth(c.bandwidth)->set_latency(c.latency);
    }
    s.order = RoundOrder{false,      plan.round,     task.client, bound,  timeout,
                         task.batch, plan.full_only, model,       &ups[i]};
    s.in_round = true;
    started.push_back(static_cast<int>(i));
    s.start->release();
  }
  return started;
}

// Waits for exactly one report per started slot; records them by client id (= slot order) and
// returns which slots delivered their update.
std::vector<char> collect(Context* ctx, std::size_t expected, metrics::RoundRecord& rr) {
  if (expected > 0) ctx->inbox_sem->acquire();
  // The reports came in arrival order: visit them by slot (no copy of 100k records at scale).
  std::vector<std::size_t> by_slot(expected);
  std::vector<char> delivered(expected, 0);
  for (std::size_t k = 0; k < ctx->inbox.size(); ++k) {
    const Report& rep = ctx->inbox[k];
    delivered[rep.slot] = rep.delivered;
    by_slot[rep.slot] = k;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t k : by_slot) {
    const metrics::ClientRecord& c = ctx->inbox[k].record;
    ctx->recorder->client(c);
    rr.full += c.status == "full";
    rr.partial += c.status == "partial";
    rr.dropped += c.status == "dropped";
    rr.failed += c.status == "failed";
    rr.offline += c.status == "offline";
    rr.bytes_up += c.bytes_up;
  }
  ctx->inbox.clear();
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
// the delivered updates, by client id. Clients give up at `bound` (absolute time).
std::vector<fl::Update> run_clients(Context* ctx, const fl::RoundPlan& plan, double bound,
                                    bool timeout, const Learner& l, metrics::RoundRecord& rr) {
  const auto K = plan.tasks.size();
  std::shared_ptr<const nn::Vector> model;  // one copy per round, shared by the jobs
  if (ctx->math) model = std::make_shared<const nn::Vector>(l.params);
  std::vector<fl::Update> slot_updates(K);  // the math threads write the gradients here
  ctx->reports_missing = K;
  ctx->upload_posted.assign(K, 0);
  std::vector<int> started = start_slots(ctx, plan, bound, timeout, model, slot_updates);
  model.reset();
  sg4::SemaphorePtr nic_done = sg4::Semaphore::create(0);
  sg4::ActorPtr nic =
      sg4::Actor::create("nic", ctx->server_host, nic_actor, ctx, std::move(started), nic_done);
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

// Writes the checkpoint of the rounds done so far; the next round starts at t_next.
void save_checkpoint(Context* ctx, const Learner& l, double t_next) {
  io::Checkpoint c;
  c.round = ctx->rounds_done;
  c.t_next = t_next;
  c.clock = sg4::Engine::get_clock();
  c.file_sizes = ctx->recorder->flush();
  c.val_accuracy = ctx->final_val_accuracy;
  c.test_accuracy = ctx->final_test_accuracy;
  c.test_loss = ctx->final_test_loss;
  c.params = l.params;
  c.velocity = l.sgd.velocity();
  c.invocation = ctx->invocation;
  io::write_checkpoint(ctx->recorder->dir(), c);
}

// One round starting at t0; returns when it ended.
double server_round(Context* ctx, const fl::RoundPlan& plan, double t0, Learner& l) {
  const auto& stages = ctx->exp->model.stages();
  const auto& algo = *ctx->algorithm;
  const double deadline = t0 + plan.deadline;
  // Wait-for-all rounds may have a timeout: clients give up then, the round ends when the last
  // one has reported.
  const double timeout = algo.config().round_timeout;
  const bool timed_out = !std::isfinite(deadline) && timeout > 0;
  metrics::RoundRecord rr;
  rr.round = plan.round;
  rr.t_start = t0;
  rr.deadline = std::isfinite(plan.deadline) ? plan.deadline : metrics::kNaN;
  rr.lr = plan.lr;
  rr.selected = static_cast<int>(plan.tasks.size());
  rr.bytes_down = ctx->model_bytes * plan.tasks.size();
  const std::vector<fl::Update> updates =
      run_clients(ctx, plan, timed_out ? t0 + timeout : deadline, timed_out, l, rr);
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
  if (ctx->math) ctx->diverged = metrics::non_finite_after_round(rr, l.params);  // stops the run
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
  int round = 1;
  if (const io::Checkpoint* c = ctx->resume) {
    round = c->round + 1;
    t0 = c->t_next;
    if (ctx->math) {
      l.params = c->params;
      l.sgd.set_velocity(c->velocity);
    }
    ctx->rounds_done = c->round;
    ctx->final_val_accuracy = c->val_accuracy;
    ctx->final_test_accuracy = c->test_accuracy;
    ctx->final_test_loss = c->test_loss;
    // The system is idle between rounds: waiting until the checkpoint's clock replays what
    // happened meanwhile (availability changes) and puts SimGrid where the run left it.
    if (c->clock > sg4::Engine::get_clock()) sg4::this_actor::sleep_until(c->clock);
  }
  for (; round <= algo.config().rounds; ++round) {
    if (algo.waits_for_all() && budget > 0 && t0 >= budget) break;
    if (ctx->stop_signal && *ctx->stop_signal) {
      ctx->stopped_by = *ctx->stop_signal;
      save_checkpoint(ctx, l, t0);
      break;
    }
    t0 = server_round(ctx, algo.configure(round), t0, l);
    if (!ctx->diverged.empty()) break;  // NaN/inf: this round is the last one (summary.json)
    if (ctx->checkpoint_every > 0 && round % ctx->checkpoint_every == 0 &&
        round < algo.config().rounds) {
      save_checkpoint(ctx, l, t0);
    }
  }
  for (auto& s : ctx->slots) {
    if (!s.alive) continue;
    s.order = RoundOrder{};
    s.order.stop = true;
    s.start->release();
  }
}

}  // namespace fedgrid::sim
