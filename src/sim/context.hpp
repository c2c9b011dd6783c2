// State shared by the server, the per-round NIC helper and the client slot actors of one
// simulation. Actors never run concurrently (SimGrid's default context factory), so no locks are
// needed here; the math runs on the MathEngine's threads and only touches its job slots.
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
#include "metrics/recorder.hpp"
#include "sim/math.hpp"

namespace fedgrid::sim {

namespace sg4 = simgrid::s4u;

// What the server tells a slot at the start of a round (the slot + semaphore pattern).
struct RoundOrder {
  bool stop = false;
  int round = 0;
  int client = 0;
  double deadline = 0;   // absolute virtual time; +inf = no deadline
  bool timeout = false;  // the deadline is a wait-for-all round's timeout (drop reason 'timeout')
  int batch = 0;
  bool full_only = false;
  std::shared_ptr<const nn::Vector> model;  // read-only global model, never copied
  fl::Update* update = nullptr;             // where the gradient job writes (math runs only)
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

struct Context {
  const io::Experiment* exp = nullptr;
  const fl::Algorithm* algorithm = nullptr;
  metrics::Recorder* recorder = nullptr;
  MathEngine* math = nullptr;  // null in timing-only runs
  sg4::Host* server_host = nullptr;
  std::vector<Slot> slots;
  std::vector<sg4::Host*> client_hosts;  // per-client hosts; empty with host slots
  std::vector<ClientParams> clients;
  std::vector<double> stage_work;  // work per sample of each stage (flop)
  uint64_t model_bytes = 0;
  bool quiet = false;
  // Server inbox: slots push their report; the last one of the round releases the semaphore
  // (one wake-up of the server per round, whatever the number of clients).
  std::vector<Report> inbox;
  std::size_t reports_missing = 0;
  sg4::SemaphorePtr inbox_sem;
  // Per slot: the upload was posted (the NIC withdraws the receives of the others).
  std::vector<char> upload_posted;
  // Client availability (availability.hpp): devices go off and on through host state profiles;
  // a slot actor killed mid-round is reported `failed` by on_slot_killed().
  bool availability = false;
  std::unordered_map<long, int> slot_of_actor;  // actor pid -> slot (with availability only)
  std::string availability_log;                 // availability.csv rows: t,client,state
  // Interruption and checkpoints (io/checkpoint.hpp).
  const volatile std::sig_atomic_t* stop_signal = nullptr;  // set by SIGINT/SIGTERM
  int stopped_by = 0;        // the signal that stopped the run before its last round
  int checkpoint_every = 0;  // rounds between checkpoints; 0 = none
  const io::Checkpoint* resume = nullptr;
  std::string invocation;  // how to start this run again (stored in checkpoints)
  // Round deadlines without a SimGrid timer per client wait (client.cpp): the keeper actor
  // cancels at a deadline the transfers still running; on constant-speed client hosts (one busy
  // actor each, no speed profile) the computation is a sleep of known length.
  std::shared_ptr<DeadlineKeeper> keeper;
  bool constant_speed_hosts = false;
  // Results filled by the server for the summary.
  int rounds_done = 0;
  double final_val_accuracy = metrics::kNaN, final_test_accuracy = metrics::kNaN;
  double final_test_loss = metrics::kNaN;
  double write_seconds = 0;    // wall time spent writing records
  std::exception_ptr failure;  // what ended the server actor early (sim/guard.hpp)
  std::string diverged;        // what became NaN/inf in round rounds_done ("" = nothing)
};

void slot_actor(Context* ctx, int slot);
// Starts (again) the actor of `slot` on `host`.
void spawn_slot(Context* ctx, int slot, sg4::Host* host);
// A slot's actor was killed (its device went off): reports the client it was playing as
// `failed`. Called from SimGrid's actor termination signal, in maestro's context.
void on_slot_killed(Context* ctx, int slot);
// Hands the server a client's report; the last one of the round wakes it.
void deliver_report(Context* ctx, Report&& r);
void start_deadline_keeper(Context* ctx);  // after the slots exist
void server_actor(Context* ctx);

}  // namespace fedgrid::sim
