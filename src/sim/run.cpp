// Builds the SimGrid world for one experiment (platform, client capabilities, algorithm, actors,
// math threads), runs it and writes the run's files (see README "Output files").
#include "sim/run.hpp"

#include <pthread.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <simgrid/s4u.hpp>
#include <thread>
#include <xbt/config.hpp>

#include "io/server_knowledge.hpp"
#include "metrics/async_recorder.hpp"
#include "metrics/recorder.hpp"
#include "sim/async.hpp"
#include "sim/context.hpp"
#include "sim/guard.hpp"
#include "sim/plan_report.hpp"
#include "sim/world.hpp"
#include "simgrid/version.h"  // after simgrid/s4u.hpp (via sim/context.hpp)
#include "util/error.hpp"
#include "util/json.hpp"

namespace fedgrid::sim {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
}

// A number as the result files write it (10 significant digits; null when NaN or infinite).
util::Json number(double v) { return util::number_or_null(metrics::as_written(v)); }

// summary.json: a result file, the same bytes for the same scenario and seed whatever --threads
// (wall-clock times go to wall.json). Keys in the order of docs/outputs.md.
std::string summary_json(const Context& ctx, const io::Experiment& exp, const World& w) {
  const auto& a = *ctx.setup.algorithm;
  const auto& r = ctx.results;
  const metrics::Milestones& ms = r.milestones;
  util::Json j;
  const bool diverged = !r.diverged.empty();
  j["complete"] = !(r.stopped_by || diverged);
  if (diverged) {  // (only then: other runs keep their bytes)
    j["diverged"] = true;
    j["diverged_round"] = r.rounds_done;
    j["diverged_in"] = r.diverged;
  }
  if (r.stopped_by) j["stopped_by"] = signal_name(r.stopped_by);
  j["scenario"] = exp.scenario.name;
  j["seed"] = exp.scenario.seed;
  j["algorithm"] = a.config().name;
  j["aggregation"] = fl::aggregation_name(a.config().aggregation);
  j["clients"] = exp.scenario.clients;
  j["clients_per_round"] = a.clients_per_round();
  j["stages"] = exp.model.num_stages();
  j["params"] = exp.model.num_params();
  j["rounds"] = r.rounds_done;
  j["virtual_time"] = number(sg4::Engine::get_clock());
  j["batch_factor"] = number(a.m());
  j["m"] = j["batch_factor"];  // deprecated alias, kept for one release
  j["final_test_accuracy"] = number(r.final_test_accuracy);
  j["final_test_loss"] = number(r.final_test_loss);
  j["final_val_accuracy"] = number(r.final_val_accuracy);
  j["final_evaluation_round"] =
      std::isnan(ms.last_step) ? util::Json(nullptr) : util::Json(static_cast<long>(ms.last_step));
  j["final_evaluation_time"] = number(ms.last_time);
  const bool budget = a.config().time_budget > 0;
  j["test_accuracy_at_budget"] = budget ? number(ms.accuracy_at_limit) : nullptr;
  j["test_loss_at_budget"] = budget ? number(ms.loss_at_limit) : nullptr;
  j["time_to_target"] = number(ms.time_to_target);  // NaN without a target
  j["platform"] = w.host_slots ? "host-slots" : fs::path(w.platform_file).filename().string();
  j["speed_cv"] = number(w.heterogeneity);
  j["heterogeneity"] = j["speed_cv"];                     // deprecated alias, kept for one release
  if (const fl::AsyncAlgorithm* as = a.asynchronous()) {  // rounds = server updates
    j["concurrency"] = as->concurrency();
    j["buffer"] = as->buffer_size();
    j["jobs"] = ctx.async->jobs;
  }
  return util::json_text(j);
}

// Each actor with a stack guard page costs two memory mappings, and vm.max_map_count (65530 by
// default) caps them at about 32k actors: beyond that the stacks go without guard pages (unless
// the user chose contexts/guard-size). Must be decided before the first actor exists.
void choose_stack_guards(int slots) {
  if (!simgrid::config::is_default("contexts/guard-size")) return;
  long max_maps = 65530;
  std::ifstream("/proc/sys/vm/max_map_count") >> max_maps;
  if (2L * (slots + 16) + 4096 > max_maps) sg4::Engine::set_config("contexts/guard-size:0");
}

std::string wall_json(const Context& ctx, Clock::time_point started, Clock::time_point t0,
                      Clock::time_point t_run, Clock::time_point t_end, Clock::time_point t_done,
                      int threads) {
  const train::MathTimes m = ctx.setup.math ? ctx.setup.math->times() : train::MathTimes{};
  const double wall = seconds(t0, t_done);
  util::Json j;
  j["wall_seconds"] = number(wall);
  j["load_seconds"] = number(seconds(started, t0));
  j["setup_seconds"] = number(seconds(t0, t_run));
  j["run_seconds"] = number(seconds(t_run, t_end));
  j["gradient_seconds"] = number(m.gradient_wait);
  j["evaluation_seconds"] = number(m.evaluation_wait);
  j["simulation_seconds"] = number(wall - m.gradient_wait - m.evaluation_wait);
  j["record_seconds"] = number(ctx.results.write_seconds);
  j["gradient_cpu_seconds"] = number(m.gradient_cpu);
  j["evaluation_cpu_seconds"] = number(m.evaluation_cpu);
  j["gradients"] = m.gradients;
  j["threads"] = threads;
  return util::json_text(j);
}

std::vector<std::string> engine_args(const io::Experiment& exp, const RunOptions& opt) {
  std::vector<std::string> args{"fedgrid", "--log=xbt_cfg.thres:warning"};
#ifdef FEDGRID_SANITIZE_BUILD
  // AddressSanitizer cannot follow SimGrid's raw context switches: use OS threads.
  args.push_back("--cfg=contexts/factory:thread");
#endif
  for (const auto& c : exp.scenario.simgrid_cfg) args.push_back("--cfg=" + c);
  for (const auto& a : opt.engine_args) args.push_back(a);
  return args;
}

// The server (big stack: it helps the math threads while it waits, Eigen keeps temporaries on
// the stack) and the slots (small stacks: SimGrid calls only).
// Asynchronous runs: their server, and a partner actor beside each slot (async.hpp).
void create_actors(Context& ctx, int slots) {
  choose_stack_guards(ctx.async ? 2 * slots : slots);
  sg4::Engine::set_config("contexts/stack-size:8192");
  sg4::Actor::create("server", ctx.setup.server_host, guarded_server_actor, &ctx);
  const bool guards = simgrid::config::get_value<int>("contexts/guard-size") > 0;
  sg4::Engine::set_config("contexts/stack-size:" +
                          std::to_string(guards ? kSlotStackKiB : kSlotStackNoGuardKiB));
  if (ctx.async) {
    create_async_slots(ctx, slots);
  } else {
    create_slots(ctx, slots);
  }
}

// Availability: a killed slot reports its client failed; every state change goes to the log.
void watch_availability(Context& ctx) {
  sg4::Actor::on_termination_cb([&ctx](const sg4::Actor& a) {
    const auto it = ctx.slot_of_actor.find(a.get_pid());
    if (it == ctx.slot_of_actor.end()) return;
    const int slot = it->second;
    ctx.slot_of_actor.erase(it);
    if (ctx.async) {
      on_async_slot_killed(&ctx, slot);
    } else {
      on_slot_killed(&ctx, slot);
    }
  });
  sg4::Host::on_state_change_cb([&ctx](const sg4::Host& h) {
    const int u = client_of(h.get_name());
    if (u < 0) return;
    ctx.results.availability_log += metrics::fmt(sg4::Engine::get_clock()) + "," +
                                    std::to_string(u) + (h.is_on() ? ",on\n" : ",off\n");
    if (ctx.async && h.is_on()) on_async_host_on(&ctx);
  });
}

void init_context(Context& ctx, const io::Experiment& exp, const RunOptions& opt) {
  const auto& sc = exp.scenario;
  ctx.setup.exp = &exp;
  ctx.setup.quiet = opt.quiet;
  ctx.setup.availability = sc.availability.model != platform::AvailabilityModel::kAlways;
  ctx.setup.checkpoint_every = opt.checkpoint_every;
  ctx.setup.resume = opt.resume;
  ctx.setup.invocation = opt.invocation;
  if (ctx.setup.availability) watch_availability(ctx);
  for (const auto& st : exp.model.stages()) {
    ctx.setup.stage_work.push_back(sc.timing.flops_cost ? st.backward_flops
                                                        : sc.timing.work_per_sample);
  }
  ctx.setup.model_bytes = exp.model.num_params() * sizeof(float);
  ctx.results.milestones =
      metrics::Milestones(sc.algorithm.time_budget > 0 ? sc.algorithm.time_budget : INFINITY,
                          sc.evaluation.target_accuracy);
}

}  // namespace

std::string simgrid_version() {
  int major = 0, minor = 0, patch = 0;
  sg_version_get(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

namespace {
volatile std::sig_atomic_t g_stop_signal = 0;  // the first SIGINT/SIGTERM received

extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
  static const char kMsg[] =
      "\n[fedgrid] stopping after the current round (again to abort at once)\n";
  [[maybe_unused]] const auto n = ::write(2, kMsg, sizeof kMsg - 1);
  std::signal(sig, SIG_DFL);
}
}  // namespace

void catch_stop_signals() {
  // A signal already received keeps its default action (a second one kills at once).
  for (int sig : {SIGINT, SIGTERM}) {
    if (g_stop_signal == 0) std::signal(sig, on_stop_signal);
  }
}

int run_simulation(const io::Experiment& exp, const RunOptions& opt) {
  const auto t0 = Clock::now();
  const auto& sc = exp.scenario;
  std::vector<std::string> args = engine_args(exp, opt);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);
  // The Engine installs SimGrid's SIGINT handler (it exits at once): hold SIGINT back while it
  // is built, then put ours back, so that no signal falls in between.
  sigset_t sigint, old_mask;
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  if (opt.stop_on_signals) pthread_sigmask(SIG_BLOCK, &sigint, &old_mask);
  sg4::Engine engine(&argc, argv.data());
  if (opt.stop_on_signals) {
    catch_stop_signals();
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  }
  // `plan` without -o still needs a folder for a generated platform: a temporary one.
  const bool temp_dir = opt.out_dir.empty();
  const std::string out_dir =
      temp_dir
          ? (fs::temp_directory_path() / ("fedgrid-plan-" + std::to_string(::getpid()))).string()
          : opt.out_dir;
  fs::create_directories(out_dir);
  const TempFolder temp_folder(temp_dir ? out_dir : "");  // removed however plan ends
  Context ctx;
  init_context(ctx, exp, opt);
  // K clients per round (or all); C clients in flight for asynchronous algorithms.
  const World world =
      build_world(engine, ctx, out_dir, fl::clients_in_flight(sc.algorithm, sc.clients));
  const std::unique_ptr<fl::Algorithm> algorithm =
      fl::make_algorithm(io::algorithm_config(exp), world.infos, exp.model.num_stages());
  const fl::Algorithm& algo = *algorithm;
  ctx.setup.algorithm = algorithm.get();
  if (algo.asynchronous()) {
    ctx.async = std::make_shared<AsyncRun>();
    ctx.async->algorithm = algo.asynchronous();
    ctx.async->slots.resize(ctx.slots.size());
  }
  check_deadlines(exp, algo, world.infos);
  if (!algo.clamps().empty() && !opt.quiet) note_clamps(algo);
  if (opt.plan_only) {
    print_plan(algo, world);
    if (!temp_dir && !ctx.async) metrics::write_file_atomic(out_dir, "plan.csv", plan_csv(algo));
    return 0;
  }
  const std::vector<uint64_t>* resume_sizes = opt.resume ? &opt.resume->file_sizes : nullptr;
  std::optional<metrics::Recorder> recorder;  // round-based runs
  std::optional<metrics::AsyncRecorder> async_recorder;
  if (ctx.async) {
    async_recorder.emplace(opt.out_dir, resume_sizes);
    ctx.async->recorder = &*async_recorder;
  } else {
    recorder.emplace(opt.out_dir, resume_sizes, sc.algorithm.training.local_work_columns);
    ctx.setup.recorder = &*recorder;
    metrics::write_file_atomic(opt.out_dir, "plan.csv", plan_csv(algo));
  }
  ctx.round.inbox_sem = sg4::Semaphore::create(0);
  metrics::write_file_atomic(opt.out_dir, "partition.csv", io::partition_csv(exp));
  const int threads = resolve_threads(opt.threads);
  std::unique_ptr<train::MathEngine> math;
  if (!sc.timing.timing_only) {
    const fl::TrainingConfig& t = sc.algorithm.training;
    const train::LocalTraining local{t.client.momentum, t.client.weight_decay, algo.proximal_mu(),
                                     t.client.persistent, t.local_epochs > 0};
    math = std::make_unique<train::MathEngine>(exp, local, threads);
  }
  ctx.setup.math = math.get();
  if (opt.stop_on_signals) ctx.setup.stop_signal = &g_stop_signal;
  create_actors(ctx, static_cast<int>(ctx.slots.size()));
  std::optional<util::Progress> progress;
  if (!opt.quiet && opt.progress.kind != util::ProgressMode::kNone) {
    const auto& a = algo.config();
    progress.emplace(opt.progress, ctx.async ? "update" : "round", a.rounds,
                     a.time_budget > 0 ? a.time_budget : INFINITY);
    ctx.setup.progress = &*progress;
  }
  const auto t_run = Clock::now();
  engine.run();
  if (progress) progress->finish();
  if (ctx.results.failure)
    std::rethrow_exception(ctx.results.failure);  // e.g. a full disk: no summary.json
  if (opt.diverged_round && !ctx.results.diverged.empty())
    *opt.diverged_round = ctx.results.rounds_done;
  const auto t_end = Clock::now();
  if (ctx.async && !ctx.async->error.empty()) throw util::InputError(ctx.async->error);
  // The plans each round used are known now.
  if (algo.adaptive()) metrics::write_file_atomic(opt.out_dir, "plan.csv", plan_csv(algo));
  if (ctx.setup.availability) {
    metrics::write_file_atomic(opt.out_dir, "availability.csv",
                               "t,client,state\n" + ctx.results.availability_log);
  }
  metrics::write_file_atomic(opt.out_dir, "wall.json",
                             wall_json(ctx, opt.started, t0, t_run, t_end, Clock::now(), threads));
  // summary.json: the last file written.
  if (recorder) recorder->finish(summary_json(ctx, exp, world));
  if (async_recorder) async_recorder->finish(summary_json(ctx, exp, world));
  // A finished run needs no checkpoint (a stopped one keeps it for --resume).
  if (!ctx.results.stopped_by) fs::remove(fs::path(opt.out_dir) / "checkpoint");
  return ctx.results.stopped_by;
}

}  // namespace fedgrid::sim
