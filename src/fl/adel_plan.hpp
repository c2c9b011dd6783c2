// Bridge from the scenario's ADEL-FL settings and the clients' capabilities to the planner.
#pragma once

#include <vector>

#include "fl/algorithm.hpp"

namespace fedgrid::fl {

struct AdelPlan {
  std::vector<double> deadlines;
  double m = 1;
  double objective = 0;
  double objective_uniform = 0;  // uniform deadlines T_max/R and m = 1
};

// Solves the ADEL-FL problem for these clients (P_u = speed, B_u = comm_time, sigma_u seeded or
// from cfg.adel.inputs_csv). Throws util::InputError when infeasible.
AdelPlan solve_adel_plan(const AlgorithmConfig& cfg, const std::vector<ClientInfo>& clients,
                         int num_stages);

}  // namespace fedgrid::fl
