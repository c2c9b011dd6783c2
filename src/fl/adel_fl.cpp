// ADEL-FL (Goren, Lang, Shlezinger, Cohen): the server solves for per-round deadlines T_t and
// the batch factor m* (plan::solve_plan, spec section 4) before the run and, with replan_every,
// again for the remaining budget every k rounds from the true or estimated client speeds
// (docs/replanning.md); clients send the stage suffix they finished, aggregated stage by stage
// (default rule: exchangeable; docs/inclusion-probability.md). One local step.
#include <algorithm>
#include <cstdio>

#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"
#include "plan/inputs_csv.hpp"
#include "plan/planner.hpp"
#include "plan/speed_estimator.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::fl {

namespace {

// sigma_u = sigma_mean x U(0,1) drawn from (seed, "sigma"), or the CSV's.
std::vector<double> sigmas(const AlgorithmConfig& cfg, std::size_t clients) {
  const std::string& csv = cfg.params.text("inputs_csv");
  if (!csv.empty()) return plan::read_client_inputs_csv(csv).sigma;
  util::Rng rng(cfg.seed, "sigma");
  std::vector<double> out;
  for (std::size_t u = 0; u < clients; ++u)
    out.push_back(cfg.params.number("sigma_mean") * rng.uniform01());
  return out;
}

// What the server knows of the clients before the run: the platform's P_u and B_u (oracle), the
// CSV's (inputs_csv: for the plan and the batches), or, with knowledge: estimated, the
// population's mean capability and communication time for everyone (the prior).
std::vector<ClientInfo> initial_beliefs(const AlgorithmConfig& cfg, std::vector<ClientInfo> c) {
  const std::string& csv = cfg.params.text("inputs_csv");
  const bool estimated = cfg.params.text("knowledge") == "estimated";
  if (!csv.empty()) {
    if (estimated) {
      throw util::InputError(csv +
                             ": key 'algorithm.inputs_csv': expected no inputs_csv with "
                             "knowledge: estimated (the server learns P_u and B_u), found one");
    }
    const plan::ClientInputs ci = plan::read_client_inputs_csv(csv);
    if (ci.P.size() != c.size()) {
      util::throw_input_error(csv, 0, "algorithm.inputs_csv",
                              std::to_string(c.size()) + " client rows (one per client)",
                              std::to_string(ci.P.size()));
    }
    for (std::size_t u = 0; u < c.size(); ++u) c[u].speed = ci.P[u], c[u].comm_time = ci.B[u];
  } else if (estimated) {
    double P = 0, B = 0;
    for (const auto& x : c) P += x.speed / c.size(), B += x.comm_time / c.size();
    for (auto& x : c) x.speed = P, x.comm_time = B;
  }
  return c;
}

// The planner's inputs for rounds first..first+R-1 with a budget T_max, the clients as believed.
plan::PlannerInputs planner_inputs(const AlgorithmConfig& cfg, const std::vector<ClientInfo>& c,
                                   const std::vector<double>& sigma, int L, int first, int R,
                                   double T_max) {
  const Params& a = cfg.params;
  plan::PlannerInputs in;
  for (const auto& x : c) {
    in.P.push_back(x.speed);
    in.B.push_back(x.comm_time);
  }
  in.sigma = sigma;
  in.L = L;
  in.R = R;
  in.first_round = first;
  in.T_max = T_max;
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

double speed_factor(const std::vector<std::pair<double, double>>& changes, double t) {
  double f = 1.0;
  for (const auto& [date, factor] : changes) {
    if (date > t) break;
    f = factor;
  }
  return f;
}

class AdelFl final : public Algorithm {
 public:
  AdelFl(const AlgorithmConfig& cfg, std::vector<ClientInfo> clients, int num_stages)
      : Algorithm(cfg, initial_beliefs(cfg, clients), num_stages),
        truth_(std::move(clients)),
        sigma_(sigmas(cfg, truth_.size())),
        estimated_(cfg.params.text("knowledge") == "estimated"),
        every_(static_cast<int>(cfg.params.number("replan_every"))),
        estimator_(static_cast<int>(truth_.size()), prior(cfg, this->clients())) {
    if (cfg.params.number("replan_every") != every_) {
      throw util::InputError(
          "ADEL-FL: key 'algorithm.replan_every': expected a whole number of "
          "rounds, found " +
          util::short_number(cfg.params.number("replan_every")));
    }
    const plan::Plan p = solve(this->clients(), 1, cfg.rounds, cfg.time_budget);
    objective_ = p.objective;
    objective_uniform_ = p.objective_uniform_m1;
    set_schedule(p.deadlines, p.m, /*partial_stages=*/true, /*partial_steps=*/false);
  }

  std::string plan_note() const override {
    char buf[96];
    std::snprintf(buf, sizeof buf, ", objective %.10g (uniform deadlines, m = 1: %.10g)",
                  objective_, objective_uniform_);
    return buf;
  }

  bool adaptive() const override { return estimated_ || every_ > 0; }

  void observe(const RoundObservation& obs) override {
    if (estimated_) {
      const auto& cost = timing().rel_cost();
      const int L = num_stages();
      for (const auto& c : obs.clients) {
        double work = 0;
        for (int s = L - std::min(c.stages_done, L); s < L; ++s) work += cost[s];
        estimator_.observe_download(c.client, c.download);
        estimator_.observe_compute(c.client, c.batch * work, c.compute);
      }
      estimator_.end_round();
    }
    if (every_ > 0 && obs.round % every_ == 0 && obs.round < config().rounds) {
      replan_from(obs.round + 1);
    }
  }

 private:
  static plan::EstimatorSettings prior(const AlgorithmConfig& cfg,
                                       const std::vector<ClientInfo>& beliefs) {
    plan::EstimatorSettings s;
    s.prior_capability = beliefs.front().speed;  // the population means (initial_beliefs)
    s.prior_comm = beliefs.front().comm_time;
    s.prior_seconds = cfg.params.number("prior_seconds");
    s.forgetting = cfg.params.number("forgetting");
    return s;
  }

  plan::Plan solve(const std::vector<ClientInfo>& beliefs, int first, int R, double T_max) const {
    plan::PlannerInputs in =
        planner_inputs(config(), beliefs, sigma_, num_stages(), first, R, T_max);
    in.timing = timing_model();  // the stage-time law and stage costs in force
    return plan::solve_plan(in);
  }

  // Re-plans rounds first..R with what is spent so far: the estimates, or (oracle) the devices'
  // speeds at the start of round `first`.
  void replan_from(int first) {
    const int R = config().rounds;
    std::vector<ClientInfo> beliefs = truth_;
    const double t = round_start(first);
    for (std::size_t u = 0; u < beliefs.size(); ++u) {
      if (estimated_) {
        beliefs[u].speed = estimator_.capability(static_cast<int>(u));
        beliefs[u].comm_time = estimator_.comm_time(static_cast<int>(u));
      } else if (!config().params.text("inputs_csv").empty()) {
        beliefs[u] = clients()[u];  // the CSV's values: nothing new to learn
      } else if (!config().speed_changes.empty()) {
        beliefs[u].speed *= speed_factor(config().speed_changes[u], t);
      }
    }
    double spent = 0;
    for (int r = 1; r < first; ++r) spent += deadlines()[r - 1];
    const plan::Plan p = solve(beliefs, first, R - first + 1, config().time_budget - spent);
    replan(first, p.deadlines, p.m, std::move(beliefs));
  }

  std::vector<ClientInfo> truth_;  // the platform's P_u, B_u at the start
  std::vector<double> sigma_;
  bool estimated_ = false;
  int every_ = 0;
  plan::SpeedEstimator estimator_;
  double objective_ = 0, objective_uniform_ = 0;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

AlgorithmInfo adel_fl_algorithm() {
  AlgorithmInfo a;
  a.name = "adel-fl";
  a.summary = "ADEL-FL: planned deadlines and batches, layer-wise partial updates";
  a.deadlines = DeadlinePolicy::kPlanned;
  a.aggregations = {Aggregation::kExchangeable, Aggregation::kInclusion, Aggregation::kHajek,
                    Aggregation::kCode, Aggregation::kPlain};
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
      {"knowledge",
       P::kChoice,
       0,
       0,
       "oracle",
       {"oracle", "estimated"},
       "what the server plans with: the true P_u, B_u or estimates from observations"},
      {"replan_every", P::kNumber, 0, 1e6, "0", {}, "re-plan the remaining budget every k rounds"},
      {"prior_seconds", P::kNumber, 1e-9, 1e9, "1", {}, "weight of the speed prior (estimated)"},
      {"forgetting", P::kNumber, 0.01, 1, "1", {}, "per-round discount of old speed observations"},
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
