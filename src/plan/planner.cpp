// Exact ADEL-FL solver: KKT water-filling on the deadlines for fixed m, Brent search on m.
#include "plan/planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "util/error.hpp"

namespace fedgrid::plan {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string num(double v) { return util::short_number(v); }

// Water-filling for one m. With h(T) = -dC/dT(T, m) > 0 decreasing (C convex in T), the KKT
// conditions of  min sum_t w_t C(T_t)  s.t.  sum_t T_t = T_max, lb <= T_t <= hi  are
//   T_t = clamp(h^{-1}(lambda / w_t), lb, hi),  and lambda solves S(lambda) = sum_t T_t = T_max.
// Root finding in mu = log(lambda): dT_t/dmu = h/h' = C_T/C_TT for unclamped rounds, 0 otherwise.
class WaterFilling {
 public:
  WaterFilling(const Objective& obj, double m) : obj_(obj), m_(m) {
    const PlannerInputs& in = obj.inputs();
    lb_ = std::max({in.T_min, obj.min_feasible_deadline(m), 1e-9 * in.T_max / in.R});
    hi_ = in.T_max - (in.R - 1) * lb_;
    feasible_ = in.R * lb_ <= in.T_max * (1.0 + 1e-12);
    if (!feasible_) return;
    // C constant to rounding on [lb, hi] (small m: p underflows): every split is optimal.
    const double c_hi = obj.stage_cost(hi_, m).c;
    flat_ = obj.stage_cost(lb_, m).c - c_hi <= 1e-12 * c_hi;
    log_h_lb_ = std::min(obj.log_marginal(lb_, m).log_h, 700.0);  // +inf at a wall
    log_h_hi_ = obj.log_marginal(hi_, m).log_h;
  }

  bool feasible() const { return feasible_; }

  // Optimal deadlines into T; its content, if of size R, is the warm start.
  void solve(std::vector<double>& T, double tol) const;

 private:
  struct Root {
    double T;
    double dT_dmu;
  };
  Root deadline_for(double log_y, double guess) const;
  double excess(double mu, double mu_prev, std::vector<double>& T, std::vector<double>& dT,
                double& slope) const;

  const Objective& obj_;
  double m_;
  double lb_ = 0.0, hi_ = 0.0, log_h_lb_ = 0.0, log_h_hi_ = 0.0;
  bool feasible_ = false;
  bool flat_ = false;
};

// Solves log h(T) = log_y on [lb, hi] by Newton (safeguarded by bisection on the bracket).
WaterFilling::Root WaterFilling::deadline_for(double log_y, double guess) const {
  if (log_h_lb_ <= log_y) return {lb_, 0.0};
  if (log_h_hi_ >= log_y) return {hi_, 0.0};
  double a = lb_, b = hi_;  // log h(a) > log_y > log h(b)
  double T = (guess > a && guess < b) ? guess : 0.5 * (a + b);
  double slope = 0.0;
  for (int it = 0; it < 200; ++it) {
    const LogMarginal g = obj_.log_marginal(T, m_);
    const double phi = g.log_h - log_y;
    if (phi > 0.0) {
      a = T;
    } else {
      b = T;
    }
    slope = 1.0 / g.dlog_h_dT;  // dT/dmu = h/h' at the root
    double next = T - phi * slope;
    if (!(g.dlog_h_dT < 0.0) || !(next > a && next < b)) next = 0.5 * (a + b);
    if (std::abs(next - T) <= 1e-12 * T || b - a <= 1e-14 * b) return {next, slope};
    T = next;
  }
  return {T, slope};
}

// S(mu) - T_max with S = sum_t T_t(mu), returns dS/dmu in slope. T and dT (= dT_t/dmu) hold the
// values at mu_prev on entry; the first-order prediction T + dT (mu - mu_prev) starts Newton.
double WaterFilling::excess(double mu, double mu_prev, std::vector<double>& T,
                            std::vector<double>& dT, double& slope) const {
  const std::vector<double>& w = obj_.weights();
  double sum = 0.0;
  slope = 0.0;
  for (std::size_t t = 0; t < w.size(); ++t) {
    const double predicted = T[t] + dT[t] * (mu - mu_prev);
    const Root r =
        deadline_for(mu - std::log(w[t]), predicted > lb_ && predicted < hi_ ? predicted : T[t]);
    T[t] = r.T;
    dT[t] = r.dT_dmu;
    sum += r.T;
    slope += r.dT_dmu;
  }
  return sum - obj_.inputs().T_max;
}

void WaterFilling::solve(std::vector<double>& T, double tol) const {
  const PlannerInputs& in = obj_.inputs();
  const std::vector<double>& w = obj_.weights();
  if (T.size() != static_cast<std::size_t>(in.R) || in.R == 1 || flat_) {
    T.assign(in.R, in.T_max / in.R);
  }
  if (in.R == 1 || flat_) return;
  const auto [w_min, w_max] = std::minmax_element(w.begin(), w.end());
  double lo = std::log(*w_min) + log_h_hi_;  // every T_t = hi: S >= T_max
  double hi = std::log(*w_max) + log_h_lb_;  // every T_t = lb: S <= T_max
  // Start from the multiplier that makes a middle round's T_t optimal (exact for a warm start).
  const std::size_t mid = w.size() / 2;
  const double t_mid = std::clamp(T[mid], lb_ + 1e-9 * (hi_ - lb_), hi_ - 1e-9 * (hi_ - lb_));
  double mu = std::log(w[mid]) + obj_.log_marginal(t_mid, m_).log_h;
  if (!(mu > lo && mu < hi)) mu = 0.5 * (lo + hi);
  std::vector<double> dT(in.R, 0.0);
  double mu_prev = mu;
  for (int it = 0; it < 300; ++it) {
    double slope = 0.0;
    const double s = excess(mu, mu_prev, T, dT, slope);
    mu_prev = mu;
    if (std::abs(s) <= tol * in.T_max) break;
    (s > 0.0 ? lo : hi) = mu;
    double next = mu - s / slope;
    if (!(slope < 0.0) || !(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (hi - lo <= 1e-15 * (1.0 + std::abs(mu))) break;
    mu = next;
  }
  // Spread the last rounding residual over the unclamped rounds so that sum T_t = T_max.
  double residual = in.T_max;
  int free_rounds = 0;
  for (double t : T) {
    residual -= t;
    if (t > lb_ && t < hi_) ++free_rounds;
  }
  if (free_rounds == 0) return;
  for (double& t : T)
    if (t > lb_ && t < hi_) t += residual / free_rounds;
}

// Brent's minimisation without derivatives on [a, b] (Forsythe, Malcolm & Moler, fmin).
template <class F>
double brent_minimise(F&& f, double a, double b, double tol) {
  const double c = 0.5 * (3.0 - std::sqrt(5.0));
  const double eps = std::sqrt(std::numeric_limits<double>::epsilon());
  double v = a + c * (b - a), w = v, x = v, e = 0.0, d = 0.0;
  double fx = f(x), fv = fx, fw = fx;
  for (int it = 0; it < 200; ++it) {
    const double xm = 0.5 * (a + b);
    const double tol1 = eps * std::abs(x) + tol / 3.0;
    const double tol2 = 2.0 * tol1;
    if (std::abs(x - xm) <= tol2 - 0.5 * (b - a)) break;
    bool golden = true;
    if (std::abs(e) > tol1) {  // try a parabola through x, v, w
      double r = (x - w) * (fx - fv);
      double q = (x - v) * (fx - fw);
      double p = (x - v) * q - (x - w) * r;
      q = 2.0 * (q - r);
      if (q > 0.0) p = -p;
      q = std::abs(q);
      r = e;
      e = d;
      if (std::abs(p) < std::abs(0.5 * q * r) && p > q * (a - x) && p < q * (b - x)) {
        d = p / q;
        const double u = x + d;
        if (u - a < tol2 || b - u < tol2) d = xm >= x ? tol1 : -tol1;
        golden = false;
      }
    }
    if (golden) {
      e = (x >= xm ? a : b) - x;
      d = c * e;
    }
    const double u = x + (std::abs(d) >= tol1 ? d : (d > 0.0 ? tol1 : -tol1));
    const double fu = f(u);
    if (fu <= fx) {
      (u >= x ? a : b) = x;
      v = w, fv = fw, w = x, fw = fx, x = u, fx = fu;
    } else {
      (u < x ? a : b) = u;
      if (fu <= fw || w == x) {
        v = w, fv = fw, w = u, fw = fu;
      } else if (fu <= fv || v == x || v == w) {
        v = u, fv = fu;
      }
    }
  }
  return x;
}

// Largest m whose minimal feasible deadline fits R times into the budget; checks feasibility.
double feasible_m_max(const Objective& obj) {
  const PlannerInputs& in = obj.inputs();
  if (in.R * in.T_min > in.T_max * (1.0 + 1e-12)) {  // equality (all T_t = T_min) is allowed
    throw util::InputError("ADEL-FL plan infeasible: R*T_min = " + std::to_string(in.R) + "*" +
                           num(in.T_min) + " = " + num(in.R * in.T_min) +
                           " > time_budget = " + num(in.T_max));
  }
  const double x_star = obj.min_feasible_ratio();
  double m_hi = in.m_max;
  if (x_star > 0.0) m_hi = std::min(m_hi, in.T_max / (in.R * x_star) * (1.0 - 1e-12));
  if (in.m_min > m_hi) {
    throw util::InputError("ADEL-FL plan infeasible: with m >= m_min = " + num(in.m_min) +
                           " every deadline must be >= m_min*x* = " + num(in.m_min * x_star) +
                           " (keeps p_{1,t} <= 1/2 - eps), so R*T = " + std::to_string(in.R) + "*" +
                           num(in.m_min * x_star) + " = " + num(in.R * in.m_min * x_star) +
                           " > time_budget = " + num(in.T_max));
  }
  return m_hi;
}

}  // namespace

double solve_deadlines(const Objective& objective, double m, std::vector<double>& T, double tol) {
  const WaterFilling wf(objective, m);
  if (!(m > 0.0) || !wf.feasible()) {
    T.clear();
    return kInf;
  }
  wf.solve(T, tol);
  return objective.value(T, m);
}

Plan solve_plan(const PlannerInputs& in) {
  const Objective obj(in);
  const double m_hi = feasible_m_max(obj);
  const double m_lo = in.m_min;
  std::vector<double> T;
  const auto F = [&](double m) { return solve_deadlines(obj, m, T, 1e-10); };
  // Coarse scan (m = 0 itself is skipped: B(0) is infinite), then Brent around the best point.
  const int n = 16;
  const int first = m_lo > 0.0 ? 0 : 1;
  int best = first;
  double best_f = kInf;
  const auto grid = [&](int i) { return i >= n ? m_hi : m_lo + (m_hi - m_lo) * i / n; };
  for (int i = first; i <= n && m_hi > m_lo; ++i) {
    const double f = solve_deadlines(obj, grid(i), T, 1e-7);
    if (f < best_f) best_f = f, best = i;
  }
  double m_best = grid(best);
  if (m_hi > m_lo) {
    solve_deadlines(obj, m_best, T, 1e-10);  // warm start for Brent
    const double a = grid(std::max(best - 1, 0));
    const double b = grid(std::min(best + 1, n));
    const double m_brent = brent_minimise(F, a, b, 1e-7);
    if (F(m_brent) <= best_f) m_best = m_brent;
  }
  Plan plan;
  plan.m = m_best;
  plan.objective = solve_deadlines(obj, m_best, plan.deadlines, 1e-10);
  plan.objective_uniform_m1 = obj.value(std::vector<double>(in.R, in.T_max / in.R), 1.0);
  return plan;
}

}  // namespace fedgrid::plan
