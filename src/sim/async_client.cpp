// The actors of an asynchronous run's slots (see async.hpp): the slot plays one client job after
// another (download, local steps as one execution, upload); its partner on the server host posts
// the job's transfers, reaps them once the job is over and reports the job to the server. Waiting
// for a transfer it posted is what removes it from the partner's list in SimGrid 3.32, so the
// partner waits for each one, after the job (a transfer the slot never posted, because its device
// went off, is cancelled instead and stays in the list: the partner then hands over to a fresh
// one).
#include <limits>
#include <simgrid/kernel/Timer.hpp>

#include "sim/async.hpp"

namespace fedgrid::sim {

namespace {

int dummy_payload;  // transfers carry no data, only a simulated size

// Stop time for compute_stages: none. Finite on constant-speed hosts, which then sleep; infinite
// on others, which then run an untimed execution: slots are daemons killed when the server ends,
// and SimGrid 3.32 reschedules a daemon killed in a *timed* wait on an execution after its death
// (ExecImpl::finish answers the dying actor: "The Impossible Did Happen").
constexpr double kNoStop = std::numeric_limits<double>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

void play_job(Context* ctx, int slot, const RoundOrder& o) {
  Slot& me = ctx->slots[slot];
  AsyncSlot& a = ctx->async->slots[slot];
  const auto& stages = ctx->setup.exp->model.stages();
  const int L = static_cast<int>(stages.size());
  auto& rec = me.report.record;
  void* sink = nullptr;
  sg4::CommPtr down = me.down->get_async(&sink);
  a.down_posted = true;
  down->wait();
  rec.t_download = sg4::Engine::get_clock();
  rec.reason = fl::DropReason::kCompute;
  compute_stages(ctx, o, ctx->setup.clients[o.task.client].exec_scale,
                 ctx->setup.constant_speed_hosts ? kNoStop : kInf);
  rec.t_compute = sg4::Engine::get_clock();
  rec.stages_done = L;
  rec.steps_done = o.task.steps;
  a.computed = true;
  if (ctx->setup.math && ctx->async->math_on) submit_async_math(ctx, slot);
  rec.reason = fl::DropReason::kUpload;
  sg4::CommPtr up = me.up->put_async(&dummy_payload, ctx->setup.model_bytes);
  a.up_posted = true;
  up->wait();
  rec.t_done = sg4::Engine::get_clock();
  rec.bytes_up = ctx->setup.model_bytes;
  rec.status = fl::ClientStatus::kFull;
  rec.reason = fl::DropReason::kNone;
  me.report.delivered = true;
  end_async_job(ctx, slot);
}

void async_slot_actor(Context* ctx, int slot) {
  Slot& me = ctx->slots[slot];
  for (;;) {
    me.start->acquire();
    const RoundOrder o = me.order;
    me.order.model.reset();
    const auto& hosts = ctx->setup.client_hosts;
    if (!hosts.empty() && sg4::this_actor::get_host() != hosts[o.task.client])
      sg4::this_actor::set_host(hosts[o.task.client]);
    play_job(ctx, slot, o);
  }
}

// Waits for a transfer the slot took part in (it is over: this only collects it), or cancels
// one the slot never posted. Returns false for a cancelled one (it stays in this actor's list).
bool reap(const sg4::CommPtr& c, bool posted) {
  if (!posted) {
    c->cancel();
    return false;
  }
  try {
    c->wait();
  } catch (const simgrid::Exception&) {
    // The slot's device went off during the transfer.
  }
  return true;
}

void spawn_partner(Context* ctx, int slot);

void partner_actor(Context* ctx, int slot) {
  Slot& s = ctx->slots[slot];
  AsyncRun& run = *ctx->async;
  for (;;) {
    run.slots[slot].go->acquire();
    sg4::CommPtr down = s.down->put_async(&dummy_payload, ctx->setup.model_bytes);
    void* sink = nullptr;
    sg4::CommPtr up = s.up->get_async(&sink);
    AsyncSlot& a = run.slots[slot];
    a.done->acquire();
    const bool clean = reap(down, a.down_posted) & reap(up, a.up_posted);
    run.inbox.push_back(slot);
    if (!run.wake_pending) {
      run.wake_pending = true;
      run.wake->release();
    }
    if (!clean) return spawn_partner(ctx, slot);
  }
}

void spawn_partner(Context* ctx, int slot) {
  sg4::Actor::create("partner-" + std::to_string(slot), ctx->setup.server_host, partner_actor, ctx,
                     slot)
      ->daemonize();
}

}  // namespace

void spawn_async_slot(Context* ctx, int slot, sg4::Host* host) {
  Slot& s = ctx->slots[slot];
  s.start = sg4::Semaphore::create(0);  // the killed actor may have been released already
  sg4::ActorPtr a =
      sg4::Actor::create("slot-" + std::to_string(slot), host, async_slot_actor, ctx, slot);
  a->daemonize();
  s.alive = true;
  if (ctx->setup.availability) ctx->slot_of_actor[a->get_pid()] = slot;
}

void create_async_slots(Context& ctx, int slots) {
  for (int i = 0; i < slots; ++i) {
    Slot& s = ctx.slots[i];
    s.down = sg4::Mailbox::by_name("down-" + std::to_string(i));
    s.up = sg4::Mailbox::by_name("up-" + std::to_string(i));
    spawn_async_slot(&ctx, i, s.host);
    spawn_partner(&ctx, i);
  }
}

void submit_async_math(Context* ctx, int slot) {
  AsyncSlot& a = ctx->async->slots[slot];
  const auto& rec = ctx->slots[slot].report.record;
  const int L = ctx->setup.exp->model.num_stages();
  a.update.client = rec.client;
  a.update.stages_done = L;
  a.update.steps_done = rec.steps;
  a.update.batch = rec.batch;
  ctx->setup.math->submit({a.model, rec.client, rec.round, rec.batch, rec.steps, 0,
                           static_cast<float>(ctx->async->algorithm->client_lr(a.version)),
                           &a.update});
}

void end_async_job(Context* ctx, int slot) {
  AsyncSlot& a = ctx->async->slots[slot];
  if (a.over) return;
  a.over = true;
  ctx->slots[slot].in_round = false;
  a.done->release();
}

void on_async_slot_killed(Context* ctx, int slot) {
  Slot& s = ctx->slots[slot];
  s.alive = false;
  if (!s.in_round || ctx->async->stopped) return;
  // As for synchronous slots (client.cpp): report from a kernel timer, where waking actors is safe.
  simgrid::kernel::timer::Timer::set(sg4::Engine::get_clock(), [ctx, slot] {
    if (ctx->async->stopped) return;
    auto& rec = ctx->slots[slot].report.record;
    rec.status = fl::ClientStatus::kFailed;  // the reason: in which phase the device went off
    rec.t_done = sg4::Engine::get_clock();
    ctx->slots[slot].report.delivered = false;
    end_async_job(ctx, slot);
  });
}

void on_async_host_on(Context* ctx) {
  AsyncRun& run = *ctx->async;
  if (run.stopped || run.empty_slots == 0) return;
  simgrid::kernel::timer::Timer::set(sg4::Engine::get_clock(), [&run] {
    if (run.stopped || run.wake_pending) return;
    run.wake_pending = true;
    run.wake->release();
  });
}

}  // namespace fedgrid::sim
