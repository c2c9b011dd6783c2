// How long a client needs for its round's stages under the stage-time law in force, as
// probabilities: the planner's p_{l,t} and the inclusion probabilities pi_{u,l,t} both come from
// here (docs/inclusion-probability.md, docs/stage-time-laws.md). Times are in units of
// (batch / P_u): stage s of a step takes rel_cost[s] x X_s units, X_s i.i.d. from the law (mean 1),
// stages run from the output (s = L-1) to the input (s = 0), step after step.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "plan/stage_laws.hpp"

namespace fedgrid::plan {

// P(S <= x) and P(S > x) of a completion time S, each without cancellation where possible.
struct Within {
  double p = 0;  // P(S <= x)
  double q = 1;  // P(S > x)
};

// For the planner: q = P(S > x), f = dP/dx (density), df = d2P/dx2.
struct Tail {
  double q = 1, f = 0, df = 0;
};

class CompletionModel {
 public:
  // rel_cost: one entry per stage (input side first), mean 1 (uniform cost: all 1), >= 0 and not
  // all 0. Throws std::invalid_argument for an invalid law or cost.
  CompletionModel(StageLaw law, std::vector<double> rel_cost);
  // The paper's model: exponential stages of equal cost.
  static CompletionModel paper(int stages);
  CompletionModel(const CompletionModel& o) : CompletionModel(o.law_, o.cost_) {}
  CompletionModel& operator=(const CompletionModel&) = delete;

  const StageLaw& law() const { return law_; }
  const std::vector<double>& rel_cost() const { return cost_; }
  int stages() const { return static_cast<int>(cost_.size()); }
  // Exponential law with equal stage costs: the closed forms of plan/timing_stats.hpp.
  bool paper_model() const { return law_.kind == LawKind::kExponential && uniform_; }
  // A closed form exists for sums of equal-cost stages (exponential, gamma, shifted,
  // deterministic).
  bool closed_form() const;

  // S_n: the first n stages of one step (output first), n in 1..L, or n = k L: k whole steps of
  // the same batch. Throws std::invalid_argument for other n.
  Within within(long n, double x) const;
  // The same with the density and its derivative (planner), n in 1..L.
  Tail tail(int n, double x) const;
  // W = sum_j f_j Y_j, Y_j i.i.d. copies of one step's L stages (f_j = batch of step j / batch).
  Within steps_within(const std::vector<double>& factors, double x) const;
  // The smallest value S_n (n stages of one batch, output first, cycling) can take, in units.
  double minimum(long n) const;
  // E[exp(-lambda W) ; W <= x] (a device failing at rate lambda must outlive the work W).
  double survive_within(const std::vector<double>& factors, double lambda, double x) const;

 private:
  struct Table;  // CDF of a sum on a grid (completion.cpp)
  const Table& prefix_table() const;
  const Table& steps_table(std::vector<double> factors) const;
  Within closed(long n, double x) const;
  Tail gamma_tail(int n, double x) const;
  double deterministic_sum(long n) const;

  StageLaw law_;
  std::vector<double> cost_;
  bool uniform_ = true;
  std::vector<double> lgamma_;  // gamma law: lgamma(n k), n = 1..L
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Table> prefix_;  // the L prefixes of one step
  mutable std::map<std::vector<double>, std::shared_ptr<const Table>> steps_;
};

}  // namespace fedgrid::plan
