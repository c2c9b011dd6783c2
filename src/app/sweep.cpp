// `fedgrid sweep` (its options: app/cli_commands.cpp): validation of every run, dry run, job
// emission (Slurm array, GNU parallel) and result collection. The process pool: sweep_pool.cpp.
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

int cmd_sweep(const SweepOptions& o) {
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
