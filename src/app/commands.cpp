// The run / validate / platform / plan subcommands, given their parsed options (app/cli.cpp).
#include "app/commands.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "app/options.hpp"
#include "app/run_folder.hpp"
#include "app/run_record.hpp"
#include "fl/registry.hpp"
#include "io/checkpoint_check.hpp"
#include "io/experiment.hpp"
#include "io/fingerprint.hpp"
#include "io/memory_estimate.hpp"
#include "io/yaml_guard.hpp"
#include "metrics/recorder.hpp"
#include "platform/platform.hpp"
#include "sim/run.hpp"
#include "util/dir_lock.hpp"
#include "util/error.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;

int cmd_run(const Options& given, const std::vector<std::string>& args) {
  Options o = given;
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

int cmd_validate(const Options& o) {
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

int cmd_platform(const Options& o) {
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

int cmd_plan(const Options& o) {
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
