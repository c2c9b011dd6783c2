// Model::flops: per layer forward / weight / bias / input-gradient FLOPs per sample, with the
// same rule as backward_pass for what is computed (so a bench can divide by what really ran).
#include <string>

#include "nn/layers.hpp"
#include "nn/model.hpp"

namespace fedgrid::nn {

namespace {

const char* kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::kDense:
      return "fc";
    case LayerKind::kRelu:
      return "relu";
    case LayerKind::kConv2d:
      return "conv";
    case LayerKind::kMaxPool:
      return "pool";
    case LayerKind::kFlatten:
      return "flatten";
    case LayerKind::kBatchNorm:
      return "bn";
  }
  return "?";
}

}  // namespace

ModelFlops Model::flops(int first_stage) const {
  ModelFlops m;
  int counts[6] = {0, 0, 0, 0, 0, 0};
  bool stopped =
      false;  // backward_pass breaks at the first layer (from the output) needing nothing
  m.layers.resize(layers_.size());
  for (std::size_t k = layers_.size(); k-- > 0;) {
    const Layer& layer = *layers_[k];
    LayerFlops& f = m.layers[k];
    f.forward = layer.forward_flops();
    const std::vector<TensorInfo> ts = layer.tensors();
    const LayerStages& st = layer_stages_[k];
    const bool weight = !ts.empty() && st.weight_stage >= first_stage;
    const bool bias = ts.size() > 1 && st.bias_stage >= first_stage;
    const bool input = k > 0 && st.max_stage_before >= first_stage;
    stopped = stopped || (!weight && !bias && !input);
    const double w = ts.empty() ? 0.0 : ts[0].grad_flops;
    const double b = ts.size() > 1 ? ts[1].grad_flops : 0.0;
    const double in = layer.input_grad_flops();
    (weight && !stopped ? f.weight : f.skipped) += w;
    (bias && !stopped ? f.bias : f.skipped) += b;
    (input && !stopped ? f.input : f.skipped) += in;
  }
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    LayerFlops& f = m.layers[k];
    const LayerKind kind = layers_[k]->kind();
    f.name = kind_name(kind) + std::to_string(++counts[static_cast<int>(kind)]);
    m.forward += f.forward;
    m.backward += f.weight + f.bias + f.input;
    m.skipped += f.skipped;
  }
  return m;
}

}  // namespace fedgrid::nn
