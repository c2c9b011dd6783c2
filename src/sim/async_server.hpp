// The asynchronous server actor's class, shared by async_server.cpp (jobs, reports, updates) and
// async_checkpoint.cpp (checkpoints, and the replay that resumes from one). See async.hpp.
#pragma once

#include <memory>
#include <vector>

#include "sim/async.hpp"
#include "util/rng.hpp"

namespace fedgrid::sim {

// Idle clients, drawn uniformly in O(1) (swap with the last, pop).
class IdlePool {
 public:
  explicit IdlePool(int clients) : items_(clients) {
    for (int u = 0; u < clients; ++u) items_[u] = u;
  }
  bool empty() const { return items_.empty(); }
  int take(util::Rng& rng) {
    const auto i = static_cast<std::size_t>(rng.below(items_.size()));
    const int u = items_[i];
    items_[i] = items_.back();
    items_.pop_back();
    return u;
  }
  void put(int u) { items_.push_back(u); }

 private:
  std::vector<int> items_;
};

// The server's state and steps (async_server.cpp; checkpoints in async_checkpoint.cpp).
class AsyncServer {
 public:
  explicit AsyncServer(Context* ctx);
  void run();

 private:
  void start_jobs(const std::vector<int>& slots);
  bool start_job(int slot, std::vector<int>& offline);
  void launch(int slot, int client);
  bool process(const std::vector<int>& reports);
  bool take(int slot);
  bool server_update();
  void learn(metrics::UpdateRecord& r);
  void restore();
  void save_checkpoint();
  void progress(const metrics::UpdateRecord& r) const;
  bool replaying() const { return replay_until_ > 0; }

  Context* ctx_;
  AsyncRun& run_;
  const fl::AsyncAlgorithm& algo_;
  const RunSetup& setup_;
  const std::vector<nn::Stage>& stages_;
  fl::ServerModel model_;
  fl::AsyncBuffer buffer_;
  std::shared_ptr<const nn::Vector> current_;  // the model at version_ (math runs)
  long version_ = 0;
  std::vector<int> client_jobs_;  // per client: jobs started (key of its batch and timing draws)
  IdlePool idle_;
  std::vector<int> back_to_idle_;  // clients whose job the server took in this wake
  std::vector<int> empty_slots_;   // slots without a job: no idle client was on
  metrics::UpdateRecord next_;     // the row of the next update, filled as jobs start and end
  double staleness_sum_ = 0, loss_sum_ = 0;
  double t_last_ = 0;
  long replay_until_ = 0;     // resumed runs: the checkpoint's update (0: not replaying)
  std::vector<double> gone_;  // per client: when its device goes off for good (inf: never)
  bool all_gone() const;      // every device is off for good by now
};

}  // namespace fedgrid::sim
