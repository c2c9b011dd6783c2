// What algorithms, the simulator and the recorder exchange about a round: the clients' known
// capabilities, the round plan (who, how much work, by when, which incomplete work counts), the
// clients' updates and the status each client ends a round with.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include "nn/model.hpp"

namespace fedgrid::fl {

// What the server knows about a client before the run.
struct ClientInfo {
  double speed = 0;       // capability P_u: samples x stages / s (host speed / work)
  double comm_time = 0;   // estimated download + upload time of the full model (B_u)
  std::size_t shard = 0;  // samples in its shard
};

// What one selected client is asked to do in a round.
struct ClientTask {
  int client = 0;
  int batch = 0;
  int steps = 1;  // local SGD steps tau_u (each a forward and a backward pass over L stages)
};

struct RoundPlan {
  int round = 0;                                              // 1-based
  std::vector<ClientTask> tasks;                              // by ascending client id
  double deadline = std::numeric_limits<double>::infinity();  // duration; inf = wait for all
  // Which incomplete work counts when the deadline cuts a client short (anything else is
  // dropped): the finished stage suffix of a single local step (SALF, ADEL-FL), or the k >= 1
  // local steps finished out of the planned ones (FedProx, FedNova, fedavg-deadline with
  // accept_partial).
  bool partial_stages = false;
  bool partial_steps = false;
  double lr = 0;  // eta_t of this round: the clients' local step size
};

// A client's contribution: U_u = (w_t - w_u) / eta_t, the sum of the directions of the local
// steps it finished (for one step: the gradient of the stage suffix it finished); BatchNorm
// running statistics carry old - new (see nn::Stage).
struct Update {
  int client = 0;
  int stages_done = 0;  // K: stages [L-K, L) hold real values, the others are zero
  int steps_done = 0;   // local steps finished (tau_u actually done)
  int batch = 0;
  double loss = 0;  // mean training loss of its batches (NaN in timing-only mode)
  nn::Vector grad;  // full length (zeros outside the suffix); empty in timing-only mode
};

// What the server saw of one client in a round (from its report, at the precision of
// clients.csv so that a resumed run replays exactly the same observations).
struct ClientObservation {
  int client = 0;
  int batch = 0;
  int stages_done = 0;                                         // K (from the output side)
  double download = std::numeric_limits<double>::quiet_NaN();  // s from the round's start
  double compute = std::numeric_limits<double>::quiet_NaN();   // s computed (to the end or stop)
};

struct RoundObservation {
  int round = 0;
  double start = 0;                        // the round's start (s)
  std::vector<ClientObservation> clients;  // clients that computed (not offline nor failed)
};

// How a client's round ended (clients.csv `status`).
enum class ClientStatus {
  kFull,     // every planned step and stage delivered
  kPartial,  // a stage suffix or some of the steps delivered
  kDropped,  // nothing usable delivered (see DropReason)
  kFailed,   // its device went off during the round
  kOffline,  // its device was off when the round started
};

// Why a client was dropped, or in which phase its device failed (clients.csv `reason`).
enum class DropReason {
  kNone,
  kDownload,    // the model did not arrive in time
  kCompute,     // no stage finished
  kIncomplete,  // the algorithm needs more than what finished
  kUpload,      // the upload was late
  kTimeout,     // wait-for-all round_timeout
};

const char* status_name(ClientStatus s);
const char* reason_name(DropReason r);

}  // namespace fedgrid::fl
