// SGD with momentum over the flat parameter vector, stage by stage.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "nn/model.hpp"

namespace fedgrid::nn {

Sgd::Sgd(std::size_t num_params, float momentum)
    : momentum_(momentum), velocity_(Vector::Zero(static_cast<Eigen::Index>(num_params))) {}

// For each active stage s (slice S): v_S = mu * v_S + g_S; w_S -= lr * v_S on its trained entries
// and w_S -= g_S on its trailing running statistics (velocity untouched there).
// Inactive stages keep both their parameters and their velocity.
void Sgd::step(Vector& params, const Vector& grad, float lr, const std::vector<Stage>& stages,
               const std::vector<char>& active) {
  if (params.size() != velocity_.size() || grad.size() != velocity_.size()) {
    throw std::invalid_argument("Sgd::step: " + std::to_string(params.size()) + " params and " +
                                std::to_string(grad.size()) + " gradients for an optimiser of " +
                                std::to_string(velocity_.size()));
  }
  if (active.size() != stages.size()) {
    throw std::invalid_argument("Sgd::step: " + std::to_string(active.size()) +
                                " activity flags for " + std::to_string(stages.size()) + " stages");
  }
  for (std::size_t s = 0; s < stages.size(); ++s) {
    if (!active[s]) continue;
    const auto off = static_cast<Eigen::Index>(stages[s].offset);
    const auto len = static_cast<Eigen::Index>(stages[s].size);
    if (off + len > velocity_.size()) {
      throw std::invalid_argument("Sgd::step: stage " + stages[s].name + " beyond the vector");
    }
    const auto stat = static_cast<Eigen::Index>(std::min(stages[s].statistics, stages[s].size));
    auto v = velocity_.segment(off, len - stat);
    v = momentum_ * v + grad.segment(off, len - stat);
    params.segment(off, len - stat).noalias() -= lr * v;
    params.segment(off + len - stat, stat) -= grad.segment(off + len - stat, stat);
  }
}

}  // namespace fedgrid::nn
