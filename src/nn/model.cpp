// Model: building a layer stack from a ModelSpec, the stage table, init, forward, (partial)
// backprop and evaluation over one flat parameter vector.
// GCC 12 reports false -Wmaybe-uninitialized inside Eigen 3.4's AVX-512 packet code (-march=native
// on this AVX-512 machine); it must be silenced before Eigen is included.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nn/layers.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::nn {

namespace {

// Throws util::InputError for the first problem of the spec (see Model::build).
void validate_spec(const ModelSpec& spec) {
  const std::string where =
      !spec.file.empty() ? spec.file : (!spec.name.empty() ? spec.name : std::string("<model>"));
  if (spec.input_size <= 0) {
    util::throw_input_error(where, 0, "input", "a positive number of input features",
                            std::to_string(spec.input_size));
  }
  if (spec.layers.empty()) {
    util::throw_input_error(where, 0, "layers", "a non-empty list of layers", "an empty list");
  }
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    const std::string key = "layers[" + std::to_string(i) + "]";
    if (l.kind == "dense") {
      if (l.units <= 0) {
        util::throw_input_error(where, l.line, key + ".units",
                                "a positive number of units for a dense layer",
                                std::to_string(l.units));
      }
    } else if (l.kind == "relu") {
      if (l.units != 0) {
        util::throw_input_error(where, l.line, key + ".units", "no units for a relu layer",
                                std::to_string(l.units));
      }
    } else {
      util::throw_input_error(where, l.line, key + ".kind", "one of: dense, relu",
                              "'" + l.kind + "'");
    }
  }
  const LayerSpec& last = spec.layers.back();
  const std::string last_key = "layers[" + std::to_string(spec.layers.size() - 1) + "]";
  if (last.kind != "dense") {
    util::throw_input_error(where, last.line, last_key + ".kind",
                            "the last layer to be dense (its units = number of classes)",
                            "'" + last.kind + "'");
  }
  if (last.units < 2) {
    util::throw_input_error(where, last.line, last_key + ".units",
                            "at least 2 units in the last dense layer (the number of classes)",
                            std::to_string(last.units));
  }
}

}  // namespace

Model::Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::build(const ModelSpec& spec) {
  validate_spec(spec);
  Model m;
  m.name_ = spec.name;
  m.input_size_ = spec.input_size;
  int width = spec.input_size;
  std::size_t offset = 0;
  for (const LayerSpec& l : spec.layers) {
    if (l.kind == "dense") {
      auto dense = std::make_unique<Dense>(width, l.units, offset);
      offset += dense->num_params();
      width = l.units;
      m.layers_.push_back(std::move(dense));
    } else {
      m.layers_.push_back(std::make_unique<Relu>(width));
    }
    m.forward_flops_ += m.layers_.back()->forward_flops();
  }
  m.num_params_ = offset;
  m.num_classes_ = width;
  m.build_stages(spec.stages);
  return m;
}

// Stage table and per-stage backward FLOPs (per sample). Convention, in backprop order:
//  - bias stage of a dense layer (out x in): bias gradient, `out` FLOPs, plus the backward of
//    every ReLU between this layer and the next dense layer (`size` FLOPs each): ReLU work is
//    charged to the next stage that completes after it;
//  - weight stage: weight gradient 2*in*out, plus the input delta W^T dY (2*in*out) unless no
//    dense layer precedes it (then the delta is never computed);
//  - ReLUs before the first dense layer are never back-propagated and cost nothing.
// With kLayer the two tensors form one stage that gets both amounts. The loss (softmax) is not
// counted, neither forward nor backward: O(classes) per sample.
void Model::build_stages(StageGrouping grouping) {
  stages_.clear();
  layer_stages_.assign(layers_.size(), LayerStages{});
  int dense_count = 0;
  int max_stage = -1;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layer_stages_[i].max_stage_before = max_stage;
    if (layers_[i]->kind() != LayerKind::kDense) continue;
    const auto& dense = static_cast<const Dense&>(*layers_[i]);
    const std::string name = "fc" + std::to_string(++dense_count);
    if (grouping == StageGrouping::kTensor) {
      stages_.push_back({name + ".weight", dense.param_offset(), dense.weight_size(), 0.0});
      layer_stages_[i].weight_stage = static_cast<int>(stages_.size()) - 1;
      stages_.push_back({name + ".bias", dense.bias_offset(), std::size_t(dense.out_size()), 0.0});
    } else {
      stages_.push_back({name, dense.param_offset(), dense.num_params(), 0.0});
      layer_stages_[i].weight_stage = static_cast<int>(stages_.size()) - 1;
    }
    layer_stages_[i].bias_stage = static_cast<int>(stages_.size()) - 1;
    max_stage = layer_stages_[i].bias_stage;
  }
  double pending_relu = 0.0;
  for (std::size_t k = layers_.size(); k-- > 0;) {
    const Layer& layer = *layers_[k];
    if (layer.kind() == LayerKind::kRelu) {
      pending_relu += layer.out_size();
      continue;
    }
    const double w = 2.0 * static_cast<const Dense&>(layer).weight_size();
    const LayerStages& st = layer_stages_[k];
    stages_[st.bias_stage].backward_flops += layer.out_size() + pending_relu;
    stages_[st.weight_stage].backward_flops += w + (st.max_stage_before >= 0 ? w : 0.0);
    pending_relu = 0.0;
  }
}

// W and b of each dense layer ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch nn.Linear default),
// drawn in flat-vector order from util::Rng(seed, "init").
void Model::init_params(Vector& params, uint64_t seed) const {
  params.resize(static_cast<Eigen::Index>(num_params_));
  util::Rng rng(seed, "init");
  for (const auto& layer : layers_) {
    if (layer->kind() != LayerKind::kDense) continue;
    const double bound = 1.0 / std::sqrt(static_cast<double>(layer->in_size()));
    const std::size_t end = layer->param_offset() + layer->num_params();
    for (std::size_t k = layer->param_offset(); k < end; ++k) {
      params[static_cast<Eigen::Index>(k)] = static_cast<float>(rng.uniform(-bound, bound));
    }
  }
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

void Model::forward_pass(const Vector& params, const Eigen::Ref<const Matrix>& x,
                         Workspace& ws) const {
  const std::size_t n = layers_.size();
  ws.activations.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const Layer& layer = *layers_[k];
    Matrix& out = ws.activations[k];
    out.resize(layer.out_size(), x.cols());  // no reallocation when the batch size repeats
    if (k == 0) {
      layer.forward(params.data(), x, out);
    } else {
      layer.forward(params.data(), ws.activations[k - 1], out);
    }
  }
}

double Model::loss_and_gradient(const Vector& params, const Matrix& x, const std::vector<int>& y,
                                Vector& grad, int first_stage, Workspace& ws) const {
  check_batch(params, x, &y);
  if (first_stage < 0 || first_stage > num_stages()) {
    throw std::invalid_argument("Model " + name_ + ": first_stage " + std::to_string(first_stage) +
                                " outside [0, " + std::to_string(num_stages()) + "]");
  }
  forward_pass(params, x, ws);
  const std::size_t n = layers_.size();
  ws.deltas.resize(n);
  const double loss = softmax_cross_entropy<float>(ws.activations[n - 1], y.data(),
                                                   ws.deltas[n - 1], ws.col_max, ws.col_sum, true);
  grad.resize(static_cast<Eigen::Index>(num_params_));
  // Stages [first_stage, L) are a contiguous suffix and are fully overwritten below.
  const std::size_t suffix = first_stage < num_stages() ? stages_[first_stage].offset : num_params_;
  grad.head(static_cast<Eigen::Index>(suffix)).setZero();
  for (std::size_t k = n; k-- > 0;) {
    const LayerStages& st = layer_stages_[k];
    BackwardNeeds needs;
    needs.weight = st.weight_stage >= first_stage;
    needs.bias = st.bias_stage >= first_stage;
    needs.input = k > 0 && st.max_stage_before >= first_stage;
    if (!needs.weight && !needs.bias && !needs.input) break;  // earlier layers need nothing either
    Matrix& din = k > 0 ? ws.deltas[k - 1] : ws.probs;        // no input delta for layer 0
    if (k > 0) {
      layers_[k]->backward(params.data(), ws.activations[k - 1], ws.activations[k], ws.deltas[k],
                           needs, grad.data(), din);
    } else {
      layers_[k]->backward(params.data(), x, ws.activations[k], ws.deltas[k], needs, grad.data(),
                           din);
    }
  }
  return loss;
}

void Model::forward(const Vector& params, const Matrix& x, Matrix& logits, Workspace& ws) const {
  check_batch(params, x, nullptr);
  forward_pass(params, x, ws);
  logits = ws.activations.back();
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
    forward_pass(params, x.middleCols(start, count), ws);
    const Matrix& logits = ws.activations.back();
    const int* labels = y.data() + start;
    loss_sum += count * softmax_cross_entropy<float>(logits, labels, ws.probs, ws.col_max,
                                                     ws.col_sum, false);
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
