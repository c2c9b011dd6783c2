// State shared by the server, the per-round NIC helper and the client slot actors of one
// simulation, in three parts: what is fixed for the run (RunSetup), what the current round
// holds (RoundState) and what the run produced (RunResults). Actors never run concurrently
// (SimGrid's default context factory), so no locks are needed here; the math runs on the
// MathEngine's threads and only touches the round's update slots.
#pragma once

#include <csignal>
#include <exception>
#include <memory>
#include <simgrid/s4u.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "fl/algorithm.hpp"
#include "io/checkpoint.hpp"
#include "io/experiment.hpp"
#include "metrics/milestones.hpp"
#include "metrics/recorder.hpp"
#include "train/math.hpp"
#include "util/progress.hpp"

namespace fedgrid::sim {

namespace sg4 = simgrid::s4u;

// What the server tells a slot at the start of a round (the slot + semaphore pattern).
struct RoundOrder {
  bool stop = false;
  int round = 0;
  fl::ClientTask task;   // client, batch, local steps
  double deadline = 0;   // absolute virtual time; +inf = no deadline
  bool timeout = false;  // the deadline is a wait-for-all round's timeout (drop reason 'timeout')
  bool partial_stages = false, partial_steps = false;  // what incomplete work counts (RoundPlan)
  float lr = 0;                                        // eta_t for the local steps
  std::shared_ptr<const nn::Vector> model;             // read-only global model, never copied
};

// What a client reports back once per round, whatever happened.
struct Report {
  metrics::ClientRecord record;
  int slot = 0;
  bool delivered = false;  // the finished stages reached the server in time
};

// A client slot: one persistent actor that plays the i-th selected client of every round. With
// per-client hosts it migrates to the client's host; with host slots (world.cpp) the server
// re-parameterises the slot's host link and the execution scale instead.
struct Slot {
  sg4::Host* host = nullptr;
  sg4::SemaphorePtr start;
  RoundOrder order;
  sg4::Mailbox* down = nullptr;  // model download: NIC put -> slot get
  sg4::Mailbox* up = nullptr;    // upload: slot put -> NIC get
  sg4::Link* link_up = nullptr;  // host slots only: the slot's access link, both directions
  sg4::Link* link_down = nullptr;
  bool alive = false;     // its actor exists (a device going off kills the actors on it)
  bool in_round = false;  // playing a client whose report is not in yet
  Report report;          // that report, filled in as the client goes
};

// Per-client network and compute parameters known before the run.
struct ClientParams {
  double upload_margin = 0;    // estimated upload time of a full update (s), with slack
  double download_margin = 0;  // the same for the model download
  bool own_route = false;      // no other client's transfer shares its route to the server
  double exec_scale = 1;       // host slots: flops per unit of work (slot speed / client speed)
  double bandwidth = 0, latency = 0;  // host slots: the client's access link
};

struct DeadlineKeeper;  // client.cpp
struct AsyncRun;        // async.hpp: asynchronous runs only

// Fixed for the whole run (set before the engine runs).
struct RunSetup {
  const io::Experiment* exp = nullptr;
  fl::Algorithm* algorithm = nullptr;  // observes the rounds when adaptive()
  metrics::Recorder* recorder = nullptr;
  train::MathEngine* math = nullptr;  // null in timing-only runs
  sg4::Host* server_host = nullptr;
  std::vector<sg4::Host*> client_hosts;  // per-client hosts; empty with host slots
  std::vector<ClientParams> clients;
  std::vector<double> stage_work;  // work per sample of each stage (flop)
  uint64_t model_bytes = 0;
  bool quiet = false;
  util::Progress* progress = nullptr;  // null when quiet
  // Client availability (availability.hpp): devices go off and on through host state profiles;
  // a slot actor killed mid-round is reported `failed` by on_slot_killed().
  bool availability = false;
  // On constant-speed client hosts (one busy actor each, no speed profile) the computation is
  // a sleep of known length (client.cpp).
  bool constant_speed_hosts = false;
  // Interruption and checkpoints (io/checkpoint.hpp).
  const volatile std::sig_atomic_t* stop_signal = nullptr;  // set by SIGINT/SIGTERM
  int checkpoint_every = 0;                                 // rounds between checkpoints; 0 = none
  const io::Checkpoint* resume = nullptr;
  std::string invocation;  // how to start this run again (stored in checkpoints)
};

// The round under way.
struct RoundState {
  // Server inbox: slots push their report; the last one of the round releases the semaphore
  // (one wake-up of the server per round, whatever the number of clients).
  std::vector<Report> inbox;
  std::size_t reports_missing = 0;
  sg4::SemaphorePtr inbox_sem;
  // Per slot: the upload was posted (the NIC withdraws the receives of the others).
  std::vector<char> upload_posted;
  // Per slot: where the local-training job of its client writes (math runs only).
  std::vector<fl::Update> updates;
  // What an adaptive algorithm is shown of the round (observe.cpp).
  fl::RoundObservation observation;
};

// What the run produced, for summary.json, availability.csv and wall.json.
struct RunResults {
  int rounds_done = 0;
  double final_val_accuracy = metrics::kNaN, final_test_accuracy = metrics::kNaN;
  double final_test_loss = metrics::kNaN;
  // The test evaluations so far: the last one, the last one within the time budget, the first
  // to reach evaluation.target_accuracy (summary.json).
  metrics::Milestones milestones;
  double write_seconds = 0;      // wall time spent writing records
  int stopped_by = 0;            // the signal that stopped the run before its last round
  std::exception_ptr failure;    // what ended the server actor early (sim/guard.hpp)
  std::string diverged;          // what became NaN/inf in round rounds_done ("" = nothing)
  std::string availability_log;  // availability.csv rows: t,client,state
};

struct Context {
  RunSetup setup;
  RoundState round;
  RunResults results;
  std::vector<Slot> slots;
  // Round deadlines without a SimGrid timer per client wait (client.cpp): the keeper actor
  // cancels at a deadline the transfers still running.
  std::shared_ptr<DeadlineKeeper> keeper;
  std::unordered_map<long, int> slot_of_actor;  // actor pid -> slot (with availability only)
  std::shared_ptr<AsyncRun> async;              // asynchronous runs (async.hpp); null otherwise
};

// The milestones into a checkpoint and back (resume).
inline void save_milestones(const metrics::Milestones& m, io::Checkpoint& c) {
  c.evaluation_round = m.last_step;
  c.evaluation_time = m.last_time;
  c.budget_accuracy = m.accuracy_at_limit;
  c.budget_loss = m.loss_at_limit;
  c.target_time = m.time_to_target;
}
inline void restore_milestones(const io::Checkpoint& c, metrics::Milestones& m) {
  m.last_step = c.evaluation_round;
  m.last_time = c.evaluation_time;
  m.accuracy_at_limit = c.budget_accuracy;
  m.loss_at_limit = c.budget_loss;
  m.time_to_target = c.target_time;
}

void slot_actor(Context* ctx, int slot);
// Runs the client's stages of order `o` (each local step: its L stages, output first) on the
// calling actor's host until `stop` (absolute time); returns how many finished (client.cpp).
long compute_stages(const Context* ctx, const RoundOrder& o, double scale, double stop);
// Starts (again) the actor of `slot` on `host`.
void spawn_slot(Context* ctx, int slot, sg4::Host* host);
// A slot's actor was killed (its device went off): reports the client it was playing as
// `failed`. Called from SimGrid's actor termination signal, in maestro's context.
void on_slot_killed(Context* ctx, int slot);
// Hands the server a client's report; the last one of the round wakes it.
void deliver_report(Context* ctx, Report&& r);
void start_deadline_keeper(Context* ctx);  // after the slots exist
// Adaptive algorithms (observe.cpp): a client's record of the round starting at t0, the round's
// end (the algorithm observes it), and on resume the rounds already done, from the CSV files.
void observe_client(Context* ctx, const metrics::ClientRecord& c, double t0);
void end_observed_round(Context* ctx, int round, double t0);
void replay_observations(Context* ctx, int rounds_done);
void server_actor(Context* ctx);

}  // namespace fedgrid::sim
