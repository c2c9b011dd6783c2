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
    sends.push_back(ctx->slots[i].down->put_async(&dummy_payload, ctx->setup.model_bytes));
  }
  for (std::size_t k = 0; k < started.size(); ++k) {
    receives.push_back(ctx->slots[started[k]].up->get_async(&sinks[k]));
  }
  done->acquire();
  for (std::size_t k = 0; k < started.size(); ++k) {
    if (!ctx->round.upload_posted[started[k]]) receives[k]->cancel();
  }
}

void progress(const Context* ctx, const metrics::RoundRecord& r) {
  if (!ctx->setup.progress) return;
  char buf[160];
  std::snprintf(buf, sizeof buf, "  full %d  partial %d  dropped %d  test_acc %s", r.full,
                r.partial, r.dropped,
                std::isnan(r.test_accuracy) ? "-" : metrics::fmt(r.test_accuracy).c_str());
  ctx->setup.progress->step(r.round, r.t_end, buf);
}

// Hands the round's orders to the slots (slot i plays the i-th selected client) and returns
// the slots started. A client whose device is off is reported `offline` at once; a slot whose
// actor a failure killed is started again on the client's host.
std::vector<int> start_slots(Context* ctx, const fl::RoundPlan& plan, double bound, bool timeout,
                             const std::shared_ptr<const nn::Vector>& model) {
  const bool host_slots = ctx->setup.client_hosts.empty();
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
    rep.record.steps = task.steps;
    rep.record.status = fl::ClientStatus::kDropped;
    rep.record.reason = fl::DropReason::kDownload;
    if (ctx->setup.availability) {
      sg4::Host* h = ctx->setup.client_hosts[task.client];
      if (!h->is_on()) {
        rep.record.status = fl::ClientStatus::kOffline;
        rep.record.reason = fl::DropReason::kNone;
        deliver_report(ctx, std::move(rep));
        continue;
      }
      if (!s.alive) spawn_slot(ctx, static_cast<int>(i), h);
    }
    if (host_slots) {  // the slot's link takes the client's parameters (no transfer is active)
      const ClientParams& c = ctx->setup.clients[task.client];
      for (sg4::Link* l : {s.link_up, s.link_down})
        l->set_bandwidth(c.bandwidth)->set_latency(c.latency);
    }
    s.order = RoundOrder{false,
                         plan.round,
                         task,
                         bound,
                         timeout,
                         plan.partial_stages,
                         plan.partial_steps,
                         static_cast<float>(plan.lr),
                         model};
    s.in_round = true;
    started.push_back(static_cast<int>(i));
    s.start->release();
  }
  return started;
}

// Waits for exactly one report per started slot; records them by client id (= slot order) and
// returns which slots delivered their update.
std::vector<char> collect(Context* ctx, std::size_t expected, metrics::RoundRecord& rr) {
  if (expected > 0) ctx->round.inbox_sem->acquire();
  // The reports came in arrival order: visit them by slot (no copy of 100k records at scale).
  std::vector<std::size_t> by_slot(expected);
  std::vector<char> delivered(expected, 0);
  for (std::size_t k = 0; k < ctx->round.inbox.size(); ++k) {
    const Report& rep = ctx->round.inbox[k];
    delivered[rep.slot] = rep.delivered;
    by_slot[rep.slot] = k;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t k : by_slot) {
    const metrics::ClientRecord& c = ctx->round.inbox[k].record;
    ctx->setup.recorder->client(c);
    observe_client(ctx, c, rr.t_start);
    rr.full += c.status == fl::ClientStatus::kFull;
    rr.partial += c.status == fl::ClientStatus::kPartial;
    rr.dropped += c.status == fl::ClientStatus::kDropped;
    rr.failed += c.status == fl::ClientStatus::kFailed;
    rr.offline += c.status == fl::ClientStatus::kOffline;
    rr.bytes_up += c.bytes_up;
  }
  ctx->round.inbox.clear();
  ctx->results.write_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return delivered;
}

// Steps the model with the aggregated direction and evaluates it (math runs only).
void learn(Context* ctx, const fl::RoundPlan& plan, const std::vector<fl::Update>& updates,
           const fl::AggregateResult& agg, fl::ServerModel& model, metrics::RoundRecord& rr) {
  const RunSetup& setup = ctx->setup;
  const auto& e = *setup.exp;
  double loss_sum = 0;
  for (const auto& u : updates) loss_sum += u.loss;
  if (!updates.empty()) rr.train_loss = loss_sum / static_cast<double>(updates.size());
  setup.algorithm->server_step(model, agg, plan, e.model.stages());
  const int R = setup.algorithm->config().rounds;
  if (plan.round % e.scenario.evaluation.every == 0 || plan.round == R) {
    setup.math->evaluate(model.params, e.scenario.evaluation.validation, rr);
    ctx->results.final_test_accuracy = rr.test_accuracy;
    ctx->results.final_test_loss = rr.test_loss;
    ctx->results.final_val_accuracy = rr.val_accuracy;
    ctx->results.milestones.observe(plan.round, rr.t_end, rr.test_accuracy, rr.test_loss);
  }
}

// Runs the clients of one round until each has reported and its gradient job is done; returns
// the delivered updates, by client id. Clients give up at `bound` (absolute time).
std::vector<fl::Update> run_clients(Context* ctx, const fl::RoundPlan& plan, double bound,
                                    bool timeout, const fl::ServerModel& global,
                                    metrics::RoundRecord& rr) {
  const auto K = plan.tasks.size();
  std::shared_ptr<const nn::Vector> model;  // one copy per round, shared by the jobs
  if (ctx->setup.math) model = std::make_shared<const nn::Vector>(global.params);
  RoundState& round = ctx->round;
  round.updates.assign(K, fl::Update{});  // the math threads write the clients' updates here
  round.reports_missing = K;
  round.upload_posted.assign(K, 0);
  std::vector<int> started = start_slots(ctx, plan, bound, timeout, model);
  model.reset();
  sg4::SemaphorePtr nic_done = sg4::Semaphore::create(0);
  sg4::ActorPtr nic = sg4::Actor::create("nic", ctx->setup.server_host, nic_actor, ctx,
                                         std::move(started), nic_done);
  const std::vector<char> delivered = collect(ctx, K, rr);
  nic_done->release();
  nic->join();
  if (ctx->setup.math) ctx->setup.math->wait_gradients();
  std::vector<fl::Update> updates;
  for (std::size_t i = 0; i < K; ++i) {
    if (delivered[i]) updates.push_back(std::move(round.updates[i]));
  }
  return updates;
}

// Writes the checkpoint of the rounds done so far; the next round starts at t_next.
void save_checkpoint(Context* ctx, const fl::ServerModel& model, double t_next) {
  io::Checkpoint c;
  c.round = ctx->results.rounds_done;
  c.t_next = t_next;
  c.clock = sg4::Engine::get_clock();
  c.file_sizes = ctx->setup.recorder->flush();
  c.val_accuracy = ctx->results.final_val_accuracy;
  c.test_accuracy = ctx->results.final_test_accuracy;
  c.test_loss = ctx->results.final_test_loss;
  save_milestones(ctx->results.milestones, c);
  c.params = model.params;
  c.velocity = model.optimizer.velocity();
  if (ctx->setup.math) c.client_state = ctx->setup.math->client_state();
  c.invocation = ctx->setup.invocation;
  io::write_checkpoint(ctx->setup.recorder->dir(), c);
}

// One round starting at t0; returns when it ended.
double server_round(Context* ctx, const fl::RoundPlan& plan, double t0, fl::ServerModel& model) {
  const auto& stages = ctx->setup.exp->model.stages();
  const auto& algo = *ctx->setup.algorithm;
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
  rr.bytes_down = ctx->setup.model_bytes * plan.tasks.size();
  // A device that goes off exactly when the round starts (a trace's t = 0; a change at the date
  // the last report of a wait-for-all round came in) is offline for this round. SimGrid applies
  // the state changes of a date when it next advances its models, which a zero-flop computation
  // makes it do (sleep_for(0) does not); deadline rounds already wake after them.
  if (ctx->setup.availability) sg4::this_actor::execute(0);
  const std::vector<fl::Update> updates =
      run_clients(ctx, plan, timed_out ? t0 + timeout : deadline, timed_out, model, rr);
  // A deadline round lasts exactly its deadline (synchronous FL).
  if (std::isfinite(deadline) && sg4::Engine::get_clock() < deadline - 1e-9) {
    sg4::this_actor::sleep_until(deadline);
  }
  rr.t_end = std::isfinite(deadline) ? deadline : sg4::Engine::get_clock();
  fl::AggregateResult agg = algo.aggregate(plan, updates, stages);
  std::vector<double> p = algo.expected_no_contributor(plan);
  for (int s = 0; s < static_cast<int>(stages.size()); ++s) {
    ctx->setup.recorder->layer({plan.round, s, stages[s].name, agg.contributors[s],
                                p.empty() ? metrics::kNaN : p[s], agg.active[s] != 0});
  }
  if (ctx->setup.math) learn(ctx, plan, updates, agg, model, rr);
  // NaN/inf stops the run after this round (summary.json says where).
  if (ctx->setup.math) ctx->results.diverged = metrics::non_finite_after_round(rr, model.params);
  end_observed_round(ctx, plan.round, t0);  // adaptive algorithms re-plan from what they saw
  ctx->setup.recorder->round(rr);
  ctx->results.rounds_done = plan.round;
  progress(ctx, rr);
  return rr.t_end;
}

}  // namespace

void server_actor(Context* ctx) {
  const auto& e = *ctx->setup.exp;
  const auto& algo = *ctx->setup.algorithm;
  const double budget = algo.config().time_budget;
  fl::ServerModel model{e.initial_params,
                        nn::Sgd(ctx->setup.math ? e.model.num_params() : 0,
                                static_cast<float>(algo.config().training.server_momentum))};
  // Deadline rounds start exactly where the previous one ended (no drift from the clock's 1e-9
  // precision); wait-for-all rounds start when the last update came in.
  double t0 = sg4::Engine::get_clock();
  int round = 1;
  if (const io::Checkpoint* c = ctx->setup.resume) {
    round = c->round + 1;
    t0 = c->t_next;
    if (ctx->setup.math) {
      model.params = c->params;
      model.optimizer.set_velocity(c->velocity);
      if (!c->client_state.empty()) ctx->setup.math->set_client_state(c->client_state);
    }
    ctx->results.rounds_done = c->round;
    ctx->results.final_val_accuracy = c->val_accuracy;
    ctx->results.final_test_accuracy = c->test_accuracy;
    ctx->results.final_test_loss = c->test_loss;
    restore_milestones(*c, ctx->results.milestones);
    replay_observations(ctx, c->round);
    // The system is idle between rounds: waiting until the checkpoint's clock replays what
    // happened meanwhile (availability changes) and puts SimGrid where the run left it.
    if (c->clock > sg4::Engine::get_clock()) sg4::this_actor::sleep_until(c->clock);
  }
  for (; round <= algo.config().rounds; ++round) {
    if (algo.waits_for_all() && budget > 0 && t0 >= budget) break;
    if (ctx->setup.stop_signal && *ctx->setup.stop_signal) {
      ctx->results.stopped_by = *ctx->setup.stop_signal;
      save_checkpoint(ctx, model, t0);
      break;
    }
    t0 = server_round(ctx, algo.configure(round), t0, model);
    if (!ctx->results.diverged.empty()) break;  // NaN/inf: this round is the last one
    if (ctx->setup.checkpoint_every > 0 && round % ctx->setup.checkpoint_every == 0 &&
        round < algo.config().rounds) {
      save_checkpoint(ctx, model, t0);
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
