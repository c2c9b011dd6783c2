// Gradient jobs and chunked evaluation on the worker pool (see math.hpp for the determinism rule).
#include "train/math.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace fedgrid::train {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
// Evaluation chunk: fixed, so that the sums do not depend on the number of threads.
constexpr Eigen::Index kEvalChunk = 1024;
}  // namespace

struct MathEngine::Scratch {
  LocalScratch local;
  nn::Workspace eval_ws;  // forward-only evaluation (no training buffers)
  double gradient_cpu = 0, evaluation_cpu = 0;
  long gradients = 0;
};

MathEngine::MathEngine(const io::Experiment& exp, const LocalTraining& local, int threads)
    : exp_(exp),
      local_(local),
      test_(split(exp.test)),
      validation_(split(exp.validation)),
      pool_(threads) {
  for (int i = 0; i < threads; ++i) scratch_.push_back(std::make_unique<Scratch>());
  if (local_.persistent) client_state_.resize(exp.shards.size());
}

MathEngine::~MathEngine() = default;

std::vector<MathEngine::Chunk> MathEngine::split(const data::Dataset& d) {
  std::vector<Chunk> chunks;
  const auto n = static_cast<Eigen::Index>(d.size());
  for (Eigen::Index start = 0; start < n; start += kEvalChunk) {
    chunks.push_back({&d, start, std::min(kEvalChunk, n - start)});
  }
  return chunks;
}

void MathEngine::set_client_state(std::vector<nn::Vector> state) {
  if (state.size() != client_state_.size()) {
    throw std::invalid_argument("MathEngine: client state of " + std::to_string(state.size()) +
                                " clients for " + std::to_string(client_state_.size()));
  }
  client_state_ = std::move(state);
}

// Each job touches only its own client's state (a client has one job per round).
void MathEngine::submit(LocalJob job) {
  pool_.submit([this, job = std::move(job)](int t) {
    const auto t0 = Clock::now();
    Scratch& s = *scratch_[t];
    BatchSampler sampler(exp_.shards[job.client], exp_.scenario.seed, job.client, job.round,
                         job.batch, local_.epochs);
    const LocalSgd opt{job.lr, local_.momentum, local_.weight_decay, local_.mu};
    nn::Vector* state = local_.persistent ? &client_state_[job.client] : nullptr;
    ShardBatches batches(sampler, exp_.train.x, exp_.train.y);
    job.out->loss = local_update(exp_.model, *job.model, job.steps, job.first_stage, opt, state,
                                 batches, s.local, job.out->grad);
    s.gradient_cpu += since(t0);
    ++s.gradients;
  });
}

void MathEngine::wait_gradients() {
  const auto t0 = Clock::now();
  pool_.wait_all();
  times_.gradient_wait += since(t0);
}

nn::EvalResult MathEngine::evaluate_set(const nn::Vector& params,
                                        const std::vector<Chunk>& chunks) {
  std::vector<nn::EvalResult> parts(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    pool_.submit([this, &params, &chunks, &parts, i](int t) {
      const auto t0 = Clock::now();
      const Chunk& c = chunks[i];  // evaluated in place: forward-only path, per-thread buffers
      parts[i] = exp_.model.evaluate(params, c.set->x.middleCols(c.start, c.count),
                                     c.set->y.data() + c.start, scratch_[t]->eval_ws);
      scratch_[t]->evaluation_cpu += since(t0);
    });
  }
  pool_.wait_all();
  // Mean loss = sum over chunks of (chunk mean x chunk size) / n, summed in chunk order.
  nn::EvalResult r;
  double loss_sum = 0;
  for (const auto& p : parts) {
    loss_sum += p.loss * static_cast<double>(p.count);
    r.correct += p.correct;
    r.count += p.count;
  }
  r.loss = r.count ? loss_sum / static_cast<double>(r.count) : 0.0;
  return r;
}

void MathEngine::evaluate(const nn::Vector& params, bool validation, metrics::RoundRecord& r) {
  const auto t0 = Clock::now();
  if (validation && !validation_.empty()) {
    nn::EvalResult v = evaluate_set(params, validation_);
    r.val_loss = v.loss;
    r.val_accuracy = v.accuracy();
  }
  nn::EvalResult t = evaluate_set(params, test_);
  r.test_loss = t.loss;
  r.test_accuracy = t.accuracy();
  times_.evaluation_wait += since(t0);
}

MathTimes MathEngine::times() const {
  MathTimes m = times_;
  for (const auto& s : scratch_) {
    m.gradient_cpu += s->gradient_cpu;
    m.evaluation_cpu += s->evaluation_cpu;
    m.gradients += s->gradients;
  }
  return m;
}

}  // namespace fedgrid::train
