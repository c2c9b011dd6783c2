// Checkpoints of asynchronous runs. There is no quiescent point: the checkpoint follows a server
// update and holds the model, the optimiser and the versions the jobs in flight downloaded. A
// resumed run replays the protocol from t = 0 without the math (the timing does not depend on it)
// up to that update, then restores them, computes the local work of the jobs that had finished
// their steps, and goes on with the math (see docs/asynchronous.md for the cost).
#include <map>

#include "sim/async_server.hpp"

namespace fedgrid::sim {

// The replay reached the checkpoint's update: the model, the versions the jobs in flight
// downloaded and the math of those that finished their local steps.
void AsyncServer::restore() {
  const io::Checkpoint& c = *setup_.resume;
  if (sg4::Engine::get_clock() != c.clock) {  // reported once the engine has stopped
    run_.error = run_.recorder->dir() + "/checkpoint: expected update " + std::to_string(c.round) +
                 " at t = " + metrics::fmt(c.clock) +
                 " (the checkpoint), found it at t = " + metrics::fmt(sg4::Engine::get_clock()) +
                 " replaying the run";
    return;
  }
  replay_until_ = 0;
  run_.math_on = true;
  ctx_->results.final_val_accuracy = c.val_accuracy;
  ctx_->results.final_test_accuracy = c.test_accuracy;
  ctx_->results.final_test_loss = c.test_loss;
  restore_milestones(c, ctx_->results.milestones);
  if (!setup_.math) return;
  model_.params = c.params;
  model_.optimizer.set_velocity(c.velocity);
  current_ = std::make_shared<const nn::Vector>(model_.params);
  std::map<long, std::shared_ptr<const nn::Vector>> versions;
  for (const auto& [v, p] : c.versions) versions[v] = std::make_shared<const nn::Vector>(p);
  for (std::size_t i = 0; i < run_.slots.size(); ++i) {
    AsyncSlot& a = run_.slots[i];
    if (a.empty || a.processed) continue;
    if (a.version != version_ && !versions.count(a.version)) {
      run_.error = run_.recorder->dir() + "/checkpoint: expected model version " +
                   std::to_string(a.version) + ", found none";
      return;
    }
    a.model = a.version == version_ ? current_ : versions[a.version];
    if (a.computed) submit_async_math(ctx_, static_cast<int>(i));
  }
  setup_.math->wait_gradients();
}

void AsyncServer::save_checkpoint() {
  io::Checkpoint c;
  c.round = static_cast<int>(version_);
  c.t_next = c.clock = sg4::Engine::get_clock();
  c.file_sizes = run_.recorder->flush();
  c.val_accuracy = ctx_->results.final_val_accuracy;
  c.test_accuracy = ctx_->results.final_test_accuracy;
  c.test_loss = ctx_->results.final_test_loss;
  save_milestones(ctx_->results.milestones, c);
  c.params = model_.params;
  c.velocity = model_.optimizer.velocity();
  std::map<long, const nn::Vector*> older;  // versions jobs in flight downloaded
  for (const AsyncSlot& a : run_.slots) {
    if (!a.empty && !a.processed && a.version < version_ && a.model)
      older[a.version] = a.model.get();
  }
  for (const auto& [v, p] : older) c.versions.emplace_back(v, *p);
  c.invocation = setup_.invocation;
  io::write_checkpoint(run_.recorder->dir(), c);
}

}  // namespace fedgrid::sim
