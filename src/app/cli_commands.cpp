// The fedgrid commands as CLI11 subcommands (see cli_commands.hpp). A description's first line
// is the command's summary in `fedgrid --help`; lines longer than 100 columns are reflowed.
#include "app/cli_commands.hpp"

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <limits>

#include "app/cli_format.hpp"
#include "io/simgrid_cfg.hpp"
#include "util/error.hpp"

namespace fedgrid::app {

namespace {

// A whole-string integer in [lo, hi], or an InputError naming the option.
long parse_count(const std::string& cmd, const std::string& flag, const std::string& v, long lo,
                 long hi) {
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
uint64_t parse_seed(const std::string& cmd, const std::string& v) {
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

const std::string kNewRun = std::string("options of a new run ") + kNewRunOnly;

CLI::App* command(CLI::App& root, const std::string& name, const std::string& description,
                  const std::string& footer) {
  CLI::App* c = root.add_subcommand(name, description);
  c->footer(footer);
  c->set_help_flag();  // added last (finish), below the other options
  c->allow_extras();   // unknown options and extra arguments: reported by cli.cpp, naming them
  return c;
}

void finish(CLI::App* c) { c->set_help_flag("-h,--help", "this text"); }

CLI::Option* positional(CLI::App* c, const std::string& name, std::string& into,
                        const std::string& desc) {
  return c->add_option(name, into, desc)->group("arguments");
}

// A valued option; given twice, the last value counts.
CLI::Option* valued(CLI::App* c, const std::string& names, std::string& into,
                    const std::string& type, const std::string& desc) {
  return c->add_option(names, into, desc)
      ->type_name(type)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

// A valued option converted by `set`, which throws util::InputError naming the option.
CLI::Option* converted(CLI::App* c, const std::string& names, const std::string& type,
                       const std::string& desc, std::function<void(const std::string&)> set) {
  return c->add_option_function<std::string>(names, std::move(set), desc)
      ->type_name(type)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

// A repeatable option, one value per occurrence (--set a=1 --set b=2).
CLI::Option* repeated(CLI::App* c, const std::string& names, std::vector<std::string>& into,
                      const std::string& type, const std::string& desc) {
  return c->add_option(names, into, desc)
      ->type_name(type)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* sets(CLI::App* c, std::vector<std::string>& into) {
  return repeated(c, "--set", into, "KEY=VALUE",
                  "override a scenario key, repeatable (--set algorithm.rounds=5)");
}

CLI::Option* seed(CLI::App* c, Options& o, const std::string& cmd) {
  return converted(c, "--seed", "N", "the scenario's seed, in [0, 2^64)",
                   [&o, cmd](const std::string& v) { o.seed = parse_seed(cmd, v); });
}

CLI::Option* allow_large(CLI::App* c, bool& into, const std::string& desc) {
  return c->add_flag("--allow-large", into, desc);
}

// --cfg and --log reach SimGrid as "--cfg=VALUE" / "--log=VALUE" in the order given: cli.cpp reads
// them from the parse order and checks them against the allow-list.
void engine_options(CLI::App* c, const std::string& allow_list) {
  c->add_option("--cfg")
      ->description("a SimGrid option from the allow-list " + allow_list + ", repeatable")
      ->type_name("NAME:VALUE")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c->add_option("--log")
      ->description("SimGrid logging, repeatable (--log=root.thres:critical)")
      ->type_name("CATEGORY.SETTING:VALUE")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

const char* kRunDescription =
    "Simulates the scenario in SimGrid virtual time with real gradient computations and writes "
    "the result files to DIR.\n"
    "DIR: rounds.csv, clients.csv, layers.csv, plan.csv, partition.csv, platform.xml (generated "
    "platforms), manifest.json, wall.json and, last, summary.json (present only when the run "
    "completed). Asynchronous algorithms (fedbuff, fedasync) write one rounds.csv row per server "
    "update and one clients.csv row per client job, and no layers.csv or plan.csv "
    "(docs/asynchronous.md). Columns: docs/outputs.md.\n";

const char* kRunNotes =
    "examples:\n"
    "  fedgrid run scenarios/quickstart.yaml\n"
    "  fedgrid run scenarios/paper/mlp-salf.yaml --out=results/salf-s3 --seed=3 --threads 2\n"
    "  fedgrid run scenarios/quickstart.yaml --set algorithm.name=fedprox --set "
    "training.local_steps=5\n"
    "  fedgrid run scenarios/quickstart.yaml --progress lines:10 2> run.log\n"
    "  fedgrid run --resume results/quickstart\n"
    "\n"
    "The progress line shows the round, virtual time, clients, test accuracy, rounds per wall "
    "second and the estimated time left (the rounds or the time budget left, whichever ends the "
    "run first).\n"
    "SIGINT/SIGTERM stop the run after the current round (asynchronous: the next server update): "
    "the files hold the finished rounds, summary.json says \"complete\": false, DIR/checkpoint is "
    "written and the exit code is 128 + the signal. A checkpoint holds the model, optimiser, clock "
    "and file sizes; --resume continues with the same scenario and options, and the result files "
    "are then byte-identical to those of an uninterrupted run (wall.json aside).\n"
    "Before loading anything big, the run's memory is estimated (data, model, per-client "
    "gradients, clients, plan) and checked against this machine, and device state changes "
    "(availability) against 1e8: exit 2 with the estimate, unless --allow-large.\n"
    "One process writes DIR at a time (a lock, released when the process ends, however it ends): "
    "a second one exits 2 naming the first one's pid. A DIR that holds a finished run is not "
    "overwritten unless --force; one with a stopped run asks for --resume (or --force).\n"
    "A NaN or infinite loss or parameter stops the run at that round: summary.json says "
    "\"diverged\": true and the round, NaN cells read 'nan' (empty means 'no value').\n"
    "Exit codes: 0 complete, 2 bad input, 1 internal or system error (e.g. a full disk: the run "
    "stops at that round with one message, no summary.json), 3 diverged, 128 + signal when "
    "stopped.\n"
    "\n"
    "SimGrid options FedGrid allows (--cfg=name:value and the scenario's simgrid.cfg):\n";

void add_run(CLI::App& root, Options& o) {
  CLI::App* c = command(root, "run", kRunDescription,
                        kRunNotes + io::simgrid_cfg_help() +
                            "--log=CATEGORY.SETTING:VALUE with thres, fmt, add or app "
                            "(app:file:PATH).");
  positional(c, "SCENARIO.yaml", o.scenario, "the scenario file (docs/scenario-reference.md)");
  valued(c, "-o,--out", o.out, "DIR", "result folder (default results/<scenario name>)")
      ->group(kNewRun);
  sets(c, o.sets)->group(kNewRun);
  seed(c, o, "run")->group(kNewRun);
  c->add_flag("--force", o.force, "replace a finished or stopped run in DIR")->group(kNewRun);
  converted(c, "--threads", "N",
            "math threads, in [1, 4096] (default: every core); results do not depend on N",
            [&o](const std::string& v) {
              o.threads = static_cast<int>(parse_count("run", "--threads", v, 1, 4096));
            });
  converted(c, "--checkpoint-every", "K",
            "also write DIR/checkpoint every K rounds (server updates); K in [1, 2^30]",
            [&o](const std::string& v) {
              o.checkpoint_every =
                  static_cast<int>(parse_count("run", "--checkpoint-every", v, 1, 1 << 30));
            });
  valued(c, "--resume", o.resume, "DIR",
         "continue a stopped or killed run from DIR/checkpoint, with the scenario, -o, --set and "
         "--seed it was started with");
  converted(
      c, "--progress", "MODE",
      "auto (default: bar on a terminal, lines otherwise), bar (one line redrawn in place), "
      "lines, lines:N (every N rounds), lines:Ss (at most every S wall seconds), none",
      [&o](const std::string& v) { o.progress = util::ProgressMode::parse(v, "run: --progress"); });
  allow_large(c, o.allow_large, "skip the memory estimate check");
  c->add_flag("-q,--quiet", o.quiet, "no progress and no notes on stderr (errors still)");
  engine_options(c, "below");
  finish(c);
}

void add_validate(CLI::App& root, Options& o) {
  CLI::App* c = command(
      root, "validate",
      "Checks the scenario, its model, its data and its platform without simulating.\n"
      "Loads and checks the scenario, its model, its data files and its platform spec, and prints "
      "a one-line summary. Exit code 2 with a file:line message on any problem, including a run "
      "estimated to need more "
      "memory than this machine has or more than 1e8 device state changes (--allow-large skips "
      "that check).\n",
      "examples:\n"
      "  fedgrid validate scenarios/quickstart.yaml\n"
      "  fedgrid validate scenarios/quickstart.yaml --set clients=100 --set "
      "data.partition.kind=iid\n");
  positional(c, "SCENARIO.yaml", o.scenario, "the scenario file (docs/scenario-reference.md)")
      ->required();
  sets(c, o.sets);
  seed(c, o, "validate");
  allow_large(c, o.allow_large, "skip the memory and device state change checks");
  finish(c);
}

void add_platform(CLI::App& root, Options& o) {
  CLI::App* c = command(
      root, "platform",
      "Writes the SimGrid platform generated from the scenario's platform.generate section "
      "(byte-identical for the same scenario and seed).\n",
      "examples:\n"
      "  fedgrid platform scenarios/quickstart.yaml -o q.xml\n"
      "  fedgrid platform scenarios/quickstart.yaml -o q7.xml --seed 7 --set clients=50\n"
      "\n"
      "Scenarios with a platform file have nothing to generate (exit 2); with a per-client table "
      "(platform.clients_csv, platform.fedscale) `fedgrid run` and `fedgrid plan -o DIR` write "
      "the platform.xml.\n");
  positional(c, "SCENARIO.yaml", o.scenario, "the scenario file (docs/scenario-reference.md)")
      ->required();
  valued(c, "-o,--out", o.out, "FILE.xml", "the platform file to write")->required();
  sets(c, o.sets);
  seed(c, o, "platform");
  finish(c);
}

void add_plan(CLI::App& root, Options& o) {
  CLI::App* c = command(
      root, "plan",
      "Prints the per-round deadlines and batches the algorithm would use (asynchronous "
      "algorithms: the clients' capabilities and C, M), without training.\n"
      "Builds the platform, estimates each client's capability P_u and communication time B_u, "
      "and prints the per-round deadlines and batch sizes the algorithm will use (for adel-fl: the "
      "solved plan, m* and the objective). With -o, writes DIR/plan.csv and DIR/platform.xml. "
      "Asynchronous algorithms (fedbuff, fedasync) have no rounds: it prints the capabilities, C "
      "and M.\n",
      "examples:\n"
      "  fedgrid plan scenarios/paper/mlp-adel-fl.yaml\n"
      "  fedgrid plan scenarios/paper/mlp-adel-fl.yaml -o results/adel-plan --seed 2\n"
      "\n"
      "-o DIR must not hold a run (its plan.csv and platform.xml would be replaced): exit 2.\n");
  positional(c, "SCENARIO.yaml", o.scenario, "the scenario file (docs/scenario-reference.md)")
      ->required();
  valued(c, "-o,--out", o.out, "DIR", "also write DIR/plan.csv and DIR/platform.xml");
  sets(c, o.sets);
  seed(c, o, "plan");
  allow_large(c, o.allow_large, "skip the memory estimate check");
  engine_options(c, "(fedgrid run --help)");
  finish(c);
}

const char* kSweepDescription =
    "Runs every combination of the sweep file's axes N processes at a time (resumable) and "
    "writes DIR/index.csv and DIR/aggregate.csv, or emits a Slurm array / GNU parallel job list.\n"
    "Each run is `fedgrid run BASE -o DIR/runs/<id> --set ...` in its own process, N at a time "
    "(default 1), with a progress line on stderr. A run whose folder holds a complete "
    "summary.json for the same resolved scenario and seed is skipped, so an interrupted sweep "
    "resumes; SIGINT/SIGTERM stop the running runs after their current round with a checkpoint, "
    "and the next sweep continues them from it (fedgrid run --resume). Then writes DIR/index.csv "
    "(one row per run), DIR/aggregate.csv (mean and Student-t 95% confidence interval over seeds) "
    "and sweep.json. DIR defaults to results/<sweep name>; logs go to DIR/logs/<id>.log (first "
    "line: the command).\n";

const char* kSweepNotes =
    "examples:\n"
    "  fedgrid sweep sweeps/heterogeneity-mlp.yaml -o results/het -j 2\n"
    "  fedgrid sweep sweeps/heterogeneity-mlp.yaml -o results/het --dry-run\n"
    "  fedgrid sweep sweeps/heterogeneity-mlp.yaml -o results/het --emit slurm\n"
    "  fedgrid sweep sweeps/heterogeneity-mlp.yaml -o results/het --collect\n"
    "\n"
    "Emitted jobs of runs stopped with a checkpoint (e.g. by Slurm's SIGTERM at the time limit) "
    "are `fedgrid run --resume`: emit again. Every job line is one fedgrid command, each word "
    "quoted for the shell; control characters in paths or values are refused, and with slurm -o "
    "must be a plain path (#SBATCH lines cannot quote).\n"
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
    "index.csv's status: complete, diverged (a NaN/inf loss or parameter stopped the run: no "
    "accuracy; not run again), failed, stopped (resumable), incomplete, missing or stale.\n"
    "Exit codes: 0 all runs complete or diverged, 1 some run failed or is missing, 2 bad input.\n";

void add_sweep(CLI::App& root, SweepOptions& s) {
  CLI::App* c = command(root, "sweep", kSweepDescription, kSweepNotes);
  positional(c, "SWEEP.yaml", s.file, "the sweep file (below; docs/scenario-reference.md)")
      ->required();
  valued(c, "-o,--out", s.out, "DIR", "the sweep folder (default results/<sweep name>)");
  converted(c, "-j,--jobs", "N",
            "runs at a time, in [1, 4096] (default 1); with --emit slurm: the array's cap (%N), "
            "with --emit parallel: the -j of the command printed",
            [&s](const std::string& v) {
              s.jobs = static_cast<int>(parse_count("sweep", "-j", v, 1, 4096));
            });
  converted(c, "--threads", "T",
            "threads of each run (fedgrid run --threads), in [1, 4096]; default: cores / N "
            "locally, 1 in emitted jobs, where it also sets --cpus-per-task",
            [&s](const std::string& v) {
              s.threads = static_cast<int>(parse_count("sweep", "--threads", v, 1, 4096));
            });
  repeated(c, "--set", s.sets, "KEY=VALUE",
           "an extra override applied to every run, after the sweep's own; repeatable");
  allow_large(c, s.allow_large, "passed to every run (fedgrid run --allow-large: no size check)");
  c->add_flag("-q,--quiet", s.quiet, "no progress line on stderr");
  const std::string modes = std::string("what to do instead of running the sweep ") + kAtMostOne;
  c->add_flag("-n,--dry-run", s.dry_run,
              "list the runs (id, state, overrides) without running anything")
      ->group(modes);
  converted(
      c, "--emit", "slurm|parallel",
      "slurm: write DIR/jobs.txt and DIR/sweep.sbatch, a Slurm array job with one task per "
      "run not yet complete (-j N caps concurrent tasks: %N); submit with `sbatch "
      "DIR/sweep.sbatch`, then use --collect.\n"
      "parallel: write DIR/jobs.txt, one command per line, for GNU parallel: `parallel -j N "
      "< DIR/jobs.txt` or `parallel --sshloginfile hosts.txt < DIR/jobs.txt` (same paths on "
      "every host), then use --collect",
      [&s](const std::string& v) {
        if (v != "slurm" && v != "parallel") {
          throw util::InputError("sweep: --emit expects slurm or parallel, found '" + v + "'");
        }
        s.emit = v;
      })
      ->group(modes);
  c->add_flag("--collect", s.collect, "build index.csv and aggregate.csv from the run folders")
      ->group(modes);
  finish(c);
}

}  // namespace

void add_commands(CLI::App& root, Options& o, SweepOptions& s) {
  add_run(root, o);
  add_validate(root, o);
  add_platform(root, o);
  add_plan(root, o);
  add_sweep(root, s);
}

}  // namespace fedgrid::app
