// Gradient jobs and chunked evaluation on the worker pool (see math.hpp for the determinism rule).
#include "sim/math.hpp"

#include <algorithm>
#include <chrono>

#include "util/rng.hpp"

namespace fedgrid::sim {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
// Evaluation chunk: fixed, so that the sums do not depend on the number of threads.
constexpr Eigen::Index kEvalChunk = 1024;
}  // namespace

struct MathEngine::Scratch {
  nn::Workspace ws, eval_ws;
  nn::Matrix x;
  std::vector<int> y;
  std::vector<std::size_t> idx;
  double gradient_cpu = 0, evaluation_cpu = 0;
  long gradients = 0;
};

MathEngine::MathEngine(const io::Experiment& exp, int threads)
    : exp_(exp), test_(split(exp.test)), validation_(split(exp.validation)), pool_(threads) {
  for (int i = 0; i < threads; ++i) scratch_.push_back(std::make_unique<Scratch>());
}

MathEngine::~MathEngine() = default;

std::vector<MathEngine::Chunk> MathEngine::split(const data::Dataset& d) {
  std::vector<Chunk> chunks;
  const auto n = static_cast<Eigen::Index>(d.size());
  for (Eigen::Index start = 0; start < n; start += kEvalChunk) {
    chunks.push_back({&d, start, std::min(kEvalChunk, n - start), {}, {}});
  }
  return chunks;
}

// Draws `batch` distinct samples of the client's shard (partial Fisher-Yates with the client's
// per-round RNG) into s.x / s.y: the same batch whichever thread draws it.
void MathEngine::draw_batch(Scratch& s, int client, int round, int batch) const {
  const auto& shard = exp_.shards[client];
  s.idx.assign(shard.begin(), shard.end());
  util::Rng rng(exp_.scenario.seed, "batch", client, round);
  const std::size_t n = std::min<std::size_t>(batch, s.idx.size());
  for (std::size_t i = 0; i < n; ++i) std::swap(s.idx[i], s.idx[i + rng.below(s.idx.size() - i)]);
  const auto& train = exp_.train;
  s.x.resize(train.features(), static_cast<Eigen::Index>(n));
  s.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    s.x.col(static_cast<Eigen::Index>(i)) = train.x.col(static_cast<Eigen::Index>(s.idx[i]));
    s.y[i] = train.y[s.idx[i]];
  }
}

void MathEngine::submit_gradient(std::shared_ptr<const nn::Vector> model, int client, int round,
                                 int batch, int first_stage, fl::Update* out) {
  pool_.submit([this, model = std::move(model), client, round, batch, first_stage, out](int t) {
    const auto t0 = Clock::now();
    Scratch& s = *scratch_[t];
    draw_batch(s, client, round, batch);
    out->loss = exp_.model.loss_and_gradient(*model, s.x, s.y, out->grad, first_stage, s.ws);
    s.gradient_cpu += since(t0);
    ++s.gradients;
  });
}

void MathEngine::wait_gradients() {
  const auto t0 = Clock::now();
  pool_.wait_all();
  times_.gradient_wait += since(t0);
}

nn::EvalResult MathEngine::evaluate_set(const nn::Vector& params, std::vector<Chunk>& chunks) {
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

}  // namespace fedgrid::sim
