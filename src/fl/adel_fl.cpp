// ADEL-FL (Goren, Lang, Shlezinger, Cohen): the server solves for per-round deadlines T_t and
// the batch factor m* (plan::solve_plan, spec section 4) before the run; clients send the stage
// suffix they finished, aggregated stage by stage (default rule: unbiased). One local step.
#include <cstdio>

#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"
#include "plan/inputs_csv.hpp"
#include "plan/planner.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::fl {

namespace {

// The planner's inputs: P_u and B_u of the clients (or a CSV's), sigma_u = sigma_mean x U(0,1)
// drawn from (seed, "sigma") unless the CSV gives them, and the algorithm's constants.
plan::PlannerInputs planner_inputs(const AlgorithmConfig& cfg,
                                   const std::vector<ClientInfo>& clients, int num_stages) {
  const Params& a = cfg.params;
  plan::PlannerInputs in;
  const std::string& csv = a.text("inputs_csv");
  if (!csv.empty()) {
    plan::ClientInputs ci = plan::read_client_inputs_csv(csv);
    if (ci.P.size() != clients.size()) {
      util::throw_input_error(csv, 0, "algorithm.inputs_csv",
                              std::to_string(clients.size()) + " client rows (one per client)",
                              std::to_string(ci.P.size()));
    }
    in.P = ci.P;
    in.B = ci.B;
    in.sigma = ci.sigma;
  } else {
    util::Rng rng(cfg.seed, "sigma");
    for (const auto& c : clients) {
      in.P.push_back(c.speed);
      in.B.push_back(c.comm_time);
      in.sigma.push_back(a.number("sigma_mean") * rng.uniform01());
    }
  }
  in.L = num_stages;
  in.R = cfg.rounds;
  in.T_max = cfg.time_budget;
  in.T_min = a.number("min_deadline");
  in.G = a.number("constants.G");
  in.rho_s = a.number("constants.rho_s");
  in.rho_c = a.number("constants.rho_c");
  in.Gamma = a.number("constants.gamma");
  in.alpha = a.number("constants.alpha");
  in.lr = a.number("plan_lr");
  in.m_max = a.number("m_max");
  in.schedule = *plan::parse_schedule(a.text("plan_schedule"));
  in.variance_term = *plan::parse_variance_term(a.text("variance_term"));
  return in;
}

class AdelFl final : public Algorithm {
 public:
  AdelFl(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : Algorithm(cfg, std::move(clients), num_stages) {
    const plan::Plan p = plan::solve_plan(planner_inputs(cfg, this->clients(), num_stages));
    objective_ = p.objective;
    set_schedule(p.deadlines, p.m, /*partial_stages=*/true, /*partial_steps=*/false);
  }

  std::string plan_note() const override {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", objective %.10g", objective_);
    return buf;
  }

 private:
  double objective_ = 0;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

AlgorithmInfo adel_fl_algorithm() {
  AlgorithmInfo a;
  a.name = "adel-fl";
  a.summary = "ADEL-FL: planned deadlines and batches, layer-wise partial updates";
  a.deadlines = DeadlinePolicy::kPlanned;
  a.aggregations = {Aggregation::kUnbiased, Aggregation::kCode, Aggregation::kPlain};
  a.one_local_step = true;
  using P = ParamType;
  a.params = {
      {"min_deadline", P::kNumber, 0, kInf, "3.4", {}, "T_min, the shortest round deadline (s)"},
      {"variance_term",
       P::kChoice,
       0,
       0,
       "one_minus_2p",
       {"one_minus_2p", "one_minus_p"},
       "C_t's summand: (1+p)/(1-2p) (newest code) or (1+p)/(1-p)"},
      {"m_max", P::kNumber, 1e-9, 1e6, "1.2", {}, "upper bound of the batch factor m"},
      {"plan_lr", P::kNumber, 1e-12, 1e6, "0.5", {}, "lr inside the objective's eta_t"},
      {"plan_schedule",
       P::kChoice,
       0,
       0,
       "inverse",
       {"inverse", "fixed", "sqrt"},
       "eta_t inside the objective"},
      {"sigma_mean", P::kNumber, 0, 1e12, "5", {}, "sigma_u = sigma_mean x U(0,1), seeded"},
      {"inputs_csv", P::kPath, 0, 0, "", {}, "P_u, B_u, sigma_u per client from a CSV"},
      {"constants.G", P::kNumber, 0, kInf, "0.1", {}, "gradient norm bound G"},
      {"constants.rho_s", P::kNumber, 1e-12, kInf, "1", {}, "smoothness rho_s"},
      {"constants.rho_c", P::kNumber, 1e-12, kInf, "0.3", {}, "strong convexity rho_c"},
      {"constants.gamma", P::kNumber, 0, kInf, "1", {}, "heterogeneity gap Gamma"},
      {"constants.alpha", P::kNumber, 0, kInf, "1", {}, "weight of the SGD-variance term"},
  };
  a.make = construct<AdelFl>;
  return a;
}

}  // namespace fedgrid::fl
