// `fedgrid sweep`: option parsing, validation of every run, dry run, job emission (Slurm array,
// GNU parallel) and result collection. The local process pool lives in sweep_pool.cpp.
#include "app/sweep.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "app/options.hpp"
#include "app/shell_quote.hpp"
#include "app/sweep_pool.hpp"
#include "app/sweep_results.hpp"
#include "app/sweep_spec.hpp"
#include "io/scenario.hpp"
#include "metrics/recorder.hpp"
#include "util/dir_lock.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;

static const char* kSweepHelp =
    "usage: fedgrid sweep SWEEP.yaml [-o DIR] [-j N] [--threads T] [--set key=value]... [--quiet]\n"
    "                     [--allow-large]\n"
    "                     [--dry-run | --emit slurm|parallel | --collect]\n"
    "Runs every combination of the sweep file's axes, each as `fedgrid run BASE -o\n"
    "DIR/runs/<id> --set ...` in its own process, N at a time (default 1), with a progress line\n"
    "on stderr. A run whose folder holds a complete summary.json for the same resolved scenario\n"
    "and seed is skipped, so an interrupted sweep resumes; SIGINT/SIGTERM stop the running runs\n"
    "after their current round with a checkpoint, and the next sweep continues them from it\n"
    "(fedgrid run --resume). Then writes DIR/index.csv (one row per run),\n"
    "DIR/aggregate.csv (mean and Student-t 95% confidence interval over seeds) and sweep.json.\n"
    "DIR defaults to results/<sweep name>; logs go to DIR/logs/<id>.log (first line: the "
    "command).\n"
    "\n"
    "  --dry-run        list the runs (id, state, overrides) without running anything\n"
    "  --emit slurm     write DIR/jobs.txt and DIR/sweep.sbatch, a Slurm array job with one\n"
    "                   task per run not yet complete (-j N caps concurrent tasks: %N);\n"
    "                   submit with `sbatch DIR/sweep.sbatch`, then use --collect\n"
    "  --emit parallel  write DIR/jobs.txt, one command per line, for GNU parallel:\n"
    "                   `parallel -j N < DIR/jobs.txt` or `parallel --sshloginfile hosts.txt\n"
    "                   < DIR/jobs.txt` (same paths on every host), then use --collect\n"
    "                   (emitted jobs of runs stopped with a checkpoint, e.g. by Slurm's\n"
    "                   SIGTERM at the time limit, are `fedgrid run --resume`: emit again)\n"
    "                   Every job line is one fedgrid command, each word quoted for the shell;\n"
    "                   control characters in paths or values are refused, and with slurm -o\n"
    "                   must be a plain path (#SBATCH lines cannot quote)\n"
    "  --collect        build index.csv and aggregate.csv from the run folders\n"
    "  --threads T      threads of each run (fedgrid run --threads; default: cores / N locally,\n"
    "                   1 in emitted jobs, where it also sets --cpus-per-task)\n"
    "  --set key=value  an extra override applied to every run, after the sweep's own\n"
    "  --allow-large    passed to every run (fedgrid run --allow-large: no size check)\n"
    "\n"
    "Sweep file:\n"
    "  name: my-sweep                    # default: the file name\n"
    "  base: ../scenarios/paper/mlp-salf.yaml   # or a list of scenario files (axis 'scenario')\n"
    "  target_accuracy: 0.7              # for time_to_target (optional)\n"
    "  time_limit: 400                   # for test_accuracy_at_limit (default: time_budget)\n"
    "  set: {algorithm.rounds: 50}       # overrides for every run\n"
    "  grid:                             # cartesian product: a list, or a mapping label: value\n"
    "    algorithm.name: [salf, adel-fl]\n"
    "    seed: [1, 2, 3]                 # replicates: aggregate.csv averages over them\n"
    "  zip:                              # named groups of equal-length lists, advanced together\n"
    "    platform:\n"
    "      label: [homogeneous, lognormal-1]\n"
    "      platform.generate.speed: [{dist: constant, value: 1250},\n"
    "                                {dist: lognormal, median: 758.16, sigma: 1}]\n"
    "  slurm: {options: [--time=00:30:00]}   # extra #SBATCH lines\n"
    "Run ids join the axis labels (scenario, grid keys, zip groups, seed) with '_'.\n"
    "index.csv's status: complete, diverged (a NaN/inf loss or parameter stopped the run: no\n"
    "accuracy; not run again), failed, stopped (resumable), incomplete, missing or stale.\n"
    "Exit codes: 0 all runs complete or diverged, 1 some run failed or is missing, 2 bad input.\n";

struct SweepOptions {
  std::string file, out, emit;
  std::vector<std::string> sets;
  int jobs = 1;
  int threads = 0;  // per run; 0 = cores / jobs locally, 1 in emitted jobs
  bool dry_run = false, collect = false, quiet = false, help = false, allow_large = false;
};

static SweepOptions parse_sweep_options(const std::vector<std::string>& given) {
  const std::vector<std::string> args = split_equals(given, "sweep");
  SweepOptions o;
  auto value = [&](std::size_t& i) {
    if (i + 1 >= args.size()) throw util::InputError("sweep: " + args[i] + " expects a value");
    return args[++i];
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "-o" || a == "--out") {
      o.out = value(i);
    } else if (a == "-j" || a == "--jobs" || (a.rfind("-j", 0) == 0 && a.size() > 2)) {
      std::string v = a.size() > 2 && a[1] == 'j' ? a.substr(2) : value(i);
      std::size_t pos = 0;
      try {
        o.jobs = std::stoi(v, &pos);
      } catch (const std::exception&) {
        pos = 0;
      }
      if (pos != v.size() || o.jobs < 1 || o.jobs > 4096) {
        throw util::InputError("sweep: -j expects an integer in [1, 4096], found '" + v + "'");
      }
    } else if (a == "--threads") {
      std::string v = value(i);
      std::size_t pos = 0;
      try {
        o.threads = std::stoi(v, &pos);
      } catch (const std::exception&) {
        pos = 0;
      }
      if (pos != v.size() || o.threads < 1 || o.threads > 4096) {
        throw util::InputError("sweep: --threads expects an integer in [1, 4096], found '" + v +
                               "'");
      }
    } else if (a == "--set") {
      o.sets.push_back(value(i));
    } else if (a.rfind("--set=", 0) == 0) {
      o.sets.push_back(a.substr(6));
    } else if (a == "--emit") {
      o.emit = value(i);
      if (o.emit != "slurm" && o.emit != "parallel") {
        throw util::InputError("sweep: --emit expects slurm or parallel, found '" + o.emit + "'");
      }
    } else if (a == "--dry-run" || a == "-n") {
      o.dry_run = true;
    } else if (a == "--collect") {
      o.collect = true;
    } else if (a == "--allow-large") {
      o.allow_large = true;
    } else if (a == "--quiet" || a == "-q") {
      o.quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      throw util::InputError("sweep: unknown option '" + a + "' (see fedgrid sweep --help)");
    } else if (o.file.empty()) {
      o.file = a;
    } else {
      throw util::InputError("sweep: unexpected argument '" + a + "'");
    }
  }
  if (!o.help && o.file.empty()) throw util::InputError("sweep: expects a SWEEP.yaml");
  if (o.dry_run + o.collect + !o.emit.empty() > 1) {
    throw util::InputError("sweep: --dry-run, --emit and --collect exclude each other");
  }
  return o;
}

// Turns a scenario error of run `run` into a sweep-file error: blamed on the override whose key
// matches the key named in the message (the last one applied wins; the scenario file:line the
// message names is then meaningless and dropped), else on the `base` line.
static std::string blame(const SweepSpec& spec, const RunSpec& run, const std::string& message) {
  auto k = message.find("key '");
  std::string key = k == std::string::npos ? "" : message.substr(k + 5);
  key = key.substr(0, key.find('\''));
  const Override* culprit = nullptr;
  for (auto it = run.overrides.rbegin(); it != run.overrides.rend() && !key.empty(); ++it) {
    const std::string& o = it->key;
    if (key == o || key.rfind(o + ".", 0) == 0 || o.rfind(key + ".", 0) == 0) {
      culprit = &*it;
      break;
    }
  }
  const std::string where = "run '" + run.id + "': ";
  if (!culprit) return spec.file + ":" + std::to_string(spec.base_line) + ": " + where + message;
  const std::string inner = message.substr(k) + " (scenario " + run.base + ")";
  if (culprit->line == 0) return "sweep: --set " + culprit->assignment() + ": " + where + inner;
  return spec.file + ":" + std::to_string(culprit->line) + ": " + where + inner;
}

// Loads each run's scenario (strict validation before anything runs) and returns what its
// manifest must say.
static std::vector<RunExpectation> validate_runs(const SweepSpec& spec,
                                                 const std::vector<RunSpec>& runs) {
  std::vector<RunExpectation> out;
  for (const auto& run : runs) {
    io::Scenario s;
    try {
      s = io::load_scenario(run.base, run.assignments());
    } catch (const util::InputError& e) {
      throw util::InputError(blame(spec, run, e.what()));
    }
    RunExpectation x;
    x.resolved = nlohmann::json::parse(s.resolved_json);
    x.seed = s.seed;
    x.time_limit = spec.time_limit               ? *spec.time_limit
                   : s.algorithm.time_budget > 0 ? s.algorithm.time_budget
                                                 : metrics::kNaN;
    out.push_back(x);
  }
  return out;
}

static std::string sweep_json(const SweepSpec& spec, std::size_t runs) {
  util::Json j;
  j["name"] = spec.name;
  j["sweep_file"] = fs::absolute(spec.file).lexically_normal().string();
  j["target_accuracy"] = spec.target_accuracy ? util::Json(*spec.target_accuracy) : nullptr;
  j["runs"] = runs;
  j["axes"] = util::Json::array();
  for (const Axis& a : spec.axes) {
    j["axes"].push_back({{"name", a.name}, {"kind", a.kind}, {"labels", a.labels}});
  }
  return util::json_text(j);
}

// Writes index.csv, aggregate.csv and sweep.json; returns "N complete, K failed, ..." and
// whether every run is complete.
static std::pair<std::string, bool> write_tables(const SweepSpec& spec,
                                                 const std::vector<RunSpec>& runs,
                                                 const std::vector<RunExpectation>& expect,
                                                 const std::string& out,
                                                 const std::vector<std::string>& failed_ids) {
  std::vector<RunResult> results;
  std::map<std::string, int> count;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    results.push_back(read_run(out + "/runs/" + runs[i].id, expect[i], spec.target_accuracy));
    for (const auto& f : failed_ids) {
      if (f == runs[i].id && results.back().status != "complete" &&
          results.back().status != "diverged") {
        results.back().status = "failed";
      }
    }
    ++count[results.back().status];
  }
  fs::create_directories(out);
  metrics::write_file_atomic(out, "index.csv", index_csv(spec, runs, results));
  metrics::write_file_atomic(out, "aggregate.csv", aggregate_csv(spec, runs, results));
  metrics::write_file_atomic(out, "sweep.json", sweep_json(spec, runs.size()));
  std::string text = std::to_string(count["complete"]) + " complete";
  for (const char* s : {"diverged", "failed", "stopped", "stale", "incomplete", "missing"}) {
    if (count[s]) text += ", " + std::to_string(count[s]) + " " + s;
  }
  return {text, count["complete"] + count["diverged"] == static_cast<int>(runs.size())};
}

static int emit_jobs(const SweepSpec& spec, const std::vector<RunSpec>& runs,
                     const std::vector<RunExpectation>& expect, const std::string& out,
                     const SweepOptions& o) {
  const std::string exe = self_executable();
  const std::string sweep_file = fs::absolute(spec.file).lexically_normal().string();
  // Every line of jobs.txt must be one fedgrid command and nothing else: no control character
  // in what goes there (each word is quoted for the shell; paths checked by cmd_sweep).
  std::string jobs;
  std::size_t pending = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (run_is_finished(out + "/runs/" + runs[i].id, expect[i])) continue;
    // A run stopped with a checkpoint (SIGTERM from the sweep, or from Slurm at its time limit)
    // continues from it, as in a local sweep; emit again after stopping to get these lines.
    std::string line = shell_quote(exe);
    for (const auto& a : prepare_run(runs[i], expect[i], out, std::max(1, o.threads))) {
      refuse_control_chars("run '" + runs[i].id + "': argument", a);
      line += " " + shell_quote(a);
    }
    jobs += line + "\n";
    ++pending;
  }
  fs::create_directories(out + "/logs");
  metrics::write_file_atomic(out, "jobs.txt", jobs);
  metrics::write_file_atomic(out, "sweep.json", sweep_json(spec, runs.size()));
  std::printf("%zu runs, %zu complete, %zu written to %s/jobs.txt\n", runs.size(),
              runs.size() - pending, pending, out.c_str());
  if (o.emit == "parallel") {
    std::printf("run them with: parallel -j %d < %s/jobs.txt   (or --sshloginfile hosts.txt)\n",
                o.jobs, out.c_str());
  } else if (pending > 0) {
    std::string s =
        "#!/bin/bash\n# FedGrid sweep '" + spec.name + "': one array task per line of " + out +
        "/jobs.txt.\n# Afterwards: fedgrid sweep " + shell_quote(sweep_file) + " -o " +
        shell_quote(out) + " --collect\n#SBATCH --job-name=fedgrid-" + spec.name +
        "\n#SBATCH --array=0-" + std::to_string(pending - 1) +
        (o.jobs > 1 ? "%" + std::to_string(o.jobs) : std::string()) +
        "\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=" + std::to_string(std::max(1, o.threads)) +
        "\n#SBATCH --output=" + out + "/logs/slurm-%A_%a.log\n";
    for (const auto& opt : spec.slurm_options) s += "#SBATCH " + opt + "\n";
    s += "set -eu\nline=\"$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " +
         shell_quote(out + "/jobs.txt") + ")\"\neval \"$line\"\n";
    metrics::write_file_atomic(out, "sweep.sbatch", s);
    fs::permissions(out + "/sweep.sbatch", fs::perms::owner_exec, fs::perm_options::add);
    std::printf("submit with: sbatch %s/sweep.sbatch\n", out.c_str());
  }
  return 0;
}

static void dry_run(const std::vector<RunSpec>& runs, const std::vector<RunExpectation>& expect,
                    const std::string& out) {
  std::size_t done = 0, diverged = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string dir = out + "/runs/" + runs[i].id;
    const bool finished = run_is_finished(dir, expect[i]);
    const bool complete = finished && run_is_complete(dir, expect[i]);
    done += complete;
    diverged += finished && !complete;
    const char* state = !finished ? "pending" : complete ? "complete" : "diverged";
    std::printf("%-40s %-9s %s", runs[i].id.c_str(), state, runs[i].base.c_str());
    for (const auto& a : runs[i].assignments()) std::printf(" --set %s", shell_quote(a).c_str());
    std::printf("\n");
  }
  const std::string div = diverged ? ", " + std::to_string(diverged) + " diverged" : "";
  std::printf("%zu runs (%zu complete%s, %zu to run) in %s\n", runs.size(), done, div.c_str(),
              runs.size() - done - diverged, out.c_str());
}

int cmd_sweep(const std::vector<std::string>& args) {
  SweepOptions o = parse_sweep_options(args);
  if (o.help) {
    std::fputs(kSweepHelp, stdout);
    return 0;
  }
  SweepSpec spec = load_sweep(o.file, o.sets);
  std::vector<RunSpec> runs = expand_runs(spec);
  if (o.allow_large) {
    for (auto& r : runs) r.flags.push_back("--allow-large");
  }
  std::vector<RunExpectation> expect = validate_runs(spec, runs);
  const std::string out =
      fs::absolute(o.out.empty() ? "results/" + spec.name : o.out).lexically_normal().string();
  if (o.dry_run) {
    dry_run(runs, expect, out);
    return 0;
  }
  if (!o.emit.empty()) {  // before anything is written (each run's arguments: emit_jobs)
    refuse_control_chars("the fedgrid binary", self_executable());
    refuse_control_chars("-o", out);
    refuse_control_chars("the sweep file", fs::absolute(spec.file).lexically_normal().string());
    if (o.emit == "slurm") check_sbatch_path("-o", out);
  }
  const util::OutputLock lock = util::OutputLock::folder(out);  // one sweep per folder
  if (!o.emit.empty()) return emit_jobs(spec, runs, expect, out, o);
  std::vector<std::string> failed;
  if (!o.collect) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = o.threads > 0 ? o.threads : std::max(1, cores / o.jobs);
    failed = run_pool(runs, expect, out, o.jobs, threads, o.quiet);
  }
  const auto [text, all_complete] = write_tables(spec, runs, expect, out, failed);
  std::fprintf(stderr, "[sweep] %zu runs: %s; wrote %s/index.csv and aggregate.csv\n", runs.size(),
               text.c_str(), out.c_str());
  return all_complete ? 0 : 1;
}

}  // namespace fedgrid::app
