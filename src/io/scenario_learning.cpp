// Loader of a scenario's learning side: the `algorithm` section (common keys by the algorithm's
// deadline policy, then the algorithm's own keys from fl/registry.hpp) and `training` (local
// work, the clients' and the server's optimisers, client weights).
#include <limits>

#include "io/scenario_sections.hpp"
#include "util/error.hpp"

namespace fedgrid::io {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::string> algorithm_names() {
  std::vector<std::string> names;
  for (const auto& a : fl::algorithms()) names.push_back(a.name);
  return names;
}

// One of the algorithm's own keys, stored in `out` under spec.key.
void load_param(YamlMap& m, const fl::ParamSpec& spec, const std::string& key,
                const std::string& base, int clients, fl::Params& out) {
  switch (spec.type) {
    case fl::ParamType::kNumber:
      out.set_number(spec.key, m.get_double(key, spec.lo, spec.hi, std::stod(spec.def)));
      break;
    case fl::ParamType::kInteger: {
      auto lo = static_cast<int64_t>(spec.lo), hi = static_cast<int64_t>(spec.hi);
      if (spec.at_most_clients) {  // range and default "clients" depend on the scenario
        m.note_default(key, spec.def, "[" + std::to_string(lo) + ", clients]");
        hi = std::min<int64_t>(hi, clients);
      }
      const int64_t def = spec.def == "clients" ? hi : std::min<int64_t>(std::stoll(spec.def), hi);
      out.set_number(spec.key, static_cast<double>(m.get_int(key, lo, hi, def)));
      break;
    }
    case fl::ParamType::kBool:
      out.set_number(spec.key, m.get_bool(key, spec.def == "true") ? 1.0 : 0.0);
      break;
    case fl::ParamType::kChoice:
      out.set_text(spec.key, m.get_choice(key, spec.choices, spec.def));
      break;
    case fl::ParamType::kPath:
      if (m.has(key)) {
        const std::string path = resolve_path(m.get_string(key), base);
        require_file(m, key, "file", path);
        out.set_text(spec.key, path);
      }
      break;
  }
}

// The algorithm's own keys; "a.b" keys live in the mapping `a` (absent: every default).
fl::Params load_params(YamlMap& m, const fl::AlgorithmInfo& info, const std::string& base,
                       int clients) {
  fl::Params out = fl::default_params(info.name);
  std::vector<std::string> groups;
  for (const auto& spec : info.params) {
    const auto dot = spec.key.find('.');
    if (dot == std::string::npos) {
      load_param(m, spec, spec.key, base, clients, out);
    } else if (std::find(groups.begin(), groups.end(), spec.key.substr(0, dot)) == groups.end()) {
      groups.push_back(spec.key.substr(0, dot));
    }
  }
  for (const auto& group : groups) {
    YamlMap g = m.get_section(group);  // absent: every default
    std::vector<std::string> keys;
    for (const auto& spec : info.params) {
      if (spec.key.rfind(group + ".", 0) == 0) keys.push_back(spec.key.substr(group.size() + 1));
    }
    g.allow(keys);
    for (const auto& spec : info.params) {
      if (spec.key.rfind(group + ".", 0) == 0) {
        load_param(g, spec, spec.key.substr(group.size() + 1), base, clients, out);
      }
    }
    g.finish();
  }
  return out;
}

// Every key any algorithm reads at the top of `algorithm` (a key of another algorithm is then
// reported as not applying, rather than as unknown).
std::vector<std::string> algorithm_keys() {
  std::vector<std::string> keys{"name",          "rounds",         "time_budget",
                                "deadline",      "aggregation",    "clients_per_round",
                                "round_timeout", "inclusion_floor"};
  for (const auto& a : fl::algorithms()) {
    for (const auto& p : a.params) {
      const std::string top = p.key.substr(0, p.key.find('.'));
      if (std::find(keys.begin(), keys.end(), top) == keys.end()) keys.push_back(top);
    }
  }
  return keys;
}

// time_budget, deadline and round_timeout as the algorithm's deadline policy allows them.
void load_deadlines(YamlMap& m, const fl::AlgorithmInfo& info, fl::AlgorithmConfig& a) {
  using fl::DeadlinePolicy;
  a.time_budget = m.get_double("time_budget", 0, kInf, 0.0);
  const bool fixed =
      info.deadlines == DeadlinePolicy::kFixed || info.deadlines == DeadlinePolicy::kOptional;
  if (fixed) {
    a.deadline = m.get_double("deadline", 0, kInf, 0.0);
    if (a.deadline > 0 && a.time_budget > 0) {
      m.fail("deadline", "either 'deadline' or 'time_budget', not both", "both");
    }
  }
  const bool required =
      info.deadlines == DeadlinePolicy::kFixed || info.deadlines == DeadlinePolicy::kPlanned;
  if (required && a.deadline <= 0 && a.time_budget <= 0) {
    m.fail("time_budget", "a positive time budget (or a per-round 'deadline') for " + a.name,
           m.has("time_budget") ? "0" : "nothing");
  }
  // Wait-for-all rounds end at the latest this long after they start (clients still busy are
  // dropped with reason 'timeout'); 0 = wait as long as it takes.
  const bool waits =
      info.deadlines == DeadlinePolicy::kNone ||
      (info.deadlines == DeadlinePolicy::kOptional && a.deadline <= 0 && a.time_budget <= 0);
  if (waits) a.round_timeout = m.get_double("round_timeout", 0, kInf, 0.0);
}

// `aggregation`: one of the rules the algorithm defines (its first by default). `unbiased`, the
// old name of `exchangeable`, is refused with the reason, so that no file silently keeps it.
fl::Aggregation load_aggregation(YamlMap& m, const fl::AlgorithmInfo& info) {
  const std::vector<std::string> names = fl::aggregation_names();
  YAML::Node n = m.get_node("aggregation");
  std::string shown;
  for (const auto& c : names) shown += (shown.empty() ? "" : ", ") + c;
  m.declare("aggregation", "choice", "per algorithm", shown);
  std::string agg = fl::aggregation_name(info.aggregations.front());
  if (n.IsDefined() && !n.IsNull()) {
    if (!n.IsScalar()) m.fail("aggregation", "one of " + shown, describe(n));
    agg = n.Scalar();
  } else {
    m.used_default("aggregation", agg);
  }
  if (agg == "unbiased") {
    m.fail("aggregation",
           "one of " + shown +
               " ('unbiased' is no longer a rule: 'exchangeable' is the former one, the mean over"
               " a stage's contributors / (1 - p_l), unbiased only when every client is equally"
               " likely to reach the stage; 'inclusion' weighs each contributor by 1 / pi_u and"
               " is unbiased for heterogeneous clients; docs/inclusion-probability.md)",
           "'unbiased'");
  }
  const auto it = std::find(names.begin(), names.end(), agg);
  if (it == names.end()) m.fail("aggregation", "one of " + shown, "'" + agg + "'");
  const auto rule = static_cast<fl::Aggregation>(it - names.begin());
  if (std::find(info.aggregations.begin(), info.aggregations.end(), rule) ==
      info.aggregations.end()) {
    std::string ok;
    for (auto r : info.aggregations)
      ok += std::string(ok.empty() ? "" : ", ") + fl::aggregation_name(r);
    m.fail("aggregation", "a rule " + info.name + " defines (" + ok + ")", "'" + agg + "'");
  }
  return rule;
}

}  // namespace

std::pair<fl::AlgorithmConfig, const fl::AlgorithmInfo*> load_algorithm(YamlMap m,
                                                                        const std::string& base,
                                                                        int clients) {
  m.allow(algorithm_keys());
  fl::AlgorithmConfig a;
  a.name = m.get_choice("name", algorithm_names());
  const fl::AlgorithmInfo& info = *fl::find_algorithm(a.name);
  a.rounds = static_cast<int>(m.get_int("rounds", 1, 10000000));
  load_deadlines(m, info, a);
  a.aggregation = load_aggregation(m, info);
  // Inclusion rule only: pi below the floor counts as the floor (biased; 0 = none).
  a.inclusion_floor = m.get_double("inclusion_floor", 0, 1, 0.0);
  if (a.inclusion_floor > 0 && a.aggregation != fl::Aggregation::kInclusion &&
      a.aggregation != fl::Aggregation::kHajek) {
    m.fail("inclusion_floor", "0 unless aggregation is 'inclusion' or 'hajek'",
           util::short_number(a.inclusion_floor) + " with aggregation '" +
               fl::aggregation_name(a.aggregation) + "'");
  }
  a.params = load_params(m, info, base, clients);
  // K of the clients take part in each round (seeded, uniform without replacement); 0 = all.
  // (Asynchronous algorithms have no rounds: their `concurrency` says how many train at once.)
  if (!info.asynchronous) {
    m.note_default("clients_per_round", "clients", "[1, clients]");
    a.clients_per_round = static_cast<int>(m.get_int("clients_per_round", 1, clients, clients));
  }
  m.finish();
  return {a, &info};
}

namespace {

fl::ClientOptimizer load_client_optimizer(YamlMap c, const fl::AlgorithmInfo& info,
                                          std::optional<double>& lr) {
  c.allow({"lr", "momentum", "weight_decay", "state"});
  fl::ClientOptimizer o;
  if (c.has("lr")) lr = c.get_double("lr", 1e-12, 1e6);
  o.momentum = c.get_double("momentum", 0, 0.999999, 0.0);
  o.weight_decay = c.get_double("weight_decay", 0, 1e6, 0.0);
  o.persistent =
      c.get_choice("state", {"reset", "persistent"}, std::string("reset")) == "persistent";
  if (info.name == "fednova" && o.persistent) {
    c.fail("state", "'reset' for fednova (its step normalisation assumes a fresh momentum buffer)",
           "'persistent'");
  }
  if (info.asynchronous && o.persistent) {
    c.fail("state",
           "'reset' for " + info.name + " (asynchronous jobs do not keep client optimiser state)",
           "'persistent'");
  }
  c.finish();
  return o;
}

}  // namespace

void load_training(YamlMap m, const fl::AlgorithmInfo& info, fl::TrainingConfig& t) {
  m.allow({"lr", "momentum", "schedule", "batch_rule", "batch", "local_steps", "local_epochs",
           "client_optimizer", "server_optimizer", "weighting"});
  std::optional<double> client_lr;
  if (m.has("client_optimizer")) {
    t.client = load_client_optimizer(m.get_map("client_optimizer"), info, client_lr);
  }
  if (client_lr) {
    if (m.has("lr")) {
      m.fail("lr", "either training.lr or training.client_optimizer.lr, not both", "both");
    }
    t.lr = *client_lr;
  } else {
    t.lr = m.get_double("lr", 1e-12, 1e6);
  }
  if (info.own_server_step) {  // its own rule moves the model (e.g. FedAsync's mixing)
    for (const char* key : {"momentum", "server_optimizer", "weighting"}) {
      if (m.has(key)) {
        m.fail(key, "no value: " + info.name + " has no server optimiser or client weights",
               describe(m.get_node(key)));
      }
    }
    t.server_momentum = 0;
  } else if (m.has("server_optimizer")) {
    if (m.has("momentum")) {
      m.fail("momentum",
             "no value: with training.server_optimizer the server's momentum is "
             "server_optimizer.momentum",
             "a momentum here too");
    }
    YamlMap s = m.get_map("server_optimizer");
    s.allow({"lr", "momentum"});
    t.server_lr = s.get_double("lr", 1e-12, 1e6, 1.0);
    t.server_momentum = s.get_double("momentum", 0, 0.999999, 0.0);
    s.finish();
  } else {
    t.server_momentum = m.get_double("momentum", 0, 0.999999, 0.9);
  }
  t.inverse_schedule =
      m.get_choice("schedule", {"inverse", "constant"}, std::string("inverse")) == "inverse";
  const std::string rule =
      m.get_choice("batch_rule", {"fixed", "per_round", "first_round"}, std::string("fixed"));
  t.batch_rule = rule == "fixed"       ? fl::BatchRule::kFixed
                 : rule == "per_round" ? fl::BatchRule::kPerRound
                                       : fl::BatchRule::kFirstRound;
  if (t.batch_rule == fl::BatchRule::kFixed) {
    t.batch = static_cast<int>(m.get_int("batch", 1, kIntMax));
  } else if (info.asynchronous) {
    m.fail("batch_rule", "fixed for " + info.name + " (the paper's rule needs round deadlines)",
           "'" + rule + "'");
  }
  if (m.has("local_epochs")) {
    if (m.has("local_steps")) {
      m.fail("local_steps", "either local_steps or local_epochs, not both", "both");
    }
    t.local_epochs = static_cast<int>(m.get_int("local_epochs", 1, 10000));
    t.local_work_columns = true;
  } else {
    t.local_work_columns = m.has("local_steps");
    t.local_steps = static_cast<int>(m.get_int("local_steps", 1, 1000000, 1));
  }
  if (info.one_local_step && (t.local_steps != 1 || t.local_epochs > 0)) {
    const std::string key = t.local_epochs > 0 ? "local_epochs" : "local_steps";
    m.fail(key,
           "one local step (local_steps: 1) for " + info.name +
               " (its layer-wise partial updates are defined for one backward pass; "
               "docs/local-training.md)",
           t.local_epochs > 0 ? std::to_string(t.local_epochs) + " epochs"
                              : std::to_string(t.local_steps));
  }
  if (!info.own_server_step) {
    t.weighting =
        m.get_choice("weighting", {"uniform", "samples"}, std::string("uniform")) == "samples"
            ? fl::Weighting::kSamples
            : fl::Weighting::kUniform;
  }
  m.finish();
}

}  // namespace fedgrid::io
