// Builds the SimGrid world for one experiment (platform, client capabilities, algorithm, actors),
// runs it and writes the run's files (see README "Output files").
#include "sim/run.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numeric>
#include <simgrid/s4u.hpp>
#include <xbt/config.hpp>

#include "metrics/recorder.hpp"
#include "platform/platform.hpp"
#include "sim/context.hpp"
#include "simgrid/version.h"  // after simgrid/s4u.hpp (via sim/context.hpp)
#include "util/error.hpp"

namespace fedgrid::sim {

namespace fs = std::filesystem;

// LV08 multiplies latencies by 13.01 and bandwidths by 0.97 unless configured otherwise.
static void network_factors(double& lat_factor, double& bw_factor) {
  const std::string model = simgrid::config::get_value<std::string>("network/model");
  lat_factor = model == "LV08" ? 13.01 : 1.0;
  bw_factor = model == "LV08" ? 0.97 : 1.0;
  try {
    if (!simgrid::config::is_default("network/latency-factor")) {
      lat_factor = std::stod(simgrid::config::get_value<std::string>("network/latency-factor"));
    }
    if (!simgrid::config::is_default("network/bandwidth-factor")) {
      bw_factor = std::stod(simgrid::config::get_value<std::string>("network/bandwidth-factor"));
    }
  } catch (const std::exception&) {
    // Piecewise factor specifications: keep the model's defaults for the estimate.
  }
}

// Estimated transfer time of `bytes` between a and b: latency and bottleneck bandwidth of the
// route.
static double transfer_estimate(sg4::Host* a, sg4::Host* b, double bytes, double lf, double bf) {
  std::vector<sg4::Link*> links;
  double lat = 0;
  a->route_to(b, links, &lat);
  double bw = std::numeric_limits<double>::infinity();
  for (auto* l : links) bw = std::min(bw, l->get_bandwidth());
  return lat * lf + (std::isfinite(bw) ? bytes / (bw * bf) : 0.0);
}

static std::string load_platform(sg4::Engine& engine, const io::Experiment& exp,
                                 const std::string& out_dir, double& heterogeneity) {
  const auto& pc = exp.scenario.platform;
  std::string file = pc.file;
  heterogeneity = metrics::kNaN;
  if (pc.generate) {
    platform::Platform p =
        platform::generate(*pc.generate, util::derive_seed(exp.scenario.seed, "platform"));
    heterogeneity = p.heterogeneity;
    metrics::write_file_atomic(out_dir, "platform.xml", platform::to_xml(p));
    file = (fs::path(out_dir) / "platform.xml").string();
  }
  try {
    engine.load_platform(file);
    engine.seal_platform();  // XML zones are sealed at run() otherwise; route_to() needs it now
  } catch (const std::exception& ex) {
    util::throw_input_error(file, 0, "", "a valid SimGrid platform", ex.what());
  }
  return file;
}

static std::string summary_json(const Context& ctx, const io::Experiment& exp, double wall,
                                const std::string& platform_file, double heterogeneity) {
  (void)wall;
  const auto& a = *ctx.algorithm;
  std::string s = "{\n";
  s += "  \"complete\": true,\n";
  s += "  \"scenario\": " + metrics::json_string(exp.scenario.name) + ",\n";
  s += "  \"seed\": " + std::to_string(exp.scenario.seed) + ",\n";
  s += "  \"algorithm\": " + metrics::json_string(a.config().name) + ",\n";
  s += "  \"aggregation\": " + metrics::json_string(fl::aggregation_name(a.config().aggregation)) +
       ",\n";
  s += "  \"clients\": " + std::to_string(exp.scenario.clients) + ",\n";
  s += "  \"stages\": " + std::to_string(exp.model.num_stages()) + ",\n";
  s += "  \"params\": " + std::to_string(exp.model.num_params()) + ",\n";
  s += "  \"rounds\": " + std::to_string(ctx.rounds_done) + ",\n";
  s += "  \"virtual_time\": " + metrics::json_number(sg4::Engine::get_clock()) + ",\n";
  s += "  \"m\": " + metrics::json_number(a.m()) + ",\n";
  s += "  \"final_test_accuracy\": " + metrics::json_number(ctx.final_test_accuracy) + ",\n";
  s += "  \"final_test_loss\": " + metrics::json_number(ctx.final_test_loss) + ",\n";
  s += "  \"final_val_accuracy\": " + metrics::json_number(ctx.final_val_accuracy) + ",\n";
  s += "  \"platform\": " + metrics::json_string(fs::path(platform_file).filename().string()) +
       ",\n";
  s += "  \"heterogeneity\": " + metrics::json_number(heterogeneity) + "\n";
  return s + "}\n";
}

static std::string plan_csv(const fl::Algorithm& algo) {
  // planned_batch is the batch rule's value before clamping to [1, shard size].
  std::string s = "round,client,batch,planned_batch,deadline\n";
  for (int r = 1; r <= algo.config().rounds; ++r) {
    fl::RoundPlan p = algo.configure(r);
    for (const auto& t : p.tasks) {
      s += std::to_string(r) + "," + std::to_string(t.client) + "," + std::to_string(t.batch) +
           "," + std::to_string(algo.planned_batch(r, t.client)) + "," +
           metrics::fmt(std::isfinite(p.deadline) ? p.deadline : metrics::kNaN) + "\n";
    }
  }
  return s;
}

// Rejects deadlines within which no client can ever deliver what the algorithm requires.
static void check_deadlines(const io::Experiment& exp, const fl::Algorithm& algo,
                            const std::vector<fl::ClientInfo>& infos) {
  const auto& sc = exp.scenario;
  if (algo.deadlines().empty()) return;
  const int L = exp.model.num_stages();
  const bool need_all = sc.algorithm.kind == fl::AlgorithmKind::kFedAvgDeadline;
  for (int r = 1; r <= sc.algorithm.rounds; ++r) {
    fl::RoundPlan p = algo.configure(r);
    bool possible = false;
    double best = std::numeric_limits<double>::infinity();
    for (const auto& t : p.tasks) {
      const auto& c = infos[t.client];
      // With exponential stages any amount of work may finish in time; deterministic ones not.
      const int needed = need_all ? L : 1;
      double work = sc.timing.exponential ? 0.0 : needed * t.batch / c.speed;
      best = std::min(best, c.comm_time + work);
      possible = possible || c.comm_time + work < p.deadline;
    }
    if (!possible) {
      util::throw_input_error(
          sc.file, 0, sc.algorithm.deadline > 0 ? "algorithm.deadline" : "algorithm.time_budget",
          "a round deadline longer than the fastest client's " +
              std::string(need_all ? "full update" : "download, one stage and upload") + " (" +
              metrics::fmt(best) + " s)",
          "deadline " + metrics::fmt(p.deadline) + " s in round " + std::to_string(r));
    }
  }
}

static void print_plan(const fl::Algorithm& algo, const std::vector<fl::ClientInfo>& infos) {
  const auto& cfg = algo.config();
  std::printf("algorithm %s, %d rounds, %zu clients, m = %.6g", cfg.name.c_str(), cfg.rounds,
              infos.size(), algo.m());
  if (cfg.kind == fl::AlgorithmKind::kAdelFl) std::printf(", objective %.10g", algo.objective());
  std::printf("\nclient capabilities P_u and communication times B_u:\n");
  for (std::size_t u = 0; u < infos.size(); ++u) {
    std::printf("  client %zu: P_u %.6g  B_u %.6g  shard %zu\n", u, infos[u].speed,
                infos[u].comm_time, infos[u].shard);
  }
  std::printf("round  deadline  batches\n");
  for (int r = 1; r <= cfg.rounds; ++r) {
    fl::RoundPlan p = algo.configure(r);
    std::printf("%5d  %8s ", r,
                std::isfinite(p.deadline) ? metrics::fmt(p.deadline).c_str() : "none");
    for (const auto& t : p.tasks) std::printf(" %d", t.batch);
    std::printf("\n");
  }
}

std::string simgrid_version() {
  int major = 0, minor = 0, patch = 0;
  sg_version_get(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

void run_simulation(const io::Experiment& exp, const RunOptions& opt) {
  const auto wall0 = std::chrono::steady_clock::now();
  const auto& sc = exp.scenario;
  std::vector<std::string> args{"fedgrid", "--log=xbt_cfg.thres:warning"};
  for (const auto& c : sc.simgrid_cfg) args.push_back("--cfg=" + c);
  for (const auto& a : opt.engine_args) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);
  sg4::Engine engine(&argc, argv.data());

  // `plan` without -o still needs a folder for a generated platform: a temporary one.
  const bool temp_dir = opt.out_dir.empty();
  const std::string out_dir =
      temp_dir
          ? (fs::temp_directory_path() / ("fedgrid-plan-" + std::to_string(::getpid()))).string()
          : opt.out_dir;
  fs::create_directories(out_dir);
  double heterogeneity = 0;
  const std::string platform_file = load_platform(engine, exp, out_dir, heterogeneity);

  Context ctx;
  ctx.exp = &exp;
  ctx.quiet = opt.quiet;
  ctx.server_host = engine.host_by_name_or_null("server");
  if (!ctx.server_host) {
    util::throw_input_error(platform_file, 0, "host 'server'", "a host named 'server'", "none");
  }
  const auto& stages = exp.model.stages();
  for (const auto& st : stages) {
    ctx.stage_work.push_back(sc.timing.flops_cost ? st.backward_flops : sc.timing.work_per_sample);
  }
  const double mean_work =
      std::accumulate(ctx.stage_work.begin(), ctx.stage_work.end(), 0.0) / ctx.stage_work.size();
  ctx.model_bytes = exp.model.num_params() * sizeof(float);
  double lf = 1, bf = 1;
  network_factors(lf, bf);
  std::vector<fl::ClientInfo> infos;
  ctx.clients.resize(sc.clients);
  for (int u = 0; u < sc.clients; ++u) {
    std::string name = "client-" + std::to_string(u);
    sg4::Host* h = engine.host_by_name_or_null(name);
    if (!h) {
      util::throw_input_error(
          platform_file, 0, "host '" + name + "'",
          "a host per client (client-0 .. client-" + std::to_string(sc.clients - 1) + ")",
          "none named '" + name + "'");
    }
    ClientState& c = ctx.clients[u];
    c.host = h;
    c.start = sg4::Semaphore::create(0);
    const double down = transfer_estimate(ctx.server_host, h, ctx.model_bytes, lf, bf);
    // The client stops computing this long before the deadline: the upload estimate with 5%
    // slack, plus 1 us for SimGrid's numerical precision (1e-9 s) even with free links.
    c.upload_margin = 1.05 * transfer_estimate(h, ctx.server_host, ctx.model_bytes, lf, bf) + 1e-6;
    infos.push_back({h->get_speed() / mean_work, down + c.upload_margin, exp.shards[u].size()});
  }
  fl::Algorithm algo(sc.algorithm, infos, exp.model.num_stages());
  ctx.algorithm = &algo;
  check_deadlines(exp, algo, infos);
  if (!algo.clamps().empty() && !opt.quiet) {
    const auto& c = algo.clamps().front();
    std::fprintf(stderr,
                 "[fedgrid] note: %zu planned batch sizes were clamped to [1, shard size] (first: "
                 "round %d client %d wanted %ld, got %d); see plan.csv\n",
                 algo.clamps().size(), c.round, c.client, c.wanted, c.got);
  }
  if (opt.plan_only) {
    print_plan(algo, infos);
    if (temp_dir)
      fs::remove_all(out_dir);
    else
      metrics::write_file_atomic(out_dir, "plan.csv", plan_csv(algo));
    return;
  }
  metrics::Recorder recorder(opt.out_dir);
  ctx.recorder = &recorder;
  ctx.inbox_sem = sg4::Semaphore::create(0);

  metrics::write_file_atomic(opt.out_dir, "plan.csv", plan_csv(algo));
  metrics::write_file_atomic(opt.out_dir, "partition.csv", io::partition_csv(exp));
  // Actors that run Eigen need room for its temporaries on their stacks.
  sg4::Engine::set_config("contexts/stack-size:1024");
  sg4::Actor::create("server", ctx.server_host, server_actor, &ctx);
  for (int u = 0; u < sc.clients; ++u) {
    sg4::Actor::create("client-" + std::to_string(u), ctx.clients[u].host, client_actor, &ctx, u);
  }
  engine.run();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  recorder.finish(summary_json(ctx, exp, wall, platform_file, heterogeneity));
  metrics::write_file_atomic(opt.out_dir, "wall.json",
                             "{\"wall_seconds\": " + metrics::json_number(wall) + "}\n");
}

}  // namespace fedgrid::sim
