// Divergence: after a round's update, a loss or a parameter that is NaN or infinite (a learning
// rate too large, e.g. lr 1e6). The run stops at that round instead of training a NaN model to
// chance accuracy and calling the run complete.
#pragma once

#include <string>

#include "metrics/recorder.hpp"
#include "nn/model.hpp"

namespace fedgrid::metrics {

// What is not finite after the round recorded in `r` with parameters `params`: "train_loss",
// "parameters", "val_loss" or "test_loss" (the first found), or "" when everything is finite.
// Missing values (kNaN: no contributor, not evaluated) are not divergence.
std::string non_finite_after_round(const RoundRecord& r, const nn::Vector& params);

}  // namespace fedgrid::metrics
