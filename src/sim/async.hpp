// Asynchronous runs (FedBuff, FedAsync; fl/async.hpp): one server actor beside the synchronous
// round loop, C slot actors that each play one client job after another, and per slot a partner
// actor on the server host that posts the job's transfers and collects them (every actor keeps at
// most two pending activities: SimGrid 3.32's lists stay short). A job: the server picks an idle
// client and hands the slot the current model version; the slot downloads it, runs the local
// steps (one execution, no deadline), uploads; the partner reaps both transfers and reports the
// job to the server, which weighs the update by its staleness and updates the model once its
// buffer holds M of them, then starts the next job on that slot. See docs/asynchronous.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fl/async.hpp"
#include "metrics/async_recorder.hpp"
#include "sim/context.hpp"

namespace fedgrid::sim {

// Per slot: the job under way and its partner's state (the Slot in context.hpp holds the rest).
struct AsyncSlot {
  long job = 0;      // 1-based id of the job it plays (0: none yet)
  long version = 0;  // the model version the job downloaded
  double t_start = 0;
  bool empty = true;                            // no job (no idle client could be started)
  bool processed = true;                        // the server has taken the job's report
  bool computed = false;                        // the local steps finished (their math job is due)
  bool over = false;                            // the job ended: uploaded, or its device went off
  bool down_posted = false, up_posted = false;  // the slot posted its side of each transfer
  std::shared_ptr<const nn::Vector> model;      // w_version, the start of the math (math runs)
  fl::Update update;                            // written by the math threads
  sg4::SemaphorePtr go = sg4::Semaphore::create(0);    // partner: a job starts
  sg4::SemaphorePtr done = sg4::Semaphore::create(0);  // partner: the job is over
};

// State the server, the slots, the partners and the availability callbacks share.
struct AsyncRun {
  const fl::AsyncAlgorithm* algorithm = nullptr;
  metrics::AsyncRecorder* recorder = nullptr;
  std::vector<AsyncSlot> slots;
  std::vector<int> inbox;  // slots whose job is over, in the order they ended
  sg4::SemaphorePtr wake = sg4::Semaphore::create(0);
  bool wake_pending = false;  // `wake` was released and the server has not run since
  bool math_on = true;        // false while a resumed run replays the timing up to its checkpoint
  bool stopped = false;       // the server is done: the remaining actors are killed
  long jobs = 0;              // jobs started so far (offline ones included)
  int empty_slots = 0;        // slots without a job (no idle client was on)
  std::string error;          // bad input found during the run (a checkpoint that does not fit)
};

// The asynchronous server (the run's only non-daemon actor).
void async_server_actor(Context* ctx);
// Creates the slot and partner actors (daemons) of the C slots.
void create_async_slots(Context& ctx, int slots);
// Starts (again) the actor of `slot` on `host`.
void spawn_async_slot(Context* ctx, int slot, sg4::Host* host);
// Submits the math job of the job on `slot` (local training from its model version).
void submit_async_math(Context* ctx, int slot);
// The job of `slot` is over: wake its partner (once per job).
void end_async_job(Context* ctx, int slot);
// Availability: a slot's actor was killed (its device went off) / a device came back.
void on_async_slot_killed(Context* ctx, int slot);
void on_async_host_on(Context* ctx);

}  // namespace fedgrid::sim
