// State shared by the server and client actors of one simulation (single-threaded: actors never
// run concurrently under SimGrid's default context factory, so no locks are needed).
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <simgrid/s4u.hpp>
#include <vector>

#include "fl/algorithm.hpp"
#include "io/experiment.hpp"
#include "metrics/recorder.hpp"

namespace fedgrid::sim {

namespace sg4 = simgrid::s4u;

// What the server tells a client at the start of a round (the slot + semaphore pattern).
struct RoundOrder {
  bool stop = false;
  int round = 0;
  double deadline = 0;  // absolute virtual time; +inf = no deadline
  int batch = 0;
  std::shared_ptr<const nn::Vector> model;  // read-only global model, never copied
  bool full_only = false;
};

// What a client reports back once per round, whatever happened.
struct Report {
  metrics::ClientRecord record;
  std::optional<fl::Update> update;  // set when stages were delivered in time
};

struct ClientState {
  sg4::Host* host = nullptr;
  sg4::SemaphorePtr start;
  RoundOrder order;
  double upload_margin = 0;  // estimated upload time of a full update (s)
};

struct Context {
  const io::Experiment* exp = nullptr;
  const fl::Algorithm* algorithm = nullptr;
  metrics::Recorder* recorder = nullptr;
  sg4::Host* server_host = nullptr;
  std::vector<ClientState> clients;
  std::vector<double> stage_work;  // work per sample of each stage (flop)
  uint64_t model_bytes = 0;
  bool quiet = false;
  // Server inbox: clients push a report and release the semaphore (O(1), completion order).
  std::deque<Report> inbox;
  sg4::SemaphorePtr inbox_sem;
  // Scratch shared by the actors (they never run concurrently).
  nn::Workspace ws;
  nn::Matrix batch_x;
  std::vector<int> batch_y;
  std::vector<std::size_t> scratch;
  // Results filled by the server for the summary.
  int rounds_done = 0;
  double final_val_accuracy = metrics::kNaN, final_test_accuracy = metrics::kNaN;
  double final_test_loss = metrics::kNaN;
};

void client_actor(Context* ctx, int u);
void server_actor(Context* ctx);

}  // namespace fedgrid::sim
