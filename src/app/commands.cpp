// Option parsing and the run / validate / platform / plan subcommands.
#include "app/commands.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>

#include "app/run_folder.hpp"
#include "io/checkpoint_check.hpp"
#include "io/experiment.hpp"
#include "io/fingerprint.hpp"
#include "io/simgrid_cfg.hpp"
#include "io/yaml_guard.hpp"
#include "metrics/recorder.hpp"
#include "platform/platform.hpp"
#include "sim/run.hpp"
#include "util/dir_lock.hpp"
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
  bool force = false;  // run: replace a finished or stopped run in -o DIR
  int threads = 0;     // 0 = every core
  std::vector<std::string> engine_args;
  int checkpoint_every = 0;
  std::string resume;  // run folder to continue
};

// A whole-string integer in [lo, hi], or an InputError naming the flag.
static long parse_count(const std::string& cmd, const std::string& flag, const std::string& v,
                        long lo, long hi) {
  try {
    std::size_t pos = 0;
    long n = std::stol(v, &pos);
    if (pos == v.size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  throw util::InputError(cmd + ": " + flag + " expects an integer in [" + std::to_string(lo) +
                         ", " + std::to_string(hi) + "], found '" + v + "'");
}

// A seed in [0, 2^64 - 1], digits only.
static uint64_t parse_seed(const std::string& cmd, const std::string& v) {
  bool ok = !v.empty() && v.size() <= 20;
  for (char c : v) ok = ok && c >= '0' && c <= '9';
  errno = 0;
  const unsigned long long n = ok ? std::strtoull(v.c_str(), nullptr, 10) : 0;
  if (!ok || errno == ERANGE) {
    throw util::InputError(cmd + ": --seed expects an integer in [0, " +
                           std::to_string(std::numeric_limits<uint64_t>::max()) + "], found '" + v +
                           "'");
  }
  return n;
}

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
      o.seed = parse_seed(cmd, need_value(i, a));
    } else if (a == "--threads") {
      check("--threads");
      o.threads = static_cast<int>(parse_count(cmd, a, need_value(i, a), 1, 4096));
    } else if (a == "--checkpoint-every") {
      check("--checkpoint-every");
      o.checkpoint_every = static_cast<int>(parse_count(cmd, a, need_value(i, a), 1, 1 << 30));
    } else if (a == "--resume") {
      check("--resume");
      o.resume = need_value(i, a);
    } else if (a == "--quiet" || a == "-q") {
      check("--quiet");
      o.quiet = true;
    } else if (a == "--force") {
      check("--force");
      o.force = true;
    } else if (a.rfind("--cfg=", 0) == 0 || a.rfind("--log=", 0) == 0) {
      check("--cfg");
      io::check_engine_argument(a);  // an allow-list, before SimGrid sees anything
      o.engine_args.push_back(a);
    } else if (!a.empty() && a[0] == '-') {
      throw util::InputError(cmd + ": unknown option '" + a + "' (see fedgrid " + cmd + " --help)");
    } else if (o.scenario.empty()) {
      o.scenario = a;
    } else {
      throw util::InputError(cmd + ": unexpected argument '" + a + "'");
    }
  }
  if (!o.resume.empty()) {
    if (!o.scenario.empty() || !o.sets.empty() || o.seed || !o.out.empty() || o.force) {
      throw util::InputError(cmd +
                             ": --resume DIR takes the scenario, -o, --set and --seed of the "
                             "interrupted run; give none of them (nor --force)");
    }
  } else if (!o.help && o.scenario.empty()) {
    throw util::InputError(cmd + ": expects a SCENARIO.yaml");
  }
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
    "                   [--threads N] [--checkpoint-every K] [--force] [--cfg=simgrid:option]...\n"
    "                   [--log=simgrid-log-setting]...\n"
    "       fedgrid run --resume DIR [--threads N] [--checkpoint-every K] [--quiet] [--cfg=...]\n"
    "Simulates the scenario in SimGrid virtual time with real gradient computations and writes\n"
    "the results to DIR (default results/<scenario name>): rounds.csv, clients.csv, layers.csv,\n"
    "plan.csv, partition.csv, platform.xml (generated platforms), manifest.json and, last,\n"
    "summary.json (present only when the run completed). A progress line per round goes to\n"
    "stderr unless --quiet. --set overrides any scenario key (e.g. --set algorithm.rounds=5).\n"
    "--threads N computes the gradients and evaluations on N threads (default: every core);\n"
    "the result files are the same whatever N (wall.json reports the time split).\n"
    "SIGINT/SIGTERM stop the run after the current round: the files hold the finished rounds,\n"
    "summary.json says \"complete\": false, DIR/checkpoint is written and the exit code is\n"
    "128 + the signal. --checkpoint-every K also writes DIR/checkpoint every K rounds (model,\n"
    "optimiser, clock, file sizes). --resume DIR continues a stopped or killed run from its\n"
    "checkpoint with the same scenario and options; the result files are then byte-identical\n"
    "to those of an uninterrupted run (wall.json aside).\n"
    "One process writes DIR at a time (a lock, released when the process ends, however it\n"
    "ends): a second one exits 2 naming the first one's pid. A DIR that holds a finished run\n"
    "is not overwritten unless --force; one with a stopped run asks for --resume (or --force).\n"
    "A NaN or infinite loss or parameter stops the run at that round: summary.json says\n"
    "\"diverged\": true and the round, NaN cells read 'nan' (empty means 'no value').\n"
    "Exit codes: 0 complete, 2 bad input, 1 internal or system error (e.g. a full disk: the\n"
    "run stops at that round with one message, no summary.json), 3 diverged, 128 + signal\n"
    "when stopped.\n";

// How to start a run again: its scenario (absolute path), overrides, seed and SimGrid options,
// and the resolved scenario to detect a changed file (stored in checkpoints).
static std::string resolved_text(const io::Scenario& s) {
  YAML::Emitter em;
  em << s.resolved;
  return em.c_str();
}

// The build a run's results come from (they may differ in the last bits across builds).
static std::string build_text() {
  return io::build_fingerprint() + "; git " + FEDGRID_GIT_REVISION + "; simgrid " +
         sim::simgrid_version() + "; eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
         std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION);
}

// What a checkpoint says the run was started from (see invocation_yaml).
struct Recorded {
  std::string resolved, inputs, build;
};

static std::string invocation_yaml(const Options& o, const io::Scenario& s,
                                   const std::string& inputs) {
  YAML::Node n;
  n["scenario"] = fs::absolute(o.scenario).lexically_normal().string();
  for (const auto& v : o.sets) n["set"].push_back(v);
  if (o.seed) n["seed"] = std::to_string(*o.seed);
  for (const auto& v : o.engine_args) n["engine_args"].push_back(v);
  n["resolved"] = resolved_text(s);
  n["inputs"] = inputs;  // every file read, by size and digest (io/fingerprint.hpp)
  n["build"] = build_text();
  YAML::Emitter em;
  em << n;
  return std::string(em.c_str()) + "\n";
}

// Turns the checkpoint's invocation back into options (for --resume).
static Options resumed_options(const Options& given, const io::Checkpoint& c, Recorded* then) {
  const std::string where = given.resume + "/checkpoint";
  Options o = given;
  try {
    YAML::Node n = io::load_yaml_text(c.invocation, where);
    o.scenario = n["scenario"].as<std::string>();
    o.out = given.resume;
    for (const auto& v : n["set"]) o.sets.push_back(v.as<std::string>());
    if (n["seed"]) o.seed = std::stoull(n["seed"].as<std::string>());
    o.engine_args.clear();  // the run's own (those given now are added for this run only)
    for (const auto& v : n["engine_args"]) {
      o.engine_args.push_back(v.as<std::string>());
      io::check_engine_argument(o.engine_args.back());
    }
    then->resolved = n["resolved"].as<std::string>();
    then->inputs = n["inputs"].as<std::string>();
    then->build = n["build"].as<std::string>();
  } catch (const std::exception& e) {
    throw util::InputError(where + ": expected the run's invocation, found an unreadable one (" +
                           e.what() + ")");
  }
  return o;
}

// A resumed run must be the run its checkpoint was taken in: same build, scenario and inputs.
static void check_same_run(const Options& o, const io::Scenario& s, const std::string& inputs,
                           const Recorded& then) {
  const std::string where = o.resume + "/checkpoint";
  if (build_text() != then.build) {
    throw util::InputError(where + ": expected the FedGrid build the run started with (" +
                           then.build + "), found another one (" + build_text() +
                           "): results would differ; start the run again or use that build");
  }
  if (resolved_text(s) != then.resolved) {
    throw util::InputError(o.scenario + ": expected the scenario the checkpoint in " + o.resume +
                           " was taken with, found a changed file (start a new run instead)");
  }
  const std::string changes = io::describe_changes(then.inputs, inputs);
  if (!changes.empty()) {
    throw util::InputError(where +
                           ": expected the inputs the run started with, found a change in " +
                           changes + " (start a new run instead)");
  }
}

int cmd_run(const std::vector<std::string>& args) {
  Options o = parse(args, "run",
                    "-o --set --seed --quiet --cfg --threads --checkpoint-every --resume --force");
  if (o.help) {
    std::fputs(kRunHelp, stdout);
    std::printf(
        "SimGrid options FedGrid allows (--cfg=name:value and the scenario's simgrid.cfg):\n"
        "%s--log=CATEGORY.SETTING:VALUE with thres, fmt, add or app (app:file:PATH).\n",
        io::simgrid_cfg_help().c_str());
    return 0;
  }
  sim::catch_stop_signals();
  std::optional<io::Checkpoint> checkpoint;
  Recorded then;
  const std::vector<std::string> given_engine_args = o.engine_args;
  util::OutputLock lock;  // one writer per folder, until this process ends
  if (!o.resume.empty()) {
    check_resumable(o.resume);
    lock = util::OutputLock::folder(o.resume);
    checkpoint = io::read_checkpoint(o.resume);
    o = resumed_options(o, *checkpoint, &then);
  }
  io::Scenario s = io::load_scenario(o.scenario, o.sets, o.seed);
  const std::string inputs = io::inputs_fingerprint(s);
  const std::string invocation = invocation_yaml(o, s, inputs);
  if (checkpoint) check_same_run(o, s, inputs, then);
  std::string cmdline = "fedgrid run";
  for (const auto& a : args) cmdline += " " + a;
  sim::RunOptions ro;
  ro.out_dir = o.out.empty() ? "results/" + s.name : o.out;
  if (!checkpoint) {
    lock = util::OutputLock::folder(ro.out_dir);
    claim_for_new_run(ro.out_dir, o.force);
  }
  ro.quiet = o.quiet;
  ro.engine_args = o.engine_args;
  if (checkpoint) {  // e.g. --log settings for this resumed part; not stored in its checkpoints
    for (const auto& a : given_engine_args) ro.engine_args.push_back(a);
  }
  ro.threads = sim::resolve_threads(o.threads);
  ro.checkpoint_every = o.checkpoint_every;
  ro.resume = checkpoint ? &*checkpoint : nullptr;
  ro.invocation = invocation;
  io::Experiment e = io::prepare_experiment(s);
  if (checkpoint) {  // beyond its checksum: does it fit this run and its files?
    io::check_checkpoint(o.resume, *checkpoint,
                         {s.algorithm.rounds, e.model.num_stages(),
                          std::min(s.algorithm.clients_per_round, s.clients), e.model.num_params(),
                          s.timing.timing_only ? 0 : e.model.num_params()});
  }
  // Until this run completes, the folder must not look complete (a stopped run's summary.json).
  fs::remove(fs::path(ro.out_dir) / "summary.json");
  // A resumed run keeps the manifest of the run it continues.
  if (!checkpoint) {
    metrics::write_file_atomic(ro.out_dir, "manifest.json", manifest_json(s, cmdline, ro.threads));
  }
  ro.stop_on_signals = true;
  int diverged = 0;
  ro.diverged_round = &diverged;
  const int stopped = sim::run_simulation(e, ro);
  if (diverged) {
    std::fprintf(stderr,
                 "fedgrid: diverged: a loss or a parameter is NaN or infinite after round %d; "
                 "the run stopped there (%s/summary.json: \"diverged\": true); try a smaller "
                 "learning rate\n",
                 diverged, ro.out_dir.c_str());
    return kExitDiverged;
  }
  if (stopped) {
    std::fprintf(stderr,
                 "[fedgrid] stopped by signal %d; finished rounds are in %s (summary.json: "
                 "\"complete\": false); continue with: fedgrid run --resume %s\n",
                 stopped, ro.out_dir.c_str(), ro.out_dir.c_str());
    return 128 + stopped;
  }
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
  const util::OutputLock lock = util::OutputLock::file(o.out);  // not a folder; one writer
  fs::path out(o.out);
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
  util::OutputLock lock;
  if (!o.out.empty()) lock = util::OutputLock::folder(o.out);
  io::Experiment e = io::prepare_experiment(s);
  sim::RunOptions ro;
  ro.out_dir = o.out;
  ro.engine_args = o.engine_args;
  ro.plan_only = true;
  sim::run_simulation(e, ro);
  return 0;
}

}  // namespace fedgrid::app
