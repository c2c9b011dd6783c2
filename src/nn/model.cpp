// Model: init, forward, (partial) backprop and evaluation over one flat parameter vector (building
// the layer stack and the stage table is in model_build.cpp).
#include "nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nn/lanes.hpp"
#include "nn/layers.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::nn {

Model::Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

// Each layer writes its slice (dense/conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) like PyTorch's
// defaults; batchnorm: 1, 0, 0, 1), drawing in flat-vector order from util::Rng(seed, "init").
void Model::init_params(Vector& params, uint64_t seed) const {
  params.resize(static_cast<Eigen::Index>(num_params_));
  util::Rng rng(seed, "init");
  for (const auto& layer : layers_) layer->init(params.data(), rng);
}

void Model::check_batch(const Vector& params, const Eigen::Ref<const Matrix>& x,
                        const std::vector<int>* y) const {
  if (static_cast<std::size_t>(params.size()) != num_params_) {
    throw std::invalid_argument("Model " + name_ + ": " + std::to_string(params.size()) +
                                " parameters given, " + std::to_string(num_params_) + " expected");
  }
  if (x.rows() != input_size_ || x.cols() <= 0) {
    throw std::invalid_argument("Model " + name_ + ": batch of " + std::to_string(x.rows()) +
                                " x " + std::to_string(x.cols()) + ", expected " +
                                std::to_string(input_size_) + " rows and >= 1 column");
  }
  if (y && y->size() != static_cast<std::size_t>(x.cols())) {
    throw std::invalid_argument("Model " + name_ + ": " + std::to_string(y->size()) +
                                " labels for " + std::to_string(x.cols()) + " samples");
  }
}

// Columns of layer k's output (input when `input`) for a batch: padded in the lane layout.
int Model::batch_columns(std::size_t k, int batch, bool input) const {
  const bool in_lanes =
      lanes_end_ > 0 && (input ? k <= std::size_t(lanes_end_) : k < std::size_t(lanes_end_));
  return in_lanes ? lanes::padded(batch) : batch;
}

void Model::forward_pass(const Vector& params, const Eigen::Ref<const Matrix>& x, Workspace& ws,
                         bool training) const {
  const std::size_t n = layers_.size();
  const int B = static_cast<int>(x.cols());
  ws.activations.resize(n);
  ws.layer.resize(n);
  if (lanes_end_ > 0) {
    ws.lanes_input.resize(input_size_, lanes::padded(B));
    lanes::to_lanes(x.data(), std::size_t(x.outerStride()), input_channels_,
                    input_height_ * input_width_, B, ws.lanes_input.data());
  }
  for (std::size_t k = 0; k < n; ++k) {
    const Layer& layer = *layers_[k];
    Matrix& out = ws.activations[std::size_t(buffer_of_[k])];
    if (buffer_of_[k] == static_cast<int>(k)) {
      out.resize(layer.out_size(), batch_columns(k, B, false));  // kept when the batch repeats
    }
    LayerContext ctx{training, &ws.layer[k], &ws.shared};
    if (lanes_end_ > 0 && k <= std::size_t(lanes_end_)) ctx.lanes = B;
    if (k == 0) {
      if (lanes_end_ > 0) {
        layer.forward(params.data(), ws.lanes_input, out, ctx);
      } else {
        layer.forward(params.data(), x, out, ctx);
      }
    } else {
      layer.forward(params.data(), ws.activations[std::size_t(buffer_of_[k - 1])], out, ctx);
    }
  }
}

// Backprop from dL/dlogits (ws.probs), output layer first, through two ping-pong delta buffers;
// stops at the first layer (from the output) that needs nothing.
void Model::backward_pass(const Vector& params, const Eigen::Ref<const Matrix>& x, Vector& grad,
                          int first_stage, Workspace& ws) const {
  const Eigen::Index B = x.cols();
  for (Matrix& d : ws.delta) d.resize(max_width_, batch_columns(0, int(B), true));
  const float* dout = ws.probs.data();
  int ping = 0;
  ws.backward_layers = 0;
  for (std::size_t k = layers_.size(); k-- > 0;) {
    const LayerStages& st = layer_stages_[k];
    BackwardNeeds needs;
    needs.weight = st.weight_stage >= 0 && st.weight_stage >= first_stage;
    needs.bias = st.bias_stage >= 0 && st.bias_stage >= first_stage;
    needs.input = k > 0 && st.max_stage_before >= first_stage;
    if (!needs.weight && !needs.bias && !needs.input) break;  // earlier layers need nothing either
    ++ws.backward_layers;
    const Layer& layer = *layers_[k];
    const Eigen::Map<const Matrix> dy(dout, layer.out_size(), batch_columns(k, int(B), false));
    Eigen::Map<Matrix> din(ws.delta[ping].data(), layer.in_size(), batch_columns(k, int(B), true));
    const Matrix& out = ws.activations[std::size_t(buffer_of_[k])];
    LayerContext ctx{true, &ws.layer[k], &ws.shared};
    if (lanes_end_ > 0 && k <= std::size_t(lanes_end_)) ctx.lanes = int(B);
    if (k > 0) {
      layer.backward(params.data(), ws.activations[std::size_t(buffer_of_[k - 1])], out, dy, needs,
                     grad.data(), din, ctx);
    } else if (lanes_end_ > 0) {
      layer.backward(params.data(), ws.lanes_input, out, dy, needs, grad.data(), din, ctx);
    } else {
      layer.backward(params.data(), x, out, dy, needs, grad.data(), din, ctx);
    }
    dout = ws.delta[ping].data();
    ping ^= 1;
  }
  // Running statistics of the requested stages: old - new (they need no backprop).
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const LayerStages& st = layer_stages_[k];
    const bool mean = st.mean_stage >= 0 && st.mean_stage >= first_stage;
    const bool var = st.var_stage >= 0 && st.var_stage >= first_stage;
    if (!mean && !var) continue;
    static_cast<const BatchNorm&>(*layers_[k])
        .statistics_update(params.data(), ws.layer[k], static_cast<int>(B), mean, var, grad.data());
  }
}

double Model::loss_and_gradient(const Vector& params, const Matrix& x, const std::vector<int>& y,
                                Vector& grad, int first_stage, Workspace& ws) const {
  check_batch(params, x, &y);
  if (first_stage < 0 || first_stage > num_stages()) {
    throw std::invalid_argument("Model " + name_ + ": first_stage " + std::to_string(first_stage) +
                                " outside [0, " + std::to_string(num_stages()) + "]");
  }
  grad.resize(static_cast<Eigen::Index>(num_params_));
  // Stages [first_stage, L) are a contiguous suffix and are fully overwritten below.
  const std::size_t suffix = first_stage < num_stages() ? stages_[first_stage].offset : num_params_;
  grad.head(static_cast<Eigen::Index>(suffix)).setZero();
  const Eigen::Index B = x.cols(), chunk = train_chunk();
  if (chunk == 0 || B <= chunk) {
    forward_pass(params, x, ws, true);
    const double loss =
        softmax_cross_entropy<float>(ws.activations[std::size_t(buffer_of_.back())], y.data(),
                                     ws.probs, ws.col_max, ws.col_sum, true);
    backward_pass(params, x, grad, first_stage, ws);
    return loss;
  }
  // Chunks whose activations stay in cache: dL/dZ of the batch mean, gradients summed in order.
  const Eigen::Index tail = static_cast<Eigen::Index>(num_params_ - suffix);
  grad.tail(tail).setZero();
  double loss_sum = 0.0;
  for (Eigen::Index start = 0; start < B; start += chunk) {
    const Eigen::Index count = std::min(chunk, B - start);
    auto& slot = ws.chunks[count == chunk ? 0 : 1];
    if (!slot) slot = std::make_unique<Workspace>();
    Workspace& w = *slot;
    w.chunk_grad.resize(static_cast<Eigen::Index>(num_params_));
    const auto xs = x.middleCols(start, count);
    forward_pass(params, xs, w, true);
    loss_sum += static_cast<double>(count) *
                softmax_cross_entropy<float>(w.activations[std::size_t(buffer_of_.back())],
                                             y.data() + start, w.probs, w.col_max, w.col_sum, true);
    w.probs *= static_cast<float>(count) / static_cast<float>(B);
    backward_pass(params, xs, w.chunk_grad, first_stage, w);
    grad.tail(tail) += w.chunk_grad.tail(tail);
  }
  return loss_sum / static_cast<double>(B);
}

int Model::train_chunk() const {
  if (lanes_end_ == 0) return 0;
  for (const auto& layer : layers_) {
    if (layer->kind() == LayerKind::kBatchNorm) return 0;
  }
  return 64;
}

void Model::forward(const Vector& params, const Matrix& x, Matrix& logits, Workspace& ws) const {
  check_batch(params, x, nullptr);
  forward_pass(params, x, ws, false);
  logits = ws.activations[std::size_t(buffer_of_.back())];
}

EvalResult Model::evaluate(const Vector& params, const Matrix& x, const std::vector<int>& y,
                           int chunk) const {
  EvalResult result;
  if (x.cols() == 0 && y.empty()) return result;
  check_batch(params, x, &y);
  if (chunk <= 0) throw std::invalid_argument("Model::evaluate: chunk must be positive");
  Workspace ws;
  double loss_sum = 0.0;
  for (Eigen::Index start = 0; start < x.cols(); start += chunk) {
    const Eigen::Index count = std::min<Eigen::Index>(chunk, x.cols() - start);
    const EvalResult part = evaluate(params, x.middleCols(start, count), y.data() + start, ws);
    loss_sum += part.loss * static_cast<double>(count);
    result.correct += part.correct;
  }
  result.count = static_cast<std::size_t>(x.cols());
  result.loss = loss_sum / static_cast<double>(x.cols());
  return result;
}

EvalResult Model::evaluate(const Vector& params, const Eigen::Ref<const Matrix>& x, const int* y,
                           Workspace& ws) const {
  EvalResult result;
  if (x.cols() == 0) return result;
  check_batch(params, x, nullptr);
  const Eigen::Index chunk = eval_chunk();
  double loss_sum = 0.0;
  for (Eigen::Index start = 0; start < x.cols(); start += chunk) {
    const Eigen::Index count = std::min<Eigen::Index>(chunk, x.cols() - start);
    forward_pass(params, x.middleCols(start, count), ws, false);
    const Matrix& logits = ws.activations[std::size_t(buffer_of_.back())];
    const int* labels = y + start;
    loss_sum +=
        static_cast<double>(count) *
        softmax_cross_entropy<float>(logits, labels, ws.probs, ws.col_max, ws.col_sum, false);
    for (Eigen::Index j = 0; j < count; ++j) {
      Eigen::Index best = 0;
      logits.col(j).maxCoeff(&best);
      if (best == labels[j]) ++result.correct;
    }
  }
  result.count = static_cast<std::size_t>(x.cols());
  result.loss = loss_sum / static_cast<double>(x.cols());
  return result;
}

}  // namespace fedgrid::nn
