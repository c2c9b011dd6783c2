// A feed-forward model over ONE flat float parameter vector with a per-stage offset table.
// Batches are column-per-sample: X is (features x batch); an image sample's column holds its
// C*H*W values in C, H, W row-major order (PyTorch's flatten order). The loss is mean softmax
// cross-entropy.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/model_spec.hpp"

namespace fedgrid::nn {

using Vector = Eigen::VectorXf;
using Matrix = Eigen::MatrixXf;

// A backprop stage: a contiguous slice [offset, offset + size) of the flat parameter vector.
// Stages are ordered from the input (index 0) to the output (index L-1); backprop finishes
// stage L-1 first.
// Running statistics (BatchNorm's running_mean/running_var) are not trained: the last
// `statistics` entries of a stage's slice hold them (0 for a trained stage, == size for a stage
// that is only statistics). Their "gradient" from loss_and_gradient is old - new (the value the
// client's batch would move them to), and Sgd::step applies it as params -= grad, without lr or
// momentum, so that aggregating the pseudo-gradients by a mean averages the clients' new values.
struct Stage {
  std::string name;  // e.g. "fc1.weight", "fc1", "conv1+bn1"
  std::size_t offset = 0;
  std::size_t size = 0;
  double backward_flops = 0;   // backward FLOPs per sample attributed to this stage
  std::size_t statistics = 0;  // trailing entries of the slice that are running statistics
};

struct EvalResult {
  double loss = 0;  // mean cross-entropy
  std::size_t correct = 0;
  std::size_t count = 0;
  double accuracy() const { return count ? static_cast<double>(correct) / count : 0.0; }
};

class Layer;  // defined in nn/layers.hpp

// FLOPs per sample of one layer as the kernels compute them (a multiply-add is 2, an addition,
// comparison or max 1; convolutions count their zero-padding taps, which they compute). The
// backward parts are 0 when not computed; `input_skipped` holds an input gradient's FLOPs that
// backprop does not compute (the first layer's, and layers before the first requested stage).
struct LayerFlops {
  std::string name;  // e.g. "conv1", "relu2", "pool1"
  double forward = 0, weight = 0, bias = 0, input = 0;
  double skipped = 0;  // backward FLOPs not computed (input, weight or bias gradients)
};

// A model's FLOPs per sample: forward, and backward as computed for a first stage.
struct ModelFlops {
  std::vector<LayerFlops> layers;  // input first
  double forward = 0;              // per sample, softmax not counted (O(classes))
  double backward = 0;             // computed: weight + bias + input gradients
  double skipped = 0;              // backward FLOPs backprop does not compute
  double training() const { return forward + backward; }
};

// A growable float buffer (aligned as Eigen's packets need): reserve(n) reallocates only when n
// exceeds what it ever held.
struct ScratchBuffer {
  Eigen::VectorXf data;
  float* reserve(std::size_t n) {
    if (static_cast<std::size_t>(data.size()) < n) data.resize(static_cast<Eigen::Index>(n));
    return data.data();
  }
};

// Packing buffers of the matrix-product kernel (nn/gemm.hpp).
struct GemmPacking {
  ScratchBuffer a, b;
};

// What one layer keeps from its forward to its backward (BatchNorm: the batch statistics).
struct LayerScratch {
  Eigen::VectorXf mean;        // per channel batch mean (training forward)
  Eigen::VectorXf var;         // per channel biased batch variance
  Eigen::VectorXf inv_std;     // 1 / sqrt(var + eps)
  Eigen::VectorXd acc, acc2;   // per channel sums (double accumulators)
  std::vector<int32_t> index;  // MaxPool: argmax of every output (within its sample's column)
  Eigen::VectorXf coef;        // BatchNorm in lanes: per channel coefficients
};

// Transient buffers shared by all layers (conv's im2col columns, their gradient, GEMM output).
struct SharedScratch {
  ScratchBuffer cols, cols_grad, gemm;
  GemmPacking packing;
};

// Scratch buffers reused across calls (one per thread). Reusing one Workspace with the same batch
// size makes loss_and_gradient/forward allocation-free after the first call (apart from Eigen's
// own packing buffers for large dense-layer products; conv products use `shared.packing`).
struct Workspace {
  // activations[i] = output of layer i (out_i x B); empty for in-place layers (ReLU, Flatten),
  // whose output lives in the buffer of their input (Model::activation_buffer).
  std::vector<Matrix> activations;
  Matrix delta[2];             // dL/d(activation), ping-pong between consecutive layers
  Matrix probs;                // softmax output / dL/dlogits
  Eigen::RowVectorXf col_max;  // per-sample max logit (1 x B)
  Eigen::RowVectorXf col_sum;  // per-sample sum of exp (1 x B)
  std::vector<LayerScratch> layer;
  SharedScratch shared;
  Matrix lanes_input;  // the batch in the lane layout (Model::lanes_layers)
  Vector chunk_grad;   // gradient of one training chunk (Model::train_chunk)
  // Buffers of the training chunks (Model::train_chunk): full ones and a last, shorter one,
  // so that no size reallocates (nor the whole-batch buffers above, used by forward).
  std::unique_ptr<Workspace> chunks[2];
  int backward_layers = 0;  // layers whose backward ran in the last loss_and_gradient
};

class Model {
 public:
  // Throws util::InputError (naming spec.file and the layer's line) on an invalid spec.
  static Model build(const ModelSpec& spec);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const std::string& name() const { return name_; }
  int input_size() const { return input_size_; }
  // Image shape of the input (channels, height, width), all 0 for a flat input.
  int input_channels() const { return input_channels_; }
  int input_height() const { return input_height_; }
  int input_width() const { return input_width_; }
  int num_classes() const { return num_classes_; }
  std::size_t num_params() const { return num_params_; }
  const std::vector<Stage>& stages() const { return stages_; }
  int num_stages() const { return static_cast<int>(stages_.size()); }
  double forward_flops() const { return forward_flops_; }  // per sample
  // A readable description: input shape, parameters (running statistics among them), forward
  // FLOPs per sample and the stage table (name, offset, size, statistics, backward FLOPs).
  std::string summary() const;

  // PyTorch-style default init (uniform +-1/sqrt(fan_in) for dense and conv weights and biases,
  // BatchNorm weight 1, bias 0, running mean 0, running variance 1), seeded.
  void init_params(Vector& params, uint64_t seed) const;

  // Mean cross-entropy over the batch (BatchNorm in training mode: batch statistics) and its
  // gradient w.r.t. params (grad is resized and zero-filled); for running statistics the
  // pseudo-gradient old - new (see Stage). Backprop stops once stages [first_stage, L) are done:
  // entries of earlier stages stay zero and no work is done for them. Returns the mean loss.
  double loss_and_gradient(const Vector& params, const Matrix& x, const std::vector<int>& y,
                           Vector& grad, int first_stage, Workspace& ws) const;

  // Logits (classes x batch), BatchNorm in evaluation mode (running statistics).
  void forward(const Vector& params, const Matrix& x, Matrix& logits, Workspace& ws) const;

  // Exact FLOPs per sample (nn/flops.cpp): forward, and the backward that loss_and_gradient
  // computes when backprop stops after stages [first_stage, L).
  ModelFlops flops(int first_stage = 0) const;

  // Loss and accuracy over a whole set, in chunks of `chunk` samples (evaluation mode).
  EvalResult evaluate(const Vector& params, const Matrix& x, const std::vector<int>& y,
                      int chunk = 1024) const;
  // The forward-only path: `count` samples (columns of x, labels y[0..count)), running
  // statistics, no training buffers (no pooling indices, no deltas), in chunks of
  // eval_chunk() samples through `ws` (kept by the caller: no allocation once sized). The loss
  // is the mean of per-chunk sums taken in chunk order: the same bytes for the same inputs.
  EvalResult evaluate(const Vector& params, const Eigen::Ref<const Matrix>& x, const int* y,
                      Workspace& ws) const;
  // Samples per forward chunk of evaluate: 64 for models with lane layers (their activations
  // then stay in the L2 cache: measured 10-15% faster than 256 or 1024 for CNN2), else 1024.
  int eval_chunk() const { return lanes_end_ > 0 ? 64 : 1024; }
  // Samples per training chunk of loss_and_gradient (0 = the whole batch at once): 64 for lane
  // models without BatchNorm (whose statistics need the whole batch), whose gradient is then the
  // sum of the chunks' (dL/dZ scaled by 1/B), added in chunk order.
  int train_chunk() const;

  // The layer stack (input first), for gradient checks and introspection.
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  // Index into Workspace::activations of the buffer holding layer k's output.
  int activation_buffer(std::size_t k) const { return buffer_of_[k]; }
  // Layers [0, lanes_layers()) run in the lane layout (nn/lanes.hpp: 16 samples per vector,
  // direct or lane-GEMM convolutions) and the Flatten after them converts back to columns; 0
  // when the image layers run per sample column (im2col + GEMM). By default on whenever the
  // model starts with conv/pool/BatchNorm/ReLU layers up to a Flatten; use_lanes(false) selects
  // the column path (tests and bench compare both).
  int lanes_layers() const { return lanes_end_; }
  bool lanes_capable() const { return lanes_max_ > 0; }
  void use_lanes(bool on);

 private:
  // Stage indices owned by each layer (-1 when none) and the largest stage index of the layers
  // before it (-1 when none): backprop must produce dL/d(input of layer i) iff that is >= the
  // first requested stage.
  struct LayerStages {
    int weight_stage = -1;
    int bias_stage = -1;
    int mean_stage = -1;  // BatchNorm running statistics
    int var_stage = -1;
    int max_stage_before = -1;
  };

  Model();
  void check_batch(const Vector& params, const Eigen::Ref<const Matrix>& x,
                   const std::vector<int>* y) const;
  void forward_pass(const Vector& params, const Eigen::Ref<const Matrix>& x, Workspace& ws,
                    bool training) const;
  void backward_pass(const Vector& params, const Eigen::Ref<const Matrix>& x, Vector& grad,
                     int first_stage, Workspace& ws) const;
  void build_stages(StageGrouping grouping);
  void apply_stage_map(const ModelSpec& spec);  // model_stage_map.cpp
  void stage_flops();
  void assign_buffers();
  int batch_columns(std::size_t k, int batch, bool input) const;

  std::string name_;
  int input_size_ = 0;
  int input_channels_ = 0, input_height_ = 0, input_width_ = 0;
  int num_classes_ = 0;
  std::size_t num_params_ = 0;
  double forward_flops_ = 0;
  std::vector<Stage> stages_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<LayerStages> layer_stages_;
  std::vector<int> buffer_of_;  // per layer: index of the activation buffer of its output
  StageGrouping grouping_ = StageGrouping::kTensor;
  int max_width_ = 0;  // largest layer output (rows of the delta buffers)
  int lanes_end_ = 0;  // see lanes_layers()
  int lanes_max_ = 0;  // lanes_end_ when on: the Flatten's index, 0 if the model is not eligible
};

// SGD with momentum over the flat vector: v = mu*v + g; w -= lr*v, applied only to the stages
// whose entry in `active` is nonzero (velocity of inactive stages is left untouched). The
// running statistics of a stage (its last `statistics` entries) get w -= g instead: no lr, no
// momentum, so a mean of the clients' (old - new) moves them to the mean of the new values.
class Sgd {
 public:
  Sgd(std::size_t num_params, float momentum);
  void step(Vector& params, const Vector& grad, float lr, const std::vector<Stage>& stages,
            const std::vector<char>& active);
  const Vector& velocity() const { return velocity_; }
  void set_velocity(const Vector& v) { velocity_ = v; }  // resuming from a checkpoint

 private:
  float momentum_;
  Vector velocity_;
};

}  // namespace fedgrid::nn
