// Model::build: validating a ModelSpec (shapes through the stack), creating the layers, the
// activation-buffer table (in-place layers) and the stage table with per-stage backward FLOPs.
#include <algorithm>
#include <cstdio>
#include <string>

#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "util/error.hpp"

namespace fedgrid::nn {

namespace {

std::string shape_text(Shape s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

// Checks one layer against the shape it receives (`image`: the input still has spatial
// dimensions, i.e. an image input not yet flattened) and returns the layer built for it.
class SpecChecker {
 public:
  explicit SpecChecker(const ModelSpec& spec)
      : where_(!spec.file.empty() ? spec.file
                                  : (!spec.name.empty() ? spec.name : std::string("<model>"))) {}

  [[noreturn]] void fail(int line, const std::string& key, const std::string& expected,
                         const std::string& found) const {
    util::throw_input_error(where_, line, key, expected, found);
  }

  void positive(const LayerSpec& l, const std::string& key, const char* field, int v,
                const char* what) const {
    if (v <= 0)
      fail(l.line, key + "." + field, std::string("a positive ") + what, std::to_string(v));
  }

  std::unique_ptr<Layer> make(const LayerSpec& l, std::size_t i, Shape in, bool image,
                              std::size_t offset) const {
    const std::string key = "layers[" + std::to_string(i) + "]";
    if (l.kind == "dense") {
      positive(l, key, "units", l.units, "number of units for a dense layer");
      if (!in.flat()) {
        fail(l.line, key + ".kind", "a flat input for dense (add a flatten layer before it)",
             "an input of shape " + shape_text(in));
      }
      return std::make_unique<Dense>(in.c, l.units, offset);
    }
    if (l.kind == "relu") {
      if (l.units != 0) {
        fail(l.line, key + ".units", "no units for a relu layer", std::to_string(l.units));
      }
      return std::make_unique<Relu>(in);
    }
    if (l.kind == "flatten") return std::make_unique<Flatten>(in);
    if (l.kind == "batchnorm") return std::make_unique<BatchNorm>(in, offset);
    if (l.kind != "conv2d" && l.kind != "maxpool") {
      fail(l.line, key + ".kind", "one of: dense, relu, conv2d, maxpool, flatten, batchnorm",
           "'" + l.kind + "'");
    }
    if (!image) {
      fail(l.line, key + ".kind",
           l.kind +
               " on an image: the model's input as [channels, height, width], before any "
               "flatten or dense layer",
           "a flat input of " + std::to_string(in.size()) + " features");
    }
    positive(l, key, "kernel", l.kernel, "kernel size");
    const bool conv = l.kind == "conv2d";
    if (conv) {
      positive(l, key, "out_channels", l.out_channels, "number of output channels");
      positive(l, key, "stride", l.stride, "stride");
      if (l.padding < 0)
        fail(l.line, key + ".padding", "a padding >= 0", std::to_string(l.padding));
    } else if (l.stride < 0) {
      fail(l.line, key + ".stride", "a stride >= 0 (0 = kernel)", std::to_string(l.stride));
    }
    const int pad = conv ? l.padding : 0;
    if (l.kernel > in.h + 2 * pad || l.kernel > in.w + 2 * pad) {
      fail(l.line, key + ".kernel",
           "a kernel no larger than the (padded) input " + std::to_string(in.h + 2 * pad) + "x" +
               std::to_string(in.w + 2 * pad),
           std::to_string(l.kernel));
    }
    if (conv) return std::make_unique<Conv2d>(in, l.out_channels, l.kernel, l.stride, pad, offset);
    return std::make_unique<MaxPool2d>(in, l.kernel, l.stride == 0 ? l.kernel : l.stride);
  }

  void check_input(const ModelSpec& spec) const {
    if (spec.input_size <= 0) {
      fail(spec.line, "input", "a positive number of input features",
           std::to_string(spec.input_size));
    }
    const bool any = spec.input_channels || spec.input_height || spec.input_width;
    if (any && (spec.input_channels <= 0 || spec.input_height <= 0 || spec.input_width <= 0 ||
                spec.input_channels * spec.input_height * spec.input_width != spec.input_size)) {
      fail(spec.line, "input",
           "a positive shape [channels, height, width] whose product is the input size " +
               std::to_string(spec.input_size),
           "[" + std::to_string(spec.input_channels) + ", " + std::to_string(spec.input_height) +
               ", " + std::to_string(spec.input_width) + "]");
    }
    if (spec.layers.empty()) fail(0, "layers", "a non-empty list of layers", "an empty list");
  }

  void check_last(const ModelSpec& spec) const {
    const LayerSpec& last = spec.layers.back();
    const std::string key = "layers[" + std::to_string(spec.layers.size() - 1) + "]";
    if (last.kind != "dense") {
      fail(last.line, key + ".kind", "the last layer to be dense (its units = number of classes)",
           "'" + last.kind + "'");
    }
    if (last.units < 2) {
      fail(last.line, key + ".units",
           "at least 2 units in the last dense layer (the number of classes)",
           std::to_string(last.units));
    }
  }

 private:
  std::string where_;
};

// Layer names for stage names: fc1, conv1, bn1, ... counted per kind.
std::string layer_name(const Layer& layer, int count) {
  switch (layer.kind()) {
    case LayerKind::kDense:
      return "fc" + std::to_string(count);
    case LayerKind::kConv2d:
      return "conv" + std::to_string(count);
    case LayerKind::kBatchNorm:
      return "bn" + std::to_string(count);
    default:
      return "";
  }
}

// Layers before the first Flatten when they can all run in lanes and the first is a Conv2d.
int lanes_prefix(const std::vector<std::unique_ptr<Layer>>& layers) {
  if (layers.empty() || layers[0]->kind() != LayerKind::kConv2d) return 0;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const LayerKind kind = layers[k]->kind();
    if (kind == LayerKind::kFlatten) return static_cast<int>(k);
    if (kind == LayerKind::kDense) return 0;
  }
  return 0;
}

}  // namespace

// In-place layers share their input's buffer, except the Flatten that leaves the lane layout.
void Model::assign_buffers() {
  buffer_of_.clear();
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const bool convert = lanes_end_ > 0 && k == std::size_t(lanes_end_);
    const bool share = layers_[k]->in_place() && k > 0 && !convert;
    buffer_of_.push_back(share ? buffer_of_.back() : static_cast<int>(k));
  }
}

void Model::use_lanes(bool on) {
  lanes_end_ = on ? lanes_max_ : 0;
  assign_buffers();
}

Model Model::build(const ModelSpec& spec) {
  const SpecChecker checker(spec);
  checker.check_input(spec);
  Model m;
  m.name_ = spec.name;
  m.input_size_ = spec.input_size;
  m.input_channels_ = spec.input_channels;
  m.input_height_ = spec.input_height;
  m.input_width_ = spec.input_width;
  const bool image_input = spec.input_channels > 0;
  Shape shape = image_input ? Shape{spec.input_channels, spec.input_height, spec.input_width}
                            : Shape{spec.input_size};
  bool image = image_input;
  std::size_t offset = 0;
  m.max_width_ = spec.input_size;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    auto layer = checker.make(spec.layers[i], i, shape, image, offset);
    if (layer->kind() == LayerKind::kFlatten || layer->kind() == LayerKind::kDense) image = false;
    offset += layer->num_params();
    shape = layer->out_shape();
    m.forward_flops_ += layer->forward_flops();
    m.max_width_ = std::max(m.max_width_, layer->out_size());
    m.layers_.push_back(std::move(layer));
  }
  checker.check_last(spec);
  m.lanes_max_ = lanes_prefix(m.layers_);
  m.lanes_end_ = m.lanes_max_;
  m.assign_buffers();
  m.num_params_ = offset;
  m.num_classes_ = shape.c;
  m.grouping_ = spec.stages;
  m.build_stages(spec.stages);
  if (!spec.stage_map.empty()) m.apply_stage_map(spec);
  m.stage_flops();
  return m;
}

std::string Model::summary() const {
  const char* groupings[] = {"tensor", "layer", "block"};
  std::size_t stats = 0;
  for (const Stage& st : stages_) stats += st.statistics;
  std::string input = input_channels_ > 0
                          ? std::to_string(input_channels_) + "x" + std::to_string(input_height_) +
                                "x" + std::to_string(input_width_)
                          : std::to_string(input_size_);
  char line[160];
  std::snprintf(line, sizeof line,
                "model %s: input %s, %zu parameters (%zu running statistics), %d classes, "
                "%.0f forward FLOPs per sample, L = %d stages by %s\n",
                name_.c_str(), input.c_str(), num_params_, stats, num_classes_, forward_flops_,
                num_stages(), groupings[static_cast<int>(grouping_)]);
  std::string out = line;
  out += "stage  name                       offset       size  statistics  backward FLOPs/sample\n";
  for (std::size_t s = 0; s < stages_.size(); ++s) {
    const Stage& st = stages_[s];
    std::snprintf(line, sizeof line, "%5zu  %-24s %8zu %10zu %11zu %22.0f\n", s, st.name.c_str(),
                  st.offset, st.size, st.statistics, st.backward_flops);
    out += line;
  }
  return out;
}

// Stages in flat-vector order. tensor: one per tensor; layer: one per layer with parameters;
// block: a conv2d/dense layer and the batchnorm layers after it (a batchnorm joins the current
// stage unless that already holds running statistics, which must stay its trailing entries).
void Model::build_stages(StageGrouping grouping) {
  stages_.clear();
  layer_stages_.assign(layers_.size(), LayerStages{});
  int counts[6] = {0, 0, 0, 0, 0, 0};
  int max_stage = -1;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    LayerStages& st = layer_stages_[k];
    st.max_stage_before = max_stage;
    const Layer& layer = *layers_[k];
    const std::vector<TensorInfo> ts = layer.tensors();
    if (ts.empty()) continue;
    const std::string name = layer_name(layer, ++counts[static_cast<int>(layer.kind())]);
    const bool join = grouping == StageGrouping::kBlock && layer.kind() == LayerKind::kBatchNorm &&
                      !stages_.empty() && stages_.back().statistics == 0;
    if (join) stages_.back().name += "+" + name;
    for (std::size_t t = 0; t < ts.size(); ++t) {
      const bool open = grouping == StageGrouping::kTensor || (t == 0 && !join) ||
                        (!ts[t].statistic && stages_.back().statistics > 0);
      if (open) {
        const bool whole = grouping != StageGrouping::kTensor;
        stages_.push_back({whole ? name : name + "." + ts[t].name, ts[t].offset, 0, 0.0, 0});
      }
      Stage& s = stages_.back();
      s.size += ts[t].size;
      if (ts[t].statistic) s.statistics += ts[t].size;
      int* slot[4] = {&st.weight_stage, &st.bias_stage, &st.mean_stage, &st.var_stage};
      *slot[std::min<std::size_t>(t, 3)] = static_cast<int>(stages_.size()) - 1;
    }
    max_stage = static_cast<int>(stages_.size()) - 1;
  }
}

// Per-stage backward FLOPs per sample. Convention, in backprop order (output first):
//  - every tensor's stage gets its gradient's FLOPs (TensorInfo::grad_flops; running
//    statistics cost nothing: they come out of the forward pass);
//  - the layer's first tensor's stage (its weight) also gets the input delta dL/d(input)
//    unless no stage precedes the layer (then the delta is never computed);
//  - parameter-free layers (ReLU, MaxPool, Flatten) are charged to the next stage that completes
//    after them: the last tensor's stage of the next parameterised layer towards the input;
//    those before the first parameterised layer are never back-propagated and cost nothing.
// The loss (softmax) is not counted, neither forward nor backward: O(classes) per sample.
void Model::stage_flops() {
  double pending = 0.0;
  for (std::size_t k = layers_.size(); k-- > 0;) {
    const Layer& layer = *layers_[k];
    const std::vector<TensorInfo> ts = layer.tensors();
    if (ts.empty()) {
      pending += layer.input_grad_flops();
      continue;
    }
    const LayerStages& st = layer_stages_[k];
    const int ids[4] = {st.weight_stage, st.bias_stage, st.mean_stage, st.var_stage};
    stages_[ids[ts.size() - 1]].backward_flops += pending;
    for (std::size_t t = 0; t < ts.size(); ++t) stages_[ids[t]].backward_flops += ts[t].grad_flops;
    if (st.max_stage_before >= 0)
      stages_[st.weight_stage].backward_flops += layer.input_grad_flops();
    pending = 0.0;
  }
}

}  // namespace fedgrid::nn
