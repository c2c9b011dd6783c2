// Option parsing and the run / validate / platform / plan subcommands.
#include "app/commands.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>

#include "app/options.hpp"
#include "app/run_folder.hpp"
#include "app/run_record.hpp"
#include "fl/registry.hpp"
#include "io/checkpoint_check.hpp"
#include "io/experiment.hpp"
#include "io/fingerprint.hpp"
#include "io/memory_estimate.hpp"
#include "io/simgrid_cfg.hpp"
#include "io/yaml_guard.hpp"
#include "metrics/recorder.hpp"
#include "platform/platform.hpp"
#include "sim/run.hpp"
#include "util/dir_lock.hpp"
#include "util/error.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;

static const char* kRunHelp =
    "usage: fedgrid run SCENARIO.yaml [options]\n"
    "       fedgrid run --resume DIR [--threads N] [--checkpoint-every K] [--quiet]\n"
    "                   [--progress MODE] [--allow-large] [--cfg=...]\n"
    "Simulates the scenario in SimGrid virtual time with real gradient computations and writes\n"
    "the results to DIR: rounds.csv, clients.csv, layers.csv, plan.csv, partition.csv,\n"
    "platform.xml (generated platforms), manifest.json, wall.json and, last, summary.json\n"
    "(present only when the run completed). Asynchronous algorithms (fedbuff, fedasync) write\n"
    "one rounds.csv row per server update and one clients.csv row per client job, and no\n"
    "layers.csv or plan.csv (docs/asynchronous.md). Columns: docs/outputs.md.\n"
    "\n"
    "options (a value may follow the flag or an '=': --out=DIR, --seed=3):\n"
    "  -o, --out DIR            result folder (default results/<scenario name>)\n"
    "  --set KEY=VALUE          override a scenario key, repeatable (--set algorithm.rounds=5)\n"
    "  --seed N                 the scenario's seed, in [0, 2^64)\n"
    "  --threads N              math threads (default: every core); results do not depend on N\n"
    "  --checkpoint-every K     also write DIR/checkpoint every K rounds (server updates)\n"
    "  --resume DIR             continue a stopped or killed run from DIR/checkpoint\n"
    "  --force                  replace a finished or stopped run in DIR\n"
    "  --allow-large            skip the memory estimate check\n"
    "  --progress MODE          auto (default: bar on a terminal, lines otherwise), bar (one\n"
    "                           line redrawn in place), lines, lines:N (every N rounds),\n"
    "                           lines:Ss (at most every S wall seconds), none\n"
    "  -q, --quiet              no progress and no notes on stderr (errors still)\n"
    "  --cfg=NAME:VALUE         a SimGrid option from the allow-list below, repeatable\n"
    "  --log=CATEGORY.SETTING:VALUE  SimGrid logging\n"
    "  -h, --help               this text\n"
    "\n"
    "examples:\n"
    "  fedgrid run scenarios/quickstart.yaml\n"
    "  fedgrid run scenarios/paper/mlp-salf.yaml --out=results/salf-s3 --seed=3 --threads 2\n"
    "  fedgrid run scenarios/quickstart.yaml --set algorithm.name=fedprox --set "
    "training.local_steps=5\n"
    "  fedgrid run scenarios/quickstart.yaml --progress lines:10 2> run.log\n"
    "  fedgrid run --resume results/quickstart\n"
    "\n"
    "The progress line shows the round, virtual time, clients, test accuracy, rounds per wall\n"
    "second and the estimated time left (the rounds or the time budget left, whichever ends\n"
    "the run first).\n"
    "SIGINT/SIGTERM stop the run after the current round (asynchronous: the next server\n"
    "update): the files hold the finished rounds, summary.json says \"complete\": false,\n"
    "DIR/checkpoint is written and the exit code is 128 + the signal. A checkpoint holds the\n"
    "model, optimiser, clock and file sizes; --resume continues with the same scenario and\n"
    "options, and the result files are then byte-identical to those of an uninterrupted run\n"
    "(wall.json aside).\n"
    "Before loading anything big, the run's memory is estimated (data, model, per-client\n"
    "gradients, clients, plan) and checked against this machine, and device state changes\n"
    "(availability) against 1e8: exit 2 with the estimate, unless --allow-large.\n"
    "One process writes DIR at a time (a lock, released when the process ends, however it\n"
    "ends): a second one exits 2 naming the first one's pid. A DIR that holds a finished run\n"
    "is not overwritten unless --force; one with a stopped run asks for --resume (or --force).\n"
    "A NaN or infinite loss or parameter stops the run at that round: summary.json says\n"
    "\"diverged\": true and the round, NaN cells read 'nan' (empty means 'no value').\n"
    "Exit codes: 0 complete, 2 bad input, 1 internal or system error (e.g. a full disk: the\n"
    "run stops at that round with one message, no summary.json), 3 diverged, 128 + signal\n"
    "when stopped.\n";

int cmd_run(const std::vector<std::string>& args) {
  Options o =
      parse_options(args, "run",
                    "-o --set --seed --quiet --cfg --threads --checkpoint-every --resume --force "
                    "--allow-large --progress");
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
  ro.progress = o.progress;
  ro.engine_args = o.engine_args;
  if (checkpoint) {  // e.g. --log settings for this resumed part; not stored in its checkpoints
    for (const auto& a : given_engine_args) ro.engine_args.push_back(a);
  }
  ro.threads = sim::resolve_threads(o.threads);
  ro.checkpoint_every = o.checkpoint_every;
  ro.resume = checkpoint ? &*checkpoint : nullptr;
  ro.invocation = invocation;
  io::check_run_size(s, ro.threads, o.allow_large);  // before anything big is allocated
  io::Experiment e = io::prepare_experiment(s);
  if (checkpoint) {  // beyond its checksum: does it fit this run and its files?
    io::check_checkpoint(o.resume, *checkpoint,
                         {s.algorithm.rounds, e.model.num_stages(),
                          std::min(s.algorithm.clients_per_round, s.clients), e.model.num_params(),
                          s.timing.timing_only ? 0 : e.model.num_params(),
                          fl::find_algorithm(s.algorithm.name)->asynchronous});
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
  Options o = parse_options(args, "validate", "--set --seed --allow-large");
  if (o.help) {
    std::fputs(
        "usage: fedgrid validate SCENARIO.yaml [--set key.path=value]... [--seed N] "
        "[--allow-large]\n"
        "Loads and checks the scenario, its model, its data files and its platform spec, and\n"
        "prints a one-line summary. Exit code 2 with a file:line message on any problem,\n"
        "including a run estimated to need more memory than this machine has or more than\n"
        "1e8 device state changes (--allow-large skips that check).\n",
        stdout);
    return 0;
  }
  io::Scenario s = io::load_scenario(o.scenario, o.sets, o.seed);
  io::check_run_size(s, sim::resolve_threads(0), o.allow_large);
  io::Experiment e = io::prepare_experiment(s);
  if (s.platform.generate) {  // the draws are checked (comm_time: with LV08's factor)
    const platform::CommLink link{static_cast<double>(e.model.num_params() * sizeof(float))};
    platform::generate(*s.platform.generate, util::derive_seed(s.seed, "platform"), &link);
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
  Options o = parse_options(args, "platform", "-o --set --seed");
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
    throw util::InputError(s.file + ": key 'platform.generate': expected a generator spec, found " +
                           (s.platform.table
                                ? std::string("a per-client file (its platform.xml is written by "
                                              "`fedgrid run` and `fedgrid plan -o DIR`)")
                                : std::string("a platform file")));
  }
  if (s.platform.generate->comm_time) {
    throw util::InputError(
        s.file +
        ": key 'platform.generate.comm_time': expected bandwidth and latency for "
        "`fedgrid platform`, found communication times (their links depend on the model's "
        "size and SimGrid's network model: `fedgrid run` and `fedgrid plan -o DIR` write "
        "that platform.xml)");
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
  Options o = parse_options(args, "plan", "-o --set --seed --cfg --allow-large");
  if (o.help) {
    std::fputs(
        "usage: fedgrid plan SCENARIO.yaml [-o DIR] [--set key.path=value]... [--seed N]\n"
        "                    [--allow-large] [--cfg=...]\n"
        "Builds the platform, estimates each client's capability P_u and communication time B_u,\n"
        "and prints the per-round deadlines and batch sizes the algorithm will use (for adel-fl:\n"
        "the solved plan, m* and the objective). With -o, writes DIR/plan.csv. Asynchronous\n"
        "algorithms (fedbuff, fedasync) have no rounds: it prints the capabilities, C and M.\n",
        stdout);
    return 0;
  }
  io::Scenario s = io::load_scenario(o.scenario, o.sets, o.seed);
  util::OutputLock lock;
  if (!o.out.empty()) {
    lock = util::OutputLock::folder(o.out);
    const FolderState st = inspect_folder(o.out);  // plan.csv, platform.xml would replace a run's
    if (st.complete || st.diverged || st.checkpoint) {
      throw util::InputError(o.out +
                             ": expected a folder without a run (plan -o writes plan.csv "
                             "and platform.xml), found a run's summary.json or checkpoint");
    }
  }
  io::check_run_size(s, sim::resolve_threads(0), o.allow_large);
  io::Experiment e = io::prepare_experiment(s);
  sim::RunOptions ro;
  ro.out_dir = o.out;
  ro.engine_args = o.engine_args;
  ro.plan_only = true;
  sim::run_simulation(e, ro);
  return 0;
}

}  // namespace fedgrid::app
