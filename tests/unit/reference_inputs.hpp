// The ADEL-FL planner inputs of the paper's CNN/MNIST row (spec 4.6), shared by the planner
// test suites: U = 20 clients from scenarios/paper/adel_inputs_seed1234_U20.csv, L = 8, R = 50,
// T_max = 200, T_min = 3.4, defaults otherwise.
#pragma once

#include <string>

#include "plan/inputs_csv.hpp"
#include "plan/objective.hpp"

namespace fedgrid::test {

inline plan::PlannerInputs reference_inputs() {
  const plan::ClientInputs c = plan::read_client_inputs_csv(
      std::string(FEDGRID_SOURCE_DIR) + "/scenarios/paper/adel_inputs_seed1234_U20.csv");
  plan::PlannerInputs in;
  in.P = c.P;
  in.B = c.B;
  in.sigma = c.sigma;
  in.L = 8;
  in.R = 50;
  in.T_max = 200.0;
  in.T_min = 3.4;
  return in;
}

}  // namespace fedgrid::test
