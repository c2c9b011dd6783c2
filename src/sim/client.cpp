// Client slot actor: each round it plays one selected client: download the model, run its local
// steps (each backprop stage by stage from the output) as one SimGrid execution bounded by the
// deadline (a sleep of the same length on constant-speed hosts), hand the real local training of
// what counts to the math threads, upload the finished stages' bytes. Waits keep the stack small
// (beyond ~30k slots they run on 16 KiB stacks, see world.hpp): they throw only when the deadline
// keeper cancels a transfer (below). A device that goes off (host state profile) kills its slot;
// the client is then reported failed.
#include <algorithm>
#include <cmath>
#include <limits>
#include <simgrid/kernel/Timer.hpp>

#include "sim/context.hpp"
#include "train/local.hpp"
#include "util/rng.hpp"

namespace fedgrid::sim {

// Round deadlines without a SimGrid timer per client wait. In 3.32 a timed wait
// (Activity::wait_any_for with a timeout) adds a kernel timer, a heap node erased again when the
// activity ends first. A transfer over a route of the client's own takes the time its estimate
// says (world.cpp): when that ends before the deadline the slot waits without a timeout and
// registers the transfer here; one daemon actor sleeps until each deadline and cancels the
// registered transfers still running then, which ends their waits (with an exception, rare) at
// the time a timeout would have. Transfers estimated to be late keep the timed wait.
struct DeadlineKeeper {
  sg4::SemaphorePtr wake = sg4::Semaphore::create(0);  // released once per armed deadline
  std::vector<double> armed;                           // deadlines to enforce, ascending
  double sleeping_until = -std::numeric_limits<double>::infinity();
  std::vector<sg4::ActivityPtr> waiting;  // per slot: the transfer it waits for, if any
  std::vector<double> until;              // per slot: that transfer's deadline

  // Makes sure the keeper acts at `deadline`; false if it cannot (it already sleeps until a
  // later one: never with rounds one after the other, whose deadlines only grow).
  bool arm(double deadline) {
    if (!armed.empty() && armed.back() == deadline) return true;
    if (deadline < sleeping_until) return false;
    auto it = std::lower_bound(armed.begin(), armed.end(), deadline);
    if (it != armed.end() && *it == deadline) return true;
    armed.insert(it, deadline);
    wake->release();
    return true;
  }

  void run() {
    for (;;) {
      wake->acquire();
      const double d = armed.front();
      sleeping_until = d;
      if (sg4::Engine::get_clock() < d) sg4::this_actor::sleep_until(d);
      sleeping_until = -std::numeric_limits<double>::infinity();
      armed.erase(armed.begin());
      for (std::size_t i = 0; i < waiting.size(); ++i) {
        if (waiting[i] && until[i] <= d) {
          waiting[i]->cancel();
          waiting[i] = nullptr;
        }
      }
    }
  }
};

namespace {

int dummy_payload;  // mailbox transfers carry no data, only a simulated size

// Waits for `a` until the absolute time `deadline` (inf = no bound). Cancels it and returns
// false when the deadline passes first. (wait_until(t <= now) would not check completion.)
// `expected_in_time`: `a` runs on the client's own route and its estimate ends before the
// deadline, so the keeper enforces the deadline instead of a timer.
bool wait_bounded(Context* ctx, int slot, const sg4::ActivityPtr& a, double deadline,
                  bool expected_in_time) {
  if (!std::isfinite(deadline)) {
    a->wait();
    return true;
  }
  const double now = sg4::Engine::get_clock();
  if (now >= deadline) {
    if (a->test()) return true;
    a->cancel();
    return false;
  }
  DeadlineKeeper* k = ctx->keeper.get();
  if (!expected_in_time || k == nullptr || !k->arm(deadline)) {
    if (sg4::Activity::wait_any_for({a}, deadline - now) == 0) return true;
    a->cancel();
    return false;
  }
  k->waiting[slot] = a;
  k->until[slot] = deadline;
  bool finished = true;
  try {
    sg4::Activity::wait_any_for({a}, -1);
  } catch (const simgrid::Exception&) {
    finished = false;  // cancelled by the keeper
  }
  k->waiting[slot] = nullptr;
  // Finishing exactly at the deadline counts as late, as with a timeout.
  return finished && sg4::Engine::get_clock() < deadline;
}

// The amount of work (flop) of the c-th stage the client runs in a round, counted over its local
// steps (output stage first in every step): batch of the step x work per sample x a draw.
class StageCosts {
 public:
  StageCosts(const Context* ctx, const RoundOrder& o, double scale)
      : ctx_(ctx),
        o_(o),
        scale_(scale),
        L_(static_cast<int>(ctx->setup.stage_work.size())),
        shard_(ctx->setup.exp->shards[o.task.client].size()),
        epochs_(ctx->setup.algorithm->config().training.local_epochs > 0),
        law_(ctx->setup.exp->scenario.timing.law),
        rng_(ctx->setup.exp->scenario.seed, "timing", o.task.client, o.round) {}
  long count() const { return static_cast<long>(o_.task.steps) * L_; }
  double next() {
    const int k = static_cast<int>(c_ % L_);  // k-th stage from the output = stage L-1-k
    const int batch = o_.task.steps == 1 ? o_.task.batch
                                         : train::BatchSampler::step_batch(shard_, o_.task.batch,
                                                                           epochs_, c_ / L_);
    ++c_;
    const double draw = law_.draw(rng_, L_ - 1 - k);  // E = 1 (plan/stage_laws.hpp)
    return batch * ctx_->setup.stage_work[L_ - 1 - k] * draw * scale_;
  }

 private:
  const Context* ctx_;
  const RoundOrder& o_;
  double scale_;
  int L_;
  std::size_t shard_;
  bool epochs_;
  const plan::StageLaw& law_;
  util::Rng rng_;
  long c_ = 0;
};

}  // namespace

// Runs the client's stages (each local step: its L stages, output first) until `stop`; returns
// how many finished, over all steps. The costs are drawn twice from the same seed (total, then
// the count) instead of being stored: memory stays flat in the number of steps.
long compute_stages(const Context* ctx, const RoundOrder& o, double scale, double stop) {
  StageCosts costs(ctx, o, scale);
  const long n = costs.count();
  double total = 0;
  for (long c = 0; c < n; ++c) total += costs.next();
  double executed = total;
  if (!std::isfinite(stop)) {
    sg4::this_actor::execute(total);
  } else if (ctx->setup.constant_speed_hosts) {
    // The slot is the only actor computing on a host of constant speed: the execution would
    // take exactly flops / speed, so sleep that long, or until `stop` having done what the
    // host does by then (a sleep costs SimGrid less than an execution, and needs no timer).
    const double now = sg4::Engine::get_clock();
    if (now >= stop) return 0;
    const double speed = sg4::this_actor::get_host()->get_speed();
    if (now + total / speed < stop) {
      sg4::this_actor::sleep_for(total / speed);
    } else {
      executed = (stop - now) * speed;
      sg4::this_actor::sleep_until(stop);
    }
  } else {
    if (sg4::Engine::get_clock() >= stop) return 0;
    sg4::ExecPtr ex = sg4::this_actor::exec_async(total);
    if (sg4::Activity::wait_any_for({ex}, stop - sg4::Engine::get_clock()) != 0) {
      executed = total - ex->get_remaining();
      ex->cancel();
    }
  }
  if (executed >= total) return n;
  StageCosts again(ctx, o, scale);
  double cum = 0;
  long done = 0;
  while (done < n && (cum += again.next()) <= executed * (1 + 1e-12)) ++done;
  return done;
}

namespace {

// The slot's report is complete: hand it to the server.
void finish(Context* ctx, Slot& me) {
  me.in_round = false;
  deliver_report(ctx, std::move(me.report));
}

// What the client delivers after finishing `n` stages over its local steps: (stages, steps)
// that count, or {0, 0} with the drop reason when nothing counts (RoundPlan's rules).
struct Delivery {
  int stages = 0, steps = 0;
  fl::DropReason reason = fl::DropReason::kNone;
};

Delivery what_counts(const RoundOrder& o, long n, int L) {
  const long full_steps = n / L;
  if (full_steps >= o.task.steps) return {L, o.task.steps};
  if (o.timeout) return {0, 0, fl::DropReason::kTimeout};
  if (o.partial_steps && full_steps >= 1) return {L, static_cast<int>(full_steps)};
  if (o.partial_stages && o.task.steps == 1 && n > 0) return {static_cast<int>(n), 1};
  return {0, 0, n == 0 ? fl::DropReason::kCompute : fl::DropReason::kIncomplete};
}

// One round of one client. The NIC actor has (or will have) posted the matching transfers.
// The report is kept in the slot as it fills (reason = the phase under way), so that a device
// going off mid-round can still be reported (on_slot_killed).
void play_round(Context* ctx, int slot, const RoundOrder& o) {
  const RunSetup& setup = ctx->setup;
  Slot& me = ctx->slots[slot];
  const auto& stages = setup.exp->model.stages();
  const int L = static_cast<int>(stages.size());
  const ClientParams& cp = setup.clients[o.task.client];
  auto& rec = me.report.record;
  // 1. Download the global model (simulated size = its bytes).
  void* sink = nullptr;
  const bool down_in_time =
      cp.own_route && sg4::Engine::get_clock() + cp.download_margin < o.deadline;
  if (!wait_bounded(ctx, slot, me.down->get_async(&sink), o.deadline, down_in_time)) {
    rec.reason = o.timeout ? fl::DropReason::kTimeout : fl::DropReason::kDownload;
    rec.t_done = sg4::Engine::get_clock();
    return finish(ctx, me);
  }
  rec.t_download = sg4::Engine::get_clock();
  // 2. Local steps, stage by stage, until the deadline minus the time the upload needs.
  rec.reason = fl::DropReason::kCompute;
  const long n = compute_stages(ctx, o, cp.exec_scale, o.deadline - cp.upload_margin);
  rec.t_compute = sg4::Engine::get_clock();
  rec.stages_done = static_cast<int>(std::min<long>(n, L));
  rec.steps_done = static_cast<int>(std::min<long>(n / L, o.task.steps));
  const Delivery d = what_counts(o, n, L);
  if (d.stages == 0) {
    rec.reason = d.reason;
    rec.t_done = rec.t_compute;
    return finish(ctx, me);
  }
  rec.stages_done = d.stages;
  // 3. The real update of what counts: a job for the math threads (zero virtual time).
  fl::Update* up = &ctx->round.updates[slot];
  up->client = o.task.client;
  up->stages_done = d.stages;
  up->steps_done = d.steps;
  up->batch = o.task.batch;
  up->loss = metrics::kNaN;
  if (setup.math) {
    setup.math->submit(
        {o.model, o.task.client, o.round, o.task.batch, d.steps, L - d.stages, o.lr, up});
  }
  // 4. Upload the finished stages (simulated size = their bytes), bounded by the deadline.
  uint64_t bytes = 0;
  for (int s = L - d.stages; s < L; ++s) bytes += stages[s].size * sizeof(float);
  ctx->round.upload_posted[slot] = 1;
  rec.reason = fl::DropReason::kUpload;
  const bool up_in_time = cp.own_route && sg4::Engine::get_clock() + cp.upload_margin < o.deadline;
  if (!wait_bounded(ctx, slot, me.up->put_async(&dummy_payload, bytes), o.deadline, up_in_time)) {
    if (o.timeout) rec.reason = fl::DropReason::kTimeout;
    rec.t_done = sg4::Engine::get_clock();
    return finish(ctx, me);
  }
  rec.t_done = sg4::Engine::get_clock();
  rec.bytes_up = bytes;
  rec.status = d.stages == L && d.steps == o.task.steps ? fl::ClientStatus::kFull
                                                        : fl::ClientStatus::kPartial;
  rec.reason = fl::DropReason::kNone;
  me.report.delivered = true;
  finish(ctx, me);
}

}  // namespace

void start_deadline_keeper(Context* ctx) {
  auto k = std::make_shared<DeadlineKeeper>();
  k->waiting.resize(ctx->slots.size());
  k->until.resize(ctx->slots.size());
  ctx->keeper = k;
  sg4::Actor::create("deadline-keeper", ctx->setup.server_host, [k] { k->run(); })->daemonize();
}

void slot_actor(Context* ctx, int slot) {
  Slot& me = ctx->slots[slot];
  for (;;) {
    me.start->acquire();
    if (me.order.stop) return;
    const RoundOrder o = me.order;
    me.order.model.reset();  // the server's model copy is freed once every slot is done with it
    const auto& hosts = ctx->setup.client_hosts;
    if (!hosts.empty() && sg4::this_actor::get_host() != hosts[o.task.client])
      sg4::this_actor::set_host(hosts[o.task.client]);
    play_round(ctx, slot, o);
  }
}

void spawn_slot(Context* ctx, int slot, sg4::Host* host) {
  Slot& s = ctx->slots[slot];
  // A fresh semaphore: the killed actor may have been waiting on the old one.
  s.start = sg4::Semaphore::create(0);
  sg4::ActorPtr a = sg4::Actor::create("slot-" + std::to_string(slot), host, slot_actor, ctx, slot);
  s.alive = true;
  if (ctx->setup.availability) ctx->slot_of_actor[a->get_pid()] = slot;
}

void on_slot_killed(Context* ctx, int slot) {
  Slot& s = ctx->slots[slot];
  s.alive = false;
  if (ctx->keeper) ctx->keeper->waiting[slot] = nullptr;  // the killed wait's transfer
  if (!s.in_round) return;
  // SimGrid 3.32 calls this while it walks its list of actors to run: waking the server here
  // (semaphore release) would be lost. A kernel timer at the current date runs the report
  // right after, in maestro, where waking actors is safe (as SimGrid's own timeouts do).
  simgrid::kernel::timer::Timer::set(sg4::Engine::get_clock(), [ctx, slot] {
    Slot& k = ctx->slots[slot];
    auto& rec = k.report.record;
    rec.status = fl::ClientStatus::kFailed;  // the reason: in which phase the device went off
    rec.t_done = sg4::Engine::get_clock();
    k.report.delivered = false;
    k.in_round = false;
    deliver_report(ctx, std::move(k.report));
  });
}

void deliver_report(Context* ctx, Report&& r) {
  RoundState& round = ctx->round;
  if (round.inbox.empty()) round.inbox.reserve(round.reports_missing);  // one buffer per round
  round.inbox.push_back(std::move(r));
  if (--round.reports_missing == 0) round.inbox_sem->release();
}

}  // namespace fedgrid::sim
