// Option parsing and the run / validate / platform / plan subcommands.
#include "app/commands.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "io/experiment.hpp"
#include "metrics/recorder.hpp"
#include "platform/platform.hpp"
#include "sim/run.hpp"
#include "util/error.hpp"

#ifndef FEDGRID_GIT_REVISION
#define FEDGRID_GIT_REVISION "unknown"
#endif

namespace fedgrid::app {

namespace fs = std::filesystem;

struct Options {
  std::string scenario;
  std::string out;
  std::vector<std::string> sets;
  std::optional<uint64_t> seed;
  bool quiet = false;
  bool help = false;
  int threads = 0;  // 0 = every core
  std::vector<std::string> engine_args;
};

// Parses the options common to the subcommands; `allowed` lists the flags this one takes.
static Options parse(const std::vector<std::string>& args, const std::string& cmd,
                     const std::string& allowed) {
  Options o;
  auto need_value = [&](std::size_t& i, const std::string& flag) {
    if (i + 1 >= args.size()) throw util::InputError(cmd + ": " + flag + " expects a value");
    return args[++i];
  };
  auto check = [&](const std::string& flag) {
    if (allowed.find(flag) == std::string::npos) {
      throw util::InputError(cmd + ": unknown option '" + flag + "' (see fedgrid " + cmd +
                             " --help)");
    }
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "-o" || a == "--out") {
      check("-o");
      o.out = need_value(i, a);
    } else if (a == "--set") {
      check("--set");
      o.sets.push_back(need_value(i, a));
    } else if (a.rfind("--set=", 0) == 0) {
      check("--set");
      o.sets.push_back(a.substr(6));
    } else if (a == "--seed") {
      check("--seed");
      std::string v = need_value(i, a);
      try {
        std::size_t pos = 0;
        long long s = std::stoll(v, &pos);
        if (pos != v.size() || s < 0) throw std::invalid_argument(v);
        o.seed = static_cast<uint64_t>(s);
      } catch (const std::exception&) {
        throw util::InputError(cmd + ": --seed expects a non-negative integer, found '" + v + "'");
      }
    } else if (a == "--threads") {
      check("--threads");
      std::string v = need_value(i, a);
      try {
        std::size_t pos = 0;
        long t = std::stol(v, &pos);
        if (pos != v.size() || t < 1 || t > 4096) throw std::invalid_argument(v);
        o.threads = static_cast<int>(t);
      } catch (const std::exception&) {
        throw util::InputError(cmd + ": --threads expects an integer in [1, 4096], found '" + v +
                               "'");
      }
    } else if (a == "--quiet" || a == "-q") {
      check("--quiet");
      o.quiet = true;
    } else if (a.rfind("--cfg=", 0) == 0 || a.rfind("--log=", 0) == 0) {
      check("--cfg");
      o.engine_args.push_back(a);
    } else if (!a.empty() && a[0] == '-') {
      throw util::InputError(cmd + ": unknown option '" + a + "' (see fedgrid " + cmd + " --help)");
    } else if (o.scenario.empty()) {
      o.scenario = a;
    } else {
      throw util::InputError(cmd + ": unexpected argument '" + a + "'");
    }
  }
  if (!o.help && o.scenario.empty()) throw util::InputError(cmd + ": expects a SCENARIO.yaml");
  return o;
}

static std::string manifest_json(const io::Scenario& s, const std::string& command_line,
                                 int threads) {
  YAML::Emitter em;
  em << s.resolved;
  std::string j = "{\n";
  j += "  \"fedgrid_version\": \"0.1\",\n";
  j += "  \"git_revision\": " + metrics::json_string(FEDGRID_GIT_REVISION) + ",\n";
  j += "  \"simgrid_version\": " + metrics::json_string(sim::simgrid_version()) + ",\n";
  j += "  \"eigen_version\": \"" + std::to_string(EIGEN_WORLD_VERSION) + "." +
       std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) + "\",\n";
  j += "  \"command\": " + metrics::json_string(command_line) + ",\n";
  j += "  \"scenario_file\": " + metrics::json_string(s.file) + ",\n";
  j += "  \"model_file\": " + metrics::json_string(s.model_file) + ",\n";
  j += "  \"seed\": " + std::to_string(s.seed) + ",\n";
  j += "  \"threads\": " + std::to_string(threads) + ",\n";
  j += "  \"resolved_scenario\": " + metrics::json_string(em.c_str()) + "\n";
  return j + "}\n";
}

static const char* kRunHelp =
    "usage: fedgrid run SCENARIO.yaml [-o DIR] [--set key.path=value]... [--seed N] [--quiet]\n"
    "                   [--threads N] [--cfg=simgrid:option]... [--log=simgrid-log-setting]...\n"
    "Simulates the scenario in SimGrid virtual time with real gradient computations and writes\n"
    "the results to DIR (default results/<scenario name>): rounds.csv, clients.csv, layers.csv,\n"
    "plan.csv, partition.csv, platform.xml (generated platforms), manifest.json and, last,\n"
    "summary.json (present only when the run completed). A progress line per round goes to\n"
    "stderr unless --quiet. --set overrides any scenario key (e.g. --set algorithm.rounds=5).\n"
    "--threads N computes the gradients and evaluations on N threads (default: every core);\n"
    "the result files are the same whatever N (wall.json reports the time split).\n";

int cmd_run(const std::vector<std::string>& args) {
  Options o = parse(args, "run", "-o --set --seed --quiet --cfg --threads");
  if (o.help) {
    std::fputs(kRunHelp, stdout);
    return 0;
  }
  io::Scenario s = io::load_scenario(o.scenario, o.sets, o.seed);
  std::string cmdline = "fedgrid run";
  for (const auto& a : args) cmdline += " " + a;
  sim::RunOptions ro;
  ro.out_dir = o.out.empty() ? "results/" + s.name : o.out;
  ro.quiet = o.quiet;
  ro.engine_args = o.engine_args;
  ro.threads = sim::resolve_threads(o.threads);
  io::Experiment e = io::prepare_experiment(s);
  fs::create_directories(ro.out_dir);
  // Until this run completes, the folder must not look complete (a previous summary.json).
  fs::remove(fs::path(ro.out_dir) / "summary.json");
  metrics::write_file_atomic(ro.out_dir, "manifest.json", manifest_json(s, cmdline, ro.threads));
  sim::run_simulation(e, ro);
  if (!o.quiet) std::fprintf(stderr, "[fedgrid] results written to %s\n", ro.out_dir.c_str());
  return 0;
}

int cmd_validate(const std::vector<std::string>& args) {
  Options o = parse(args, "validate", "--set --seed");
  if (o.help) {
    std::fputs(
        "usage: fedgrid validate SCENARIO.yaml [--set key.path=value]... [--seed N]\n"
        "Loads and checks the scenario, its model, its data files and its platform spec, and\n"
        "prints a one-line summary. Exit code 2 with a file:line message on any problem.\n",
        stdout);
    return 0;
  }
  io::Scenario s = io::load_scenario(o.scenario, o.sets, o.seed);
  io::Experiment e = io::prepare_experiment(s);
  if (s.platform.generate) {
    platform::generate(*s.platform.generate, util::derive_seed(s.seed, "platform"));
  }
  std::printf(
      "ok: %s: %d clients, %s (%zu params, %d stages), %zu train / %zu validation / %zu "
      "test samples, %s for %d rounds\n",
      s.file.c_str(), s.clients, e.model.name().c_str(), e.model.num_params(), e.model.num_stages(),
      e.train.size(), e.validation.size(), e.test.size(), s.algorithm.name.c_str(),
      s.algorithm.rounds);
  return 0;
}

int cmd_platform(const std::vector<std::string>& args) {
  Options o = parse(args, "platform", "-o --set --seed");
  if (o.help || o.out.empty()) {
    std::fputs(
        "usage: fedgrid platform SCENARIO.yaml -o FILE.xml [--seed N] [--set key=value]...\n"
        "Writes the SimGrid platform generated from the scenario's platform.generate section\n"
        "(byte-identical for the same scenario and seed).\n",
        o.help ? stdout : stderr);
    return o.help ? 0 : 2;
  }
  io::Scenario s = io::load_scenario(o.scenario, o.sets, o.seed);
  if (!s.platform.generate) {
    throw util::InputError(s.file +
                           ": key 'platform.generate': expected a generator spec, found "
                           "a platform file");
  }
  platform::Platform p =
      platform::generate(*s.platform.generate, util::derive_seed(s.seed, "platform"));
  fs::path out(o.out);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  metrics::write_file_atomic(out.has_parent_path() ? out.parent_path().string() : ".",
                             out.filename().string(), platform::to_xml(p));
  std::printf("wrote %s: %zu clients, heterogeneity (CV of speeds) %.4f\n", o.out.c_str(),
              p.clients.size(), p.heterogeneity);
  return 0;
}

int cmd_plan(const std::vector<std::string>& args) {
  Options o = parse(args, "plan", "-o --set --seed --cfg");
  if (o.help) {
    std::fputs(
        "usage: fedgrid plan SCENARIO.yaml [-o DIR] [--set key.path=value]... [--seed N]\n"
        "Builds the platform, estimates each client's capability P_u and communication time B_u,\n"
        "and prints the per-round deadlines and batch sizes the algorithm will use (for adel-fl:\n"
        "the solved plan, m* and the objective). With -o, writes DIR/plan.csv.\n",
        stdout);
    return 0;
  }
  io::Scenario s = io::load_scenario(o.scenario, o.sets, o.seed);
  io::Experiment e = io::prepare_experiment(s);
  sim::RunOptions ro;
  ro.out_dir = o.out;
  ro.engine_args = o.engine_args;
  ro.plan_only = true;
  sim::run_simulation(e, ro);
  return 0;
}

}  // namespace fedgrid::app
