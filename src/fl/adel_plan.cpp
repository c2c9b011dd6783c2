// Turns the scenario's ADEL-FL settings plus the clients' P_u and B_u into planner inputs and
// solves them (plan::solve_plan). sigma_u is seeded (sigma_mean * U(0,1)) unless a CSV gives it.
#include "fl/adel_plan.hpp"

#include "plan/inputs_csv.hpp"
#include "plan/planner.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::fl {

AdelPlan solve_adel_plan(const AlgorithmConfig& cfg, const std::vector<ClientInfo>& clients,
                         int num_stages) {
  const AdelConfig& a = cfg.adel;
  plan::PlannerInputs in;
  if (!a.inputs_csv.empty()) {
    plan::ClientInputs ci = plan::read_client_inputs_csv(a.inputs_csv);
    if (ci.P.size() != clients.size()) {
      util::throw_input_error(a.inputs_csv, 0, "algorithm.inputs_csv",
                              std::to_string(clients.size()) + " client rows (one per client)",
                              std::to_string(ci.P.size()));
    }
    in.P = ci.P;
    in.B = ci.B;
    in.sigma = ci.sigma;
  } else {
    util::Rng rng(a.seed, "sigma");
    for (const auto& c : clients) {
      in.P.push_back(c.speed);
      in.B.push_back(c.comm_time);
      in.sigma.push_back(a.sigma_mean * rng.uniform01());
    }
  }
  in.L = num_stages;
  in.R = cfg.rounds;
  in.T_max = cfg.time_budget;
  in.T_min = a.min_deadline;
  in.G = a.G;
  in.rho_s = a.rho_s;
  in.rho_c = a.rho_c;
  in.Gamma = a.Gamma;
  in.alpha = a.alpha;
  in.lr = a.plan_lr;
  in.m_max = a.m_max;
  in.schedule = *plan::parse_schedule(a.plan_schedule);
  in.variance_term = *plan::parse_variance_term(a.variance_term);
  plan::Plan p = plan::solve_plan(in);
  return AdelPlan{p.deadlines, p.m, p.objective, p.objective_uniform_m1};
}

}  // namespace fedgrid::fl
