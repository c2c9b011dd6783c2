// Client slot actor: each round it plays one selected client: download the model, backprop stage
// by stage from the output as one SimGrid execution bounded by the deadline, hand the real
// gradient of the finished suffix to the math threads, upload the finished stages' bytes.
// Exception-free waits keep the stack small (beyond ~30k slots they run on 12 KiB stacks). A
// device that goes off (host state profile) kills its slot; the client is then reported failed.
#include <cmath>
#include <simgrid/kernel/Timer.hpp>

#include "sim/context.hpp"
#include "util/rng.hpp"

namespace fedgrid::sim {

namespace {

int dummy_payload;  // mailbox transfers carry no data, only a simulated size

// Waits for `a` until the absolute time `deadline` (inf = no bound). Cancels it and returns
// false when the deadline passes first. (wait_until(t <= now) would not check completion.)
bool wait_bounded(const sg4::ActivityPtr& a, double deadline) {
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
  if (sg4::Activity::wait_any_for({a}, deadline - now) == 0) return true;
  a->cancel();
  return false;
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
  if (!wait_bounded(me.down->get_async(&sink), o.deadline)) {
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
  if (!wait_bounded(me.up->put_async(&dummy_payload, bytes), o.deadline)) {
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
  ctx->inbox.push_back(std::move(r));
  if (--ctx->reports_missing == 0) ctx->inbox_sem->release();
}

}  // namespace fedgrid::sim
