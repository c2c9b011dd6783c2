// A feed-forward model over ONE flat float parameter vector with a per-stage offset table.
// Batches are column-per-sample: X is (features x batch). The loss is mean softmax cross-entropy.
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
struct Stage {
  std::string name;  // e.g. "fc1.weight" or "fc1"
  std::size_t offset = 0;
  std::size_t size = 0;
  double backward_flops = 0;  // backward FLOPs per sample attributed to this stage
};

struct EvalResult {
  double loss = 0;  // mean cross-entropy
  std::size_t correct = 0;
  std::size_t count = 0;
  double accuracy() const { return count ? static_cast<double>(correct) / count : 0.0; }
};

class Layer;  // defined in nn/layers.hpp

// Scratch buffers reused across calls (one per thread). Reusing one Workspace with the same batch
// size makes loss_and_gradient/forward allocation-free after the first call.
struct Workspace {
  std::vector<Matrix> activations;  // activations[i] = output of layer i (out_i x B)
  std::vector<Matrix> deltas;       // deltas[i] = dL/d(output of layer i)
  Matrix probs;                     // softmax scratch for loss-only evaluation
  Eigen::RowVectorXf col_max;       // per-sample max logit (1 x B)
  Eigen::RowVectorXf col_sum;       // per-sample sum of exp (1 x B)
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
  int num_classes() const { return num_classes_; }
  std::size_t num_params() const { return num_params_; }
  const std::vector<Stage>& stages() const { return stages_; }
  int num_stages() const { return static_cast<int>(stages_.size()); }
  double forward_flops() const { return forward_flops_; }  // per sample

  // PyTorch-style default init (uniform +-1/sqrt(fan_in) for weights and biases), seeded.
  void init_params(Vector& params, uint64_t seed) const;

  // Mean cross-entropy over the batch and its gradient w.r.t. params (grad is resized and
  // zero-filled). Backprop stops once stages [first_stage, L) are done: entries of earlier
  // stages stay zero. Returns the mean loss.
  double loss_and_gradient(const Vector& params, const Matrix& x, const std::vector<int>& y,
                           Vector& grad, int first_stage, Workspace& ws) const;

  // Logits (classes x batch).
  void forward(const Vector& params, const Matrix& x, Matrix& logits, Workspace& ws) const;

  // Loss and accuracy over a whole set, in chunks of `chunk` samples.
  EvalResult evaluate(const Vector& params, const Matrix& x, const std::vector<int>& y,
                      int chunk = 1024) const;

  // The layer stack (input first), for gradient checks and introspection.
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

 private:
  // Stage indices owned by each layer (-1 when none) and the largest stage index of the layers
  // before it (-1 when none): backprop must produce dL/d(input of layer i) iff that is >= the
  // first requested stage.
  struct LayerStages {
    int weight_stage = -1;
    int bias_stage = -1;
    int max_stage_before = -1;
  };

  Model();
  void check_batch(const Vector& params, const Eigen::Ref<const Matrix>& x,
                   const std::vector<int>* y) const;
  void forward_pass(const Vector& params, const Eigen::Ref<const Matrix>& x, Workspace& ws) const;
  void build_stages(StageGrouping grouping);

  std::string name_;
  int input_size_ = 0;
  int num_classes_ = 0;
  std::size_t num_params_ = 0;
  double forward_flops_ = 0;
  std::vector<Stage> stages_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<LayerStages> layer_stages_;
};

// SGD with momentum over the flat vector: v = mu*v + g; w -= lr*v, applied only to the stages
// whose entry in `active` is nonzero (velocity of inactive stages is left untouched).
class Sgd {
 public:
  Sgd(std::size_t num_params, float momentum);
  void step(Vector& params, const Vector& grad, float lr, const std::vector<Stage>& stages,
            const std::vector<char>& active);
  const Vector& velocity() const { return velocity_; }

 private:
  float momentum_;
  Vector velocity_;
};

}  // namespace fedgrid::nn
