// Reads run folders (summary.json, wall.json, rounds.csv, manifest.json) and writes the sweep's
// index.csv and aggregate.csv.
#include "app/sweep_results.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "metrics/milestones.hpp"
#include "metrics/recorder.hpp"
#include "util/json.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;
using metrics::fmt;
using metrics::kNaN;

// summary.json as written by fedgrid run, whole (none if missing or cut short, e.g. a copy that
// ran out of space: such a file must not count).
static std::optional<util::Json> whole_summary(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "summary.json", std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  util::Json j = util::Json::parse(text.str(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

// j[key] == true (false when absent).
static bool says(const std::optional<util::Json>& j, const char* key) {
  if (!j) return false;
  const auto it = j->find(key);
  return it != j->end() && *it == true;
}

bool run_matches(const std::string& dir, const RunExpectation& expect) {
  const std::string path = (fs::path(dir) / "manifest.json").string();
  if (!fs::exists(path)) return false;
  // Compared as values (nlohmann::json: unordered objects, 1 == 1.0), not as text.
  const nlohmann::json manifest = util::read_json_file(path, "the manifest.json of a FedGrid run");
  if (!manifest.is_object()) return false;
  const auto resolved = manifest.find("resolved_scenario");
  const auto seed = manifest.find("seed");
  return resolved != manifest.end() && *resolved == expect.resolved && seed != manifest.end() &&
         *seed == expect.seed;
}

bool run_is_complete(const std::string& dir, const RunExpectation& expect) {
  // A stopped run leaves summary.json with "complete": false (fedgrid run --resume continues it).
  return says(whole_summary(dir), "complete") && run_matches(dir, expect);
}

bool run_is_finished(const std::string& dir, const RunExpectation& expect) {
  const std::optional<util::Json> s = whole_summary(dir);
  return (says(s, "complete") || says(s, "diverged")) && run_matches(dir, expect);
}

bool run_can_resume(const std::string& dir, const RunExpectation& expect) {
  return fs::exists(fs::path(dir) / "checkpoint") && run_matches(dir, expect);
}

static std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

// Accuracy at the time limit and time to target from rounds.csv (rounds in time order): the
// same reduction as the run's own summary.json (metrics::Milestones).
static void read_rounds(const fs::path& file, double limit, std::optional<double> target,
                        RunResult& r) {
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line)) return;
  std::vector<std::string> head = split_csv_line(line);
  int t_end = -1, acc = -1, loss = -1, step = -1;
  for (int i = 0; i < static_cast<int>(head.size()); ++i) {
    if (head[i] == "t_end") t_end = i;
    if (head[i] == "test_accuracy") acc = i;
    if (head[i] == "test_loss") loss = i;
    if (head[i] == "round" || head[i] == "version") step = i;
  }
  if (t_end < 0 || acc < 0) return;
  metrics::Milestones m(limit, target);
  long row = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f = split_csv_line(line);
    ++row;
    if (static_cast<int>(f.size()) <= std::max(t_end, acc) || f[acc].empty()) continue;
    const bool has_loss = loss >= 0 && loss < static_cast<int>(f.size()) && !f[loss].empty();
    const bool has_step = step >= 0 && step < static_cast<int>(f.size());
    m.observe(has_step ? std::stol(f[step]) : row, std::stod(f[t_end]), std::stod(f[acc]),
              has_loss ? std::stod(f[loss]) : kNaN);
  }
  r.test_accuracy_at_limit = m.accuracy_at_limit;
  r.time_to_target = m.time_to_target;
}

RunResult read_run(const std::string& dir, const RunExpectation& expect,
                   std::optional<double> target_accuracy) {
  RunResult r;
  r.rounds = r.virtual_time = r.final_test_accuracy = r.test_accuracy_at_limit = kNaN;
  r.time_to_target = r.heterogeneity = r.wall_seconds = kNaN;
  r.time_limit = expect.time_limit;
  const fs::path d(dir);
  if (!fs::exists(d)) return r;
  const std::optional<util::Json> s = whole_summary(dir);
  if (!s) {  // none, or cut short
    r.status = fs::exists(d / "checkpoint") && run_matches(dir, expect) ? "stopped" : "incomplete";
    return r;
  }
  const std::string summary = (d / "summary.json").string();
  auto number = [&](const util::Json& j, const char* key, const std::string& path) {
    return util::json_number_at(j, key, path, kNaN);
  };
  if (!run_is_complete(dir, expect)) {
    // Diverged; stopped by a signal with a checkpoint of this very run (the next sweep resumes
    // it); or written by another scenario or seed.
    r.status = run_is_finished(dir, expect)  ? "diverged"
               : run_can_resume(dir, expect) ? "stopped"
                                             : "stale";
    if (r.status == "diverged") {  // how far it got; its accuracies are not results
      r.rounds = number(*s, "rounds", summary);
      r.virtual_time = number(*s, "virtual_time", summary);
      r.heterogeneity = number(*s, "speed_cv", summary);
    }
    return r;
  }
  r.status = "complete";
  const auto algo = s->find("algorithm");
  if (algo != s->end() && algo->is_string()) r.algorithm = algo->get<std::string>();
  r.rounds = number(*s, "rounds", summary);
  r.virtual_time = number(*s, "virtual_time", summary);
  r.final_test_accuracy = number(*s, "final_test_accuracy", summary);
  r.heterogeneity = number(*s, "speed_cv", summary);
  const std::string wall = (d / "wall.json").string();
  if (fs::exists(wall)) {
    const util::Json w = util::read_json_file(wall, "the wall.json of a FedGrid run");
    r.wall_seconds = w.is_object() ? number(w, "wall_seconds", wall) : kNaN;
  }
  read_rounds(d / "rounds.csv", std::isnan(r.time_limit) ? INFINITY : r.time_limit, target_accuracy,
              r);
  return r;
}

static std::string axes_header(const SweepSpec& spec, bool with_seed) {
  std::string h;
  for (const auto& a : spec.axes) {
    if (with_seed || a.kind != "seed") h += "," + a.name;
  }
  return h;
}

std::string index_csv(const SweepSpec& spec, const std::vector<RunSpec>& runs,
                      const std::vector<RunResult>& results) {
  std::string s = "id" + axes_header(spec, true) +
                  ",algorithm,status,rounds,virtual_time,final_test_accuracy,time_limit,"
                  "test_accuracy_at_limit,time_to_target,heterogeneity,wall_seconds\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = results[i];
    s += runs[i].id;
    for (const auto& l : runs[i].labels) s += "," + l;
    s += "," + r.algorithm + "," + r.status + "," + fmt(r.rounds) + "," + fmt(r.virtual_time) +
         "," + fmt(r.final_test_accuracy) + "," + fmt(r.time_limit) + "," +
         fmt(r.test_accuracy_at_limit) + "," + fmt(r.time_to_target) + "," + fmt(r.heterogeneity) +
         "," + fmt(r.wall_seconds) + "\n";
  }
  return s;
}

// Mean and Student-t 95% half-width of the finite values; NaN where undefined.
static std::string mean_ci(const std::vector<double>& xs) {
  std::vector<double> v;
  for (double x : xs)
    if (!std::isnan(x)) v.push_back(x);
  const double n = static_cast<double>(v.size());
  if (v.empty()) return ",";
  double mean = 0, ss = 0;
  for (double x : v) mean += x / n;
  for (double x : v) ss += (x - mean) * (x - mean);
  if (v.size() < 2) return fmt(mean) + ",";
  const bool equal = std::equal(v.begin() + 1, v.end(), v.begin());
  const double sd = equal ? 0.0 : std::sqrt(ss / (n - 1));
  return fmt(mean) + "," +
         fmt(student_t_quantile(0.975, static_cast<int>(v.size()) - 1) * sd / std::sqrt(n));
}

std::string aggregate_csv(const SweepSpec& spec, const std::vector<RunSpec>& runs,
                          const std::vector<RunResult>& results) {
  const char* metrics[] = {"final_test_accuracy",
                           "test_accuracy_at_limit",
                           "time_to_target",
                           "virtual_time",
                           "rounds",
                           "heterogeneity",
                           "wall_seconds"};
  std::string s = axes_header(spec, false);
  s = (s.empty() ? "" : s.substr(1) + ",") + "algorithm,runs,planned,reached";
  for (const char* m : metrics) s += std::string(",") + m + "_mean," + m + "_ci95";
  s += "\n";
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::string key;
    for (std::size_t a = 0; a < spec.axes.size(); ++a) {
      if (spec.axes[a].kind != "seed") key += runs[i].labels[a] + ",";
    }
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(i);
  }
  for (const auto& key : order) {
    std::vector<std::vector<double>> cols(7);
    std::string algorithm;
    int complete = 0, reached = 0;
    for (std::size_t i : groups[key]) {
      const RunResult& r = results[i];
      if (r.status != "complete") continue;
      ++complete;
      reached += std::isnan(r.time_to_target) ? 0 : 1;
      if (algorithm.empty()) algorithm = r.algorithm;
      if (algorithm != r.algorithm) algorithm = "mixed";
      const double v[] = {r.final_test_accuracy,
                          r.test_accuracy_at_limit,
                          r.time_to_target,
                          r.virtual_time,
                          r.rounds,
                          r.heterogeneity,
                          r.wall_seconds};
      for (int c = 0; c < 7; ++c) cols[c].push_back(v[c]);
    }
    s += key + algorithm + "," + std::to_string(complete) + "," +
         std::to_string(groups[key].size()) + "," + std::to_string(reached);
    for (const auto& c : cols) s += "," + mean_ci(c);
    s += "\n";
  }
  return s;
}

// Continued fraction of the incomplete beta function (modified Lentz), as in Numerical Recipes.
static double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < tiny ? tiny : d);
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    for (int odd = 0; odd < 2; ++odd) {
      const double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + num * d;
      d = 1 / (std::fabs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      c = std::fabs(c) < tiny ? tiny : c;
      h *= d * c;
      if (odd && std::fabs(d * c - 1) < 1e-15) return h;
    }
  }
  return h;
}

// Regularised incomplete beta I_x(a, b).
static double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double student_t_quantile(double p, int df) {
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  // For t >= 0: P(T <= t) = 1 - I_{df / (df + t^2)}(df / 2, 1 / 2) / 2, increasing in t.
  auto cdf = [df](double t) { return 1 - 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t)); };
  double lo = 0, hi = 1e6;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (cdf(mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace fedgrid::app
