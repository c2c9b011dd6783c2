// Local SGD steps of one client (see local.hpp for the update rule) and its batch sampler.
#include "train/local.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "plan/batch_rule.hpp"

namespace fedgrid::train {

BatchSampler::BatchSampler(const std::vector<std::size_t>& shard, uint64_t seed, int client,
                           int round, int batch, bool epochs)
    : idx_(shard.begin(), shard.end()),
      rng_(seed, "batch", static_cast<uint64_t>(client), static_cast<uint64_t>(round)),
      batch_(batch),
      epochs_(epochs) {}

// Moves a uniform random n-subset of idx_ to its front (partial Fisher-Yates).
void BatchSampler::shuffle_prefix(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) std::swap(idx_[i], idx_[i + rng_.below(idx_.size() - i)]);
}

const std::vector<std::size_t>& BatchSampler::next() {
  const std::size_t size = idx_.size();
  const auto b = static_cast<std::size_t>(batch_);
  if (!epochs_) {
    const std::size_t n = std::min(b, size);
    shuffle_prefix(n);
    out_.assign(idx_.begin(), idx_.begin() + static_cast<std::ptrdiff_t>(n));
    return out_;
  }
  if (pos_ == 0 || pos_ >= size) {  // a new epoch: a fresh permutation of the shard
    shuffle_prefix(size > 0 ? size - 1 : 0);
    pos_ = 0;
  }
  const std::size_t n = std::min(b, size - pos_);
  out_.assign(idx_.begin() + static_cast<std::ptrdiff_t>(pos_),
              idx_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  pos_ += n;
  return out_;
}

int BatchSampler::step_batch(std::size_t shard, int batch, bool epochs, long step) {
  return plan::step_batch(shard, batch, epochs, step);
}

// Copies the step's samples into x / y.
void ShardBatches::next(nn::Matrix& x, std::vector<int>& y) {
  const std::vector<std::size_t>& idx = sampler_.next();
  const auto n = static_cast<Eigen::Index>(idx.size());
  x.resize(x_.rows(), n);
  y.resize(idx.size());
  for (Eigen::Index i = 0; i < n; ++i) {
    x.col(i) = x_.col(static_cast<Eigen::Index>(idx[static_cast<std::size_t>(i)]));
    y[static_cast<std::size_t>(i)] = y_[idx[static_cast<std::size_t>(i)]];
  }
}

namespace {

// One pass over the trained entries [b, e) of a stage (fused: the vectors are read once; the
// terms that are off are compiled out, so the loop vectorises).
template <bool kDecay, bool kProx, bool kMomentum, bool kUpdate>
void step_trained(std::size_t b, std::size_t e, const float* g, float* w, const float* w0, float* m,
                  float* u, const LocalSgd& opt) {
  const float lr = opt.lr;
  const auto rho = static_cast<float>(opt.momentum);
  const auto wd = static_cast<float>(opt.weight_decay);
  const auto mu = static_cast<float>(opt.mu);
  for (std::size_t i = b; i < e; ++i) {
    float d = g[i];
    if constexpr (kDecay) d += wd * w[i];
    if constexpr (kProx) d += mu * (w[i] - w0[i]);
    if constexpr (kMomentum) {
      m[i] = rho * m[i] + d;
      d = m[i];
    }
    if constexpr (kUpdate) w[i] -= lr * d;
    u[i] += d;
  }
}

using StepFn = void (*)(std::size_t, std::size_t, const float*, float*, const float*, float*,
                        float*, const LocalSgd&);

template <bool kDecay, bool kProx, bool kMomentum>
StepFn pick(bool update) {
  return update ? step_trained<kDecay, kProx, kMomentum, true>
                : step_trained<kDecay, kProx, kMomentum, false>;
}

// The variant of step_trained for these settings.
StepFn step_kernel(bool decay, bool prox, bool momentum, bool update) {
  if (decay) {
    if (prox) return momentum ? pick<true, true, true>(update) : pick<true, true, false>(update);
    return momentum ? pick<true, false, true>(update) : pick<true, false, false>(update);
  }
  if (prox) return momentum ? pick<false, true, true>(update) : pick<false, true, false>(update);
  return momentum ? pick<false, false, true>(update) : pick<false, false, false>(update);
}

}  // namespace

double local_update(const nn::Model& model, const nn::Vector& start, int steps, int first_stage,
                    const LocalSgd& opt, nn::Vector* momentum, BatchSource& batches,
                    LocalScratch& s, nn::Vector& out) {
  if (steps < 1 || (steps > 1 && first_stage != 0)) {
    throw std::invalid_argument("local_update: " + std::to_string(steps) + " steps from stage " +
                                std::to_string(first_stage));
  }
  // One step, no weight decay, no state across rounds: U is the gradient itself (mu and a
  // fresh momentum buffer change nothing in a first step).
  if (steps == 1 && opt.weight_decay == 0 && momentum == nullptr) {
    batches.next(s.x, s.y);
    return model.loss_and_gradient(start, s.x, s.y, out, first_stage, s.ws);
  }
  const auto n = static_cast<Eigen::Index>(model.num_params());
  const auto& stages = model.stages();
  out.setZero(n);
  s.w = start;
  float* m = nullptr;
  if (momentum) {
    if (momentum->size() != n) momentum->setZero(n);
    m = momentum->data();
  } else if (opt.momentum != 0) {
    s.m.setZero(n);
    m = s.m.data();
  }
  double loss_sum = 0;
  for (int step = 0; step < steps; ++step) {
    batches.next(s.x, s.y);
    loss_sum += model.loss_and_gradient(s.w, s.x, s.y, s.grad, first_stage, s.ws);
    const bool update_w = step + 1 < steps;  // the last step's model is not needed
    const StepFn kernel = step_kernel(opt.weight_decay != 0, opt.mu != 0, m != nullptr, update_w);
    for (std::size_t k = static_cast<std::size_t>(first_stage); k < stages.size(); ++k) {
      const nn::Stage& st = stages[k];
      const std::size_t trained_end = st.offset + st.size - st.statistics;
      kernel(st.offset, trained_end, s.grad.data(), s.w.data(), start.data(), m, out.data(), opt);
      for (std::size_t i = trained_end; i < st.offset + st.size; ++i) {
        if (update_w) s.w[static_cast<Eigen::Index>(i)] -= s.grad[static_cast<Eigen::Index>(i)];
        out[static_cast<Eigen::Index>(i)] += s.grad[static_cast<Eigen::Index>(i)];
      }
    }
  }
  return loss_sum / steps;
}

}  // namespace fedgrid::train
