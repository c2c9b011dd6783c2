// What the server knows before the run besides each client's P_u and B_u: every stage's relative
// cost (with stage_cost: flops it needs the built model) and each client's device availability.
// The algorithm plans and weighs with these (fl::AlgorithmConfig's timing fields).
#pragma once

#include "fl/config.hpp"
#include "io/experiment.hpp"

namespace fedgrid::io {

// The scenario's algorithm configuration completed with the stage costs (relative, mean 1; empty
// for stage_cost: uniform) and the clients' availability (empty when devices are always on).
fl::AlgorithmConfig algorithm_config(const Experiment& exp);

}  // namespace fedgrid::io
