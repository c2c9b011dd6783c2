// Plain description of a model (what models/*.yaml says), turned into an nn::Model by build().
#pragma once

#include <string>
#include <vector>

namespace fedgrid::nn {

// One layer of the stack. kind: "dense" (units > 0), "relu". Later issues add conv2d, maxpool, ...
struct LayerSpec {
  std::string kind;
  int units = 0;
  int line = 0;  // line in the model file, for error messages
};

// How parameter tensors are grouped into backprop stages (spec section 11.1).
enum class StageGrouping { kTensor, kLayer };

struct ModelSpec {
  std::string name;
  std::string file;    // where it came from (for messages), may be empty
  int input_size = 0;  // features per sample (e.g. 784)
  std::vector<LayerSpec> layers;
  StageGrouping stages = StageGrouping::kTensor;
};

}  // namespace fedgrid::nn
