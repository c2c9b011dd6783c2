// What `run` and `plan` report about an algorithm's plan: plan.csv, the printed plan, the
// check that deadlines leave every client a chance, and the batch clamp note (see run.cpp).
#pragma once

#include <string>
#include <vector>

#include "fl/algorithm.hpp"
#include "io/experiment.hpp"
#include "sim/world.hpp"

namespace fedgrid::sim {

// plan.csv; planned_batch is the batch rule's value before clamping to [1, shard size].
// Adaptive algorithms (re-planning) add `plan`: which plan each round used (0 = the initial one).
std::string plan_csv(const fl::Algorithm& algo);

// Rejects deadlines within which no client can ever deliver what the algorithm requires
// (util::InputError).
void check_deadlines(const io::Experiment& exp, const fl::Algorithm& algo,
                     const std::vector<fl::ClientInfo>& infos);

// `fedgrid plan`'s output on stdout.
void print_plan(const fl::Algorithm& algo, const World& world);

// One stderr note when planned batches were clamped to the shard sizes.
void note_clamps(const fl::Algorithm& algo);

}  // namespace fedgrid::sim
