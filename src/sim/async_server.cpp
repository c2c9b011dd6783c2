// The asynchronous server (see async.hpp): starts a job on every slot, then each time jobs end it
// takes every report in its inbox, in client-id order: the update goes into the buffer with its
// staleness and, when the buffer holds M updates, the model is updated (recorded, evaluated,
// checkpointed); then each freed slot gets a newly drawn idle client on the newest version.
#include "sim/async_server.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "metrics/divergence.hpp"
#include "platform/availability.hpp"

namespace fedgrid::sim {

AsyncServer::AsyncServer(Context* ctx)
    : ctx_(ctx),
      run_(*ctx->async),
      algo_(*ctx->async->algorithm),
      setup_(ctx->setup),
      stages_(ctx->setup.exp->model.stages()),
      model_{ctx->setup.exp->initial_params,
             nn::Sgd(ctx->setup.math ? ctx->setup.exp->model.num_params() : 0,
                     static_cast<float>(algo_.config().training.server_momentum))},
      client_jobs_(ctx->setup.exp->scenario.clients, 0),
      idle_(ctx->setup.exp->scenario.clients) {
  if (setup_.math) current_ = std::make_shared<const nn::Vector>(model_.params);
  if (setup_.resume) {
    replay_until_ = setup_.resume->round;
    run_.math_on = false;
  }
  // Availability traces may switch devices off for good (random timelines always come back).
  const auto& spec = setup_.exp->scenario.availability;
  const int U = setup_.exp->scenario.clients;
  gone_.assign(U, std::numeric_limits<double>::infinity());
  if (spec.model == platform::AvailabilityModel::kTrace) {
    const auto timelines = platform::make_timelines(spec, U, setup_.exp->scenario.seed);
    for (int u = 0; u < U; ++u) gone_[u] = timelines[u].gone_at();
  }
}

bool AsyncServer::all_gone() const {
  const double now = sg4::Engine::get_clock();
  return std::all_of(gone_.begin(), gone_.end(), [now](double t) { return t <= now; });
}

// A job for `client` on `slot`, from the current version.
void AsyncServer::launch(int slot, int client) {
  Slot& s = ctx_->slots[slot];
  AsyncSlot& a = run_.slots[slot];
  const fl::ClientTask task = algo_.task(client);
  Report& rep = s.report;
  rep = Report{};
  rep.slot = slot;
  rep.record.round = client_jobs_[client];
  rep.record.client = client;
  rep.record.batch = task.batch;
  rep.record.steps = task.steps;
  rep.record.status = fl::ClientStatus::kFailed;  // until the job says otherwise
  rep.record.reason = fl::DropReason::kDownload;
  a.job = run_.jobs;
  a.version = version_;
  a.t_start = sg4::Engine::get_clock();
  a.empty = a.processed = a.computed = a.over = a.down_posted = a.up_posted = false;
  a.model = run_.math_on ? current_ : nullptr;
  if (setup_.availability && !s.alive) spawn_async_slot(ctx_, slot, setup_.client_hosts[client]);
  if (setup_.client_hosts.empty()) {  // host slots: the slot's link takes the client's values
    const ClientParams& c = setup_.clients[client];
    for (sg4::Link* l : {s.link_up, s.link_down})
      l->set_bandwidth(c.bandwidth)->set_latency(c.latency);
  }
  s.order = RoundOrder{};
  s.order.round = client_jobs_[client];
  s.order.task = task;
  s.order.deadline = std::numeric_limits<double>::infinity();
  s.order.lr = static_cast<float>(algo_.client_lr(version_));
  s.in_round = true;
  ++next_.started;
  next_.bytes_down += setup_.model_bytes;
  a.go->release();
  s.start->release();
}

// Draws idle clients for `slot` until one is on (availability); false if none is.
bool AsyncServer::start_job(int slot, std::vector<int>& offline) {
  while (!idle_.empty()) {
    util::Rng rng(setup_.exp->scenario.seed, "async-select", static_cast<uint64_t>(run_.jobs + 1));
    const int u = idle_.take(rng);
    ++run_.jobs;
    ++client_jobs_[u];
    if (!setup_.availability || setup_.client_hosts[u]->is_on()) {
      launch(slot, u);
      return true;
    }
    offline.push_back(u);
    ++next_.offline;
    if (!replaying()) {
      const double now = sg4::Engine::get_clock();
      metrics::JobRecord j;
      j.job = run_.jobs;
      j.client = u;
      const fl::ClientTask task = algo_.task(u);
      j.batch = task.batch;
      j.steps = task.steps;
      j.version_down = version_;
      j.t_start = j.t_done = now;
      j.status = fl::ClientStatus::kOffline;
      run_.recorder->job(j);
    }
  }
  return false;
}

// Starts a job on each freed slot and on each slot left empty before.
void AsyncServer::start_jobs(const std::vector<int>& freed) {
  // Devices that go off at this very date are offline for these jobs (sync server: the same).
  if (setup_.availability) sg4::this_actor::execute(0);
  std::vector<int> todo;
  todo.swap(empty_slots_);
  todo.insert(todo.end(), freed.begin(), freed.end());
  std::vector<int> offline;
  for (int slot : todo) {
    if (!start_job(slot, offline)) {
      run_.slots[slot].empty = true;
      empty_slots_.push_back(slot);
    }
  }
  run_.empty_slots = static_cast<int>(empty_slots_.size());
  for (int u : offline) idle_.put(u);
}

// Takes the report of the job on `slot`; false when the run is over (its last update done).
bool AsyncServer::take(int slot) {
  const Report& rep = ctx_->slots[slot].report;
  const auto& c = rep.record;
  AsyncSlot& a = run_.slots[slot];
  a.processed = true;
  back_to_idle_.push_back(c.client);
  metrics::JobRecord j;
  j.job = a.job;
  j.client = c.client;
  j.batch = c.batch;
  j.steps = c.steps;
  j.version_down = a.version;
  j.t_start = a.t_start;
  j.t_download = c.t_download;
  j.t_compute = c.t_compute;
  j.t_done = c.t_done;
  j.status = c.status;
  j.reason = c.status == fl::ClientStatus::kFull ? fl::DropReason::kNone : c.reason;
  if (!rep.delivered) {
    ++next_.failed;
    if (!replaying()) run_.recorder->job(j);
    a.model.reset();
    return true;
  }
  j.version_up = version_;
  j.bytes_up = c.bytes_up;
  if (!replaying()) run_.recorder->job(j);
  const long tau = version_ - a.version;
  staleness_sum_ += static_cast<double>(tau);
  next_.max_staleness = std::max(next_.max_staleness, tau);
  next_.bytes_up += c.bytes_up;
  const bool math = setup_.math && run_.math_on;
  if (math) loss_sum_ += a.update.loss;
  const fl::AsyncUpdate u{c.client, math ? &a.update : nullptr, tau, algo_.client_lr(a.version),
                          a.model.get()};
  algo_.add(buffer_, u, model_.params, stages_);
  a.model.reset();
  if (buffer_.count < algo_.buffer_size()) return true;
  return server_update();
}

// Takes `reports` (slots whose job ended, by client id); false when the run is over.
bool AsyncServer::process(const std::vector<int>& reports) {
  bool delivered = false;
  for (int slot : reports) delivered = delivered || ctx_->slots[slot].report.delivered;
  if (delivered && setup_.math && run_.math_on) setup_.math->wait_gradients();
  for (int slot : reports) {
    if (!take(slot)) return false;
  }
  return true;
}

// The buffer is full: the next model version. False when the run is over.
bool AsyncServer::server_update() {
  ++version_;
  const double now = sg4::Engine::get_clock();
  metrics::UpdateRecord r = next_;
  r.version = version_;
  r.t_start = t_last_;
  r.t_end = now;
  r.updates = buffer_.count;
  r.mean_staleness = staleness_sum_ / buffer_.count;
  if (setup_.math && run_.math_on) {
    learn(r);
    metrics::RoundRecord losses;
    losses.train_loss = r.train_loss;
    losses.val_loss = r.val_loss;
    losses.test_loss = r.test_loss;
    ctx_->results.diverged = metrics::non_finite_after_round(losses, model_.params);
  } else {
    buffer_.clear();
  }
  next_ = metrics::UpdateRecord{};
  staleness_sum_ = loss_sum_ = 0;
  t_last_ = now;
  ctx_->results.rounds_done = static_cast<int>(version_);
  if (replaying()) {
    if (version_ == replay_until_) restore();
    return run_.error.empty();
  }
  run_.recorder->update(r);
  progress(r);
  if (!ctx_->results.diverged.empty()) return false;  // NaN/inf: this update is the last one
  if (version_ >= algo_.config().rounds) return false;
  if (setup_.stop_signal && *setup_.stop_signal) {
    ctx_->results.stopped_by = *setup_.stop_signal;
    save_checkpoint();
    return false;
  }
  if (setup_.checkpoint_every > 0 && version_ % setup_.checkpoint_every == 0) save_checkpoint();
  return true;
}

// Applies the buffer and evaluates the new version when due.
void AsyncServer::learn(metrics::UpdateRecord& r) {
  r.train_loss = loss_sum_ / buffer_.count;
  algo_.apply(model_, buffer_, stages_);
  current_ = std::make_shared<const nn::Vector>(model_.params);
  const auto& e = *setup_.exp;
  if (version_ % e.scenario.evaluation.every != 0 && version_ != algo_.config().rounds) return;
  metrics::RoundRecord rr;
  setup_.math->evaluate(model_.params, e.scenario.evaluation.validation, rr);
  r.val_loss = rr.val_loss;
  r.val_accuracy = rr.val_accuracy;
  r.test_loss = rr.test_loss;
  r.test_accuracy = rr.test_accuracy;
  ctx_->results.final_test_accuracy = rr.test_accuracy;
  ctx_->results.final_test_loss = rr.test_loss;
  ctx_->results.final_val_accuracy = rr.val_accuracy;
  ctx_->results.milestones.observe(version_, r.t_end, rr.test_accuracy, rr.test_loss);
}

void AsyncServer::progress(const metrics::UpdateRecord& r) const {
  if (!setup_.progress) return;
  char buf[160];
  std::snprintf(buf, sizeof buf, "  updates %d  staleness %.2f (max %ld)  test_acc %s", r.updates,
                r.mean_staleness, r.max_staleness,
                std::isnan(r.test_accuracy) ? "-" : metrics::fmt(r.test_accuracy).c_str());
  setup_.progress->step(r.version, r.t_end, buf);
}

void AsyncServer::run() {
  std::vector<int> all(run_.slots.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  start_jobs(all);
  const double budget = algo_.config().time_budget;
  for (;;) {
    // No job in flight and no device will ever be on again: nothing can happen any more.
    if (empty_slots_.size() == run_.slots.size() && all_gone()) {
      if (!setup_.quiet) {
        if (setup_.progress) setup_.progress->interrupt();
        std::fprintf(stderr, "[fedgrid] every client device is off for good at t=%.3f: stopping\n",
                     sg4::Engine::get_clock());
      }
      break;
    }
    if (budget > 0) {
      const double left = budget - sg4::Engine::get_clock();
      if (left <= 0 || run_.wake->acquire_timeout(left)) break;  // true: timed out
    } else {
      run_.wake->acquire();
    }
    run_.wake_pending = false;
    std::vector<int> reports;
    reports.swap(run_.inbox);
    std::sort(reports.begin(), reports.end(), [this](int a, int b) {
      return ctx_->slots[a].report.record.client < ctx_->slots[b].report.record.client;
    });
    back_to_idle_.clear();
    if (!process(reports)) break;
    for (int u : back_to_idle_) idle_.put(u);
    start_jobs(reports);
  }
  run_.stopped = true;
}

void async_server_actor(Context* ctx) { AsyncServer(ctx).run(); }

}  // namespace fedgrid::sim
