// bench_throughput: training throughput (samples/s of forward + backward, one thread) of the MLP,
// CNN2 and VGG11 at several batch sizes, next to PyTorch's on the same machine (the JSON written
// by bench/torch_throughput.py), printed as a table and written as JSON.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/model.hpp"
#include "options.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace {

using namespace fedgrid;
using Clock = std::chrono::steady_clock;

bench::Options defaults() {
  bench::Options o;
  o.out = std::string(FEDGRID_SOURCE_DIR) + "/bench/results/throughput.json";
  o.torch = std::string(FEDGRID_SOURCE_DIR) + "/bench/results/torch_throughput.json";
  o.models = {"mlp", "cnn2", "vgg11"};
  o.batches = {16, 256, 2048};
  o.seconds = 3.0;
  return o;
}

bench::Options parse(int argc, char** argv) {
  bench::Takes takes;
  takes.torch = true;
  return bench::parse_options(
      argc, argv, defaults(), takes, "bench_throughput",
      "Times Model::loss_and_gradient (forward + full backward, one thread) for each model and\n"
      "batch: one untimed warm-up step, then steps until S seconds have passed (at least one).\n"
      "PyTorch numbers come from bench/torch_throughput.py.");
}

struct Result {
  std::string model;
  int batch = 0;
  double rate = 0, seconds = 0;
  long iterations = 0;
  double torch1 = 0, torch_all = 0;
  int torch_threads = 0;
};

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Result measure(const std::string& name, int batch, double seconds) {
  const nn::Model model = nn::Model::build(
      io::load_model_spec(std::string(FEDGRID_SOURCE_DIR) + "/models/" + name + ".yaml"));
  nn::Vector params, grad;
  model.init_params(params, 1);
  util::Rng rng(7, "bench");
  nn::Matrix x(model.input_size(), batch);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.normal());
  std::vector<int> y(static_cast<std::size_t>(batch));
  for (int& v : y) v = static_cast<int>(rng.below(10));
  nn::Workspace ws;
  Result r{name, batch, 0, 0, 0, 0, 0, 0};
  model.loss_and_gradient(params, x, y, grad, 0, ws);  // warm-up: sizes and touches buffers
  const auto t0 = Clock::now();
  do {
    model.loss_and_gradient(params, x, y, grad, 0, ws);
    ++r.iterations;
  } while (since(t0) < seconds);
  r.seconds = since(t0);
  r.rate = r.iterations * static_cast<double>(batch) / r.seconds;
  return r;
}

// Fills the PyTorch columns from torch_throughput.py's JSON (read with yaml-cpp: JSON is YAML).
void add_torch(std::vector<Result>& results, const std::string& path, std::string& torch_version) {
  if (!std::filesystem::exists(path)) return;
  const YAML::Node doc = YAML::LoadFile(path);
  torch_version = doc["torch"].as<std::string>("?");
  for (const auto& row : doc["results"]) {
    for (Result& r : results) {
      if (row["model"].as<std::string>() != r.model || row["batch"].as<int>() != r.batch) continue;
      r.torch1 = row["threads_1"]["samples_per_s"].as<double>();
      r.torch_all = row["threads_all"]["samples_per_s"].as<double>();
      r.torch_threads = row["threads_all"]["threads"].as<int>();
    }
  }
}

void write_json(const std::vector<Result>& results, const bench::Options& o,
                const std::string& tv) {
  std::filesystem::path p(o.out);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream f(o.out);
  f << "{\n \"what\": \"training throughput, samples/s of forward + backward (gradient only)\",\n"
    << " \"fedgrid_threads\": 1,\n \"seconds_per_measurement\": " << o.seconds
    << ",\n \"torch\": \"" << tv << "\",\n \"results\": [\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    f << "  {\"model\": \"" << r.model << "\", \"batch\": " << r.batch
      << ", \"fedgrid_samples_per_s\": " << r.rate << ", \"iterations\": " << r.iterations
      << ", \"seconds\": " << r.seconds << ", \"torch_1thread_samples_per_s\": " << r.torch1
      << ", \"torch_all_threads_samples_per_s\": " << r.torch_all
      << ", \"torch_all_threads\": " << r.torch_threads
      << ", \"ratio_vs_torch_1thread\": " << (r.torch1 > 0 ? r.rate / r.torch1 : 0) << "}"
      << (i + 1 < results.size() ? "," : "") << "\n";
  }
  f << " ]\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const bench::Options o = parse(argc, argv);
    std::vector<Result> results;
    for (const auto& m : o.models) {
      for (int b : o.batches) {
        results.push_back(measure(m, b, o.seconds));
        std::fprintf(stderr, "[bench] %s batch %d: %.1f samples/s (%ld iterations, %.2f s)\n",
                     m.c_str(), b, results.back().rate, results.back().iterations,
                     results.back().seconds);
      }
    }
    std::string torch_version = "not measured";
    add_torch(results, o.torch, torch_version);
    std::printf("%-6s %6s %14s %14s %14s %10s\n", "model", "batch", "fedgrid/s", "torch 1thr/s",
                "torch all/s", "ratio 1thr");
    for (const Result& r : results) {
      std::printf("%-6s %6d %14.1f %14.1f %14.1f %10.2f\n", r.model.c_str(), r.batch, r.rate,
                  r.torch1, r.torch_all, r.torch1 > 0 ? r.rate / r.torch1 : 0.0);
    }
    write_json(results, o, torch_version);
    std::printf("written %s (PyTorch %s)\n", o.out.c_str(), torch_version.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
