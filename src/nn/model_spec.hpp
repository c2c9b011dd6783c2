// Plain description of a model (what models/*.yaml says), turned into an nn::Model by build().
#pragma once

#include <string>
#include <vector>

namespace fedgrid::nn {

// One layer of the stack. kind: "dense" (units > 0), "relu", "conv2d" (out_channels, kernel,
// stride, padding), "maxpool" (kernel, stride; stride 0 = kernel), "flatten", "batchnorm".
struct LayerSpec {
  std::string kind;
  int units = 0;
  int line = 0;  // line in the model file, for error messages
  int out_channels = 0;
  int kernel = 0;
  int stride = 1;  // maxpool: 0 means "same as kernel"
  int padding = 0;
};

// How parameter tensors are grouped into backprop stages (spec section 11.1):
//  tensor: every tensor is a stage (weight, bias, and BatchNorm's weight, bias, running_mean,
//          running_var separately);
//  layer:  a layer's tensors form one stage (conv, dense, batchnorm each one stage);
//  block:  a conv2d/dense layer and the batchnorm layers after it form one stage (VGG's
//          conv+BN blocks, as the authors' code groups them).
enum class StageGrouping { kTensor, kLayer, kBlock };

struct ModelSpec {
  std::string name;
  std::string file;    // where it came from (for messages), may be empty
  int input_size = 0;  // features per sample (e.g. 784, or 3*32*32 for an image input)
  // Image shape of a sample (input: [C, H, W]); 0 for a flat input (input: 784). A column of a
  // batch holds C*H*W values in C, H, W row-major order (PyTorch's flatten order).
  int input_channels = 0, input_height = 0, input_width = 0;
  int line = 0;  // line of `input` in the model file
  std::vector<LayerSpec> layers;
  StageGrouping stages = StageGrouping::kTensor;
  // Explicit stages (optional): stage j (from the input side) groups the next stage_map[j] stages
  // of `stages`; 0 = a stage without parameters (it still takes backward time). Empty = as grouped.
  std::vector<int> stage_map;
  int stage_map_line = 0;
};

}  // namespace fedgrid::nn
