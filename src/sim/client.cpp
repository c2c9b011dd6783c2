// Client slot actor: each round it plays one selected client: download the model, backprop stage
// by stage from the output as one SimGrid execution bounded by the deadline (a sleep of the same
// length on constant-speed hosts), hand the real gradient of the finished suffix to the math
// threads, upload the finished stages' bytes. Waits keep the stack small (beyond ~30k slots they
// run on 16 KiB stacks, see world.hpp): they throw only when the deadline keeper cancels a
// transfer (below). A device that goes off (host state profile) kills its slot; the client is
// then reported failed.
#include <algorithm>
#include <cmath>
#include <limits>
#include <simgrid/kernel/Timer.hpp>

#include "sim/context.hpp"
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

// Runs the backward stages (output first) until `stop`; returns how many finished.
int compute_stages(const Context* ctx, const RoundOrder& o, double scale, double stop) {
  const int L = static_cast<int>(ctx->stage_work.size());
  util::Rng rng(ctx->exp->scenario.seed, "timing", o.client, o.round);
  std::vector<double> cum(L);
  double total = 0;
  for (int k = 0; k < L; ++k) {  // k-th stage from the output = stage L-1-k
    const double draw = ctx->exp->scenario.timing.exponential ? rng.exponential1() : 1.0;
    total += o.batch * ctx->stage_work[L - 1 - k] * draw * scale;
    cum[k] = total;
  }
  double executed = total;
  if (!std::isfinite(stop)) {
    sg4::this_actor::execute(total);
  } else if (ctx->constant_speed_hosts) {
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
  int done = 0;
  while (done < L && cum[done] <= executed * (1 + 1e-12)) ++done;
  return done;
}

// The slot's report is complete: hand it to the server.
void finish(Context* ctx, Slot& me) {
  me.in_round = false;
  deliver_report(ctx, std::move(me.report));
}

// One round of one client. The NIC actor has (or will have) posted the matching transfers.
// The report is kept in the slot as it fills (reason = the phase under way), so that a device
// going off mid-round can still be reported (on_slot_killed).
void play_round(Context* ctx, int slot, const RoundOrder& o) {
  Slot& me = ctx->slots[slot];
  const auto& stages = ctx->exp->model.stages();
  const int L = static_cast<int>(stages.size());
  const ClientParams& cp = ctx->clients[o.client];
  auto& rec = me.report.record;
  // 1. Download the global model (simulated size = its bytes).
  void* sink = nullptr;
  const bool down_in_time =
      cp.own_route && sg4::Engine::get_clock() + cp.download_margin < o.deadline;
  if (!wait_bounded(ctx, slot, me.down->get_async(&sink), o.deadline, down_in_time)) {
    rec.reason = o.timeout ? "timeout" : "download";
    rec.t_done = sg4::Engine::get_clock();
    return finish(ctx, me);
  }
  rec.t_download = sg4::Engine::get_clock();
  // 2. Backward stages until the deadline minus the time the upload needs.
  rec.reason = "compute";
  const int K = compute_stages(ctx, o, cp.exec_scale, o.deadline - cp.upload_margin);
  rec.t_compute = sg4::Engine::get_clock();
  rec.stages_done = K;
  if (K == 0 || ((o.full_only || o.timeout) && K < L)) {  // FedAvg takes whole updates only
    rec.reason = o.timeout ? "timeout" : K == 0 ? "compute" : "incomplete";
    rec.t_done = rec.t_compute;
    return finish(ctx, me);
  }
  // 3. The real gradient of the finished suffix: a job for the math threads (zero virtual time).
  o.update->client = o.client;
  o.update->stages_done = K;
  o.update->batch = o.batch;
  o.update->loss = metrics::kNaN;
  if (ctx->math) ctx->math->submit_gradient(o.model, o.client, o.round, o.batch, L - K, o.update);
  // 4. Upload the finished stages (simulated size = their bytes), bounded by the deadline.
  uint64_t bytes = 0;
  for (int s = L - K; s < L; ++s) bytes += stages[s].size * sizeof(float);
  ctx->upload_posted[slot] = 1;
  rec.reason = "upload";
  const bool up_in_time = cp.own_route && sg4::Engine::get_clock() + cp.upload_margin < o.deadline;
  if (!wait_bounded(ctx, slot, me.up->put_async(&dummy_payload, bytes), o.deadline, up_in_time)) {
    if (o.timeout) rec.reason = "timeout";
    rec.t_done = sg4::Engine::get_clock();
    return finish(ctx, me);
  }
  rec.t_done = sg4::Engine::get_clock();
  rec.bytes_up = bytes;
  rec.status = K == L ? "full" : "partial";
  rec.reason.clear();
  me.report.delivered = true;
  finish(ctx, me);
}

}  // namespace

void start_deadline_keeper(Context* ctx) {
  auto k = std::make_shared<DeadlineKeeper>();
  k->waiting.resize(ctx->slots.size());
  k->until.resize(ctx->slots.size());
  ctx->keeper = k;
  sg4::Actor::create("deadline-keeper", ctx->server_host, [k] { k->run(); })->daemonize();
}

void slot_actor(Context* ctx, int slot) {
  Slot& me = ctx->slots[slot];
  for (;;) {
    me.start->acquire();
    if (me.order.stop) return;
    const RoundOrder o = me.order;
    me.order.model.reset();  // the server's model copy is freed once every slot is done with it
    if (!ctx->client_hosts.empty() && sg4::this_actor::get_host() != ctx->client_hosts[o.client])
      sg4::this_actor::set_host(ctx->client_hosts[o.client]);
    play_round(ctx, slot, o);
  }
}

void spawn_slot(Context* ctx, int slot, sg4::Host* host) {
  Slot& s = ctx->slots[slot];
  // A fresh semaphore: the killed actor may have been waiting on the old one.
  s.start = sg4::Semaphore::create(0);
  sg4::ActorPtr a = sg4::Actor::create("slot-" + std::to_string(slot), host, slot_actor, ctx, slot);
  s.alive = true;
  if (ctx->availability) ctx->slot_of_actor[a->get_pid()] = slot;
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
    rec.status = "failed";  // the reason says in which phase the device went off
    rec.t_done = sg4::Engine::get_clock();
    k.report.delivered = false;
    k.in_round = false;
    deliver_report(ctx, std::move(k.report));
  });
}

void deliver_report(Context* ctx, Report&& r) {
  if (ctx->inbox.empty()) ctx->inbox.reserve(ctx->reports_missing);  // one buffer per round
  ctx->inbox.push_back(std::move(r));
  if (--ctx->reports_missing == 0) ctx->inbox_sem->release();
}

}  // namespace fedgrid::sim
