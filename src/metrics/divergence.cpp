// Divergence check of one round (see divergence.hpp).
#include "metrics/divergence.hpp"

#include <cmath>

namespace fedgrid::metrics {

namespace {
bool diverged(double v) { return std::isinf(v) || (std::isnan(v) && !is_missing(v)); }
}  // namespace

std::string non_finite_after_round(const RoundRecord& r, const nn::Vector& params) {
  if (diverged(r.train_loss)) return "train_loss";
  if (!params.allFinite()) return "parameters";
  if (diverged(r.val_loss)) return "val_loss";
  if (diverged(r.test_loss)) return "test_loss";
  return "";
}

}  // namespace fedgrid::metrics
