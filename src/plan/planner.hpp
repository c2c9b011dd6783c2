// Exact ADEL-FL solver (spec 4.3): outer 1-D search on m, inner KKT water-filling on the
// deadlines T_1..T_R under sum_t T_t = T_max, T_t >= max(T_min, minimal feasible deadline).
#pragma once

#include <vector>

#include "plan/objective.hpp"

namespace fedgrid::plan {

struct Plan {
  std::vector<double> deadlines;  // T_1..T_R, sum = T_max
  double m = 0.0;                 // batch/time scaling factor m*
  double objective = 0.0;         // f(T*, m*) (x 10^3, includes D_1)
  // f at uniform T_t = T_max/R and m = 1 (the SALF point, for reporting); +inf when that point
  // violates the one_minus_2p constraint.
  double objective_uniform_m1 = 0.0;
};

// Minimises f(T, m) of spec 4.2 exactly. Throws util::InputError for invalid inputs (see
// validate_inputs) and when the budget cannot hold R deadlines of the minimal length:
// "ADEL-FL plan infeasible: R*T_min = 51*3.4 = 173.4 > time_budget = 170".
Plan solve_plan(const PlannerInputs& in);

// The inner problem for one m: the optimal deadlines (KKT water-filling) and f at them; the
// multiplier is solved until |sum_t T_t - T_max| <= tol * T_max (then the residual is spread over
// the unclamped rounds). T's content, if of size R, is the warm start. Returns +inf (and leaves T
// empty) if m is not feasible for the budget.
double solve_deadlines(const Objective& objective, double m, std::vector<double>& T,
                       double tol = 1e-10);

}  // namespace fedgrid::plan
