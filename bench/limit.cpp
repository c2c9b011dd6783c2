// bench_limit: training throughput of a model (Model::loss_and_gradient, forward + full backward,
// one thread) against its GEMM-bound limit measured in the same run: the batch's matrix products
// (dense: W X, dY X^T, W^T dY; conv2d: the same three on im2col columns) timed alone with Eigen's
// float GEMM at their exact shapes. limit = batch / (sum of those GEMM times), i.e. the model's
// GEMM FLOPs per sample / the GEMM rate at its shapes. Prints a table, writes JSON.
#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/model.hpp"
#include "options.hpp"
#include "util/rng.hpp"

namespace {

using namespace fedgrid;
using Clock = std::chrono::steady_clock;

struct Gemm {
  std::string what;  // e.g. "fc1 forward"
  long m, k, n;      // C (m x n) = A (m x k) B (k x n)
  int kind;          // 0: A B, 1: A B^T (weight gradient), 2: A^T B (input gradient)
};

bench::Options defaults() {
  bench::Options o;
  o.out = std::string(FEDGRID_SOURCE_DIR) + "/bench/results/limit.json";
  o.models = {"mlp", "cnn2"};
  o.batches = {64, 256, 1024};
  o.seconds = 0.5;
  return o;
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The products of one training step on a batch of b samples, walking the layer shapes.
std::vector<Gemm> model_gemms(const nn::ModelSpec& spec, long b) {
  std::vector<Gemm> g;
  long c = spec.input_channels, h = spec.input_height, w = spec.input_width;
  long flat = spec.input_size;
  bool params_before = false;
  int index = 0;
  for (const auto& l : spec.layers) {
    const std::string name = l.kind + std::to_string(++index);
    if (l.kind == "conv2d") {
      const long ho = (h + 2 * l.padding - l.kernel) / l.stride + 1;
      const long wo = (w + 2 * l.padding - l.kernel) / l.stride + 1;
      const long k = c * l.kernel * l.kernel, n = ho * wo * b;
      g.push_back({name + " forward", l.out_channels, k, n, 0});
      g.push_back({name + " dW", l.out_channels, n, k, 1});
      if (params_before) g.push_back({name + " dX", k, l.out_channels, n, 2});
      c = l.out_channels, h = ho, w = wo, flat = c * h * w;
      params_before = true;
    } else if (l.kind == "maxpool") {
      const long s = l.stride > 0 ? l.stride : l.kernel;
      h = (h - l.kernel) / s + 1, w = (w - l.kernel) / s + 1, flat = c * h * w;
    } else if (l.kind == "dense") {
      g.push_back({name + " forward", l.units, flat, b, 0});
      g.push_back({name + " dW", l.units, b, flat, 1});
      if (params_before) g.push_back({name + " dX", flat, l.units, b, 2});
      flat = l.units;
      params_before = true;
    }
  }
  return g;
}

// Seconds per call of one product at its shape (best of `trials` means over `seconds`).
double time_gemm(const Gemm& p, double seconds, int trials) {
  util::Rng rng(3, "gemm");
  auto fill = [&](nn::Matrix& m) {
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.normal());
  };
  // kind 1: C (m x n) = A (m x k) * B^T with B (n x k); kind 2: C = A^T * B with A (k x m).
  nn::Matrix a(p.kind == 2 ? p.k : p.m, p.kind == 2 ? p.m : p.k);
  nn::Matrix b(p.kind == 1 ? p.n : p.k, p.kind == 1 ? p.k : p.n);
  nn::Matrix out(p.m, p.n);
  fill(a);
  fill(b);
  auto once = [&] {
    if (p.kind == 0) out.noalias() = a * b;
    if (p.kind == 1) out.noalias() = a * b.transpose();
    if (p.kind == 2) out.noalias() = a.transpose() * b;
  };
  once();
  double best = 1e300;
  for (int t = 0; t < trials; ++t) {
    long calls = 0;
    const auto t0 = Clock::now();
    do {
      once();
      ++calls;
    } while (since(t0) < seconds / trials);
    best = std::min(best, since(t0) / static_cast<double>(calls));
  }
  return best;
}

// Seconds per training step of the model at batch b (best of `trials` means).
double time_model(const nn::Model& model, int b, double seconds, int trials) {
  nn::Vector params, grad;
  model.init_params(params, 1);
  util::Rng rng(7, "bench");
  nn::Matrix x(model.input_size(), b);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.normal());
  std::vector<int> y(static_cast<std::size_t>(b));
  for (int& v : y) v = static_cast<int>(rng.below(static_cast<uint64_t>(model.num_classes())));
  nn::Workspace ws;
  model.loss_and_gradient(params, x, y, grad, 0, ws);  // warm-up: sizes the workspace
  double best = 1e300;
  for (int t = 0; t < trials; ++t) {
    long calls = 0;
    const auto t0 = Clock::now();
    do {
      model.loss_and_gradient(params, x, y, grad, 0, ws);
      ++calls;
    } while (since(t0) < seconds / trials);
    best = std::min(best, since(t0) / static_cast<double>(calls));
  }
  return best;
}

bench::Options parse(int argc, char** argv) {
  return bench::parse_options(
      argc, argv, defaults(), false,
      "usage: bench_limit [--out FILE.json] [--models mlp,cnn2] [--batches 64,256,1024]\n"
      "                   [--seconds S]\n"
      "Training throughput (forward + full backward, one thread) of each model next to its\n"
      "GEMM-bound limit: the step's matrix products timed alone with Eigen at their shapes.\n"
      "Models missing from models/ are skipped. S seconds per measurement (best of 3).\n");
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Options o = parse(argc, argv);
  std::string json = "{\n  \"results\": [";
  std::printf("%-6s %6s %14s %14s %7s %10s %12s\n", "model", "batch", "samples/s", "GEMM limit",
              "ratio", "GEMM GF/s", "GEMM MF/smp");
  bool first = true;
  for (const auto& name : o.models) {
    const std::string path = std::string(FEDGRID_SOURCE_DIR) + "/models/" + name + ".yaml";
    if (!std::filesystem::exists(path)) {
      std::printf("%-6s skipped (no %s)\n", name.c_str(), path.c_str());
      continue;
    }
    const nn::ModelSpec spec = io::load_model_spec(path);
    const nn::Model model = nn::Model::build(spec);
    for (int b : o.batches) {
      double gemm_s = 0, flops = 0;
      for (const auto& p : model_gemms(spec, b)) {
        gemm_s += time_gemm(p, o.seconds / 4, 3);
        flops += 2.0 * p.m * p.k * p.n;
      }
      const double step_s = time_model(model, b, o.seconds, 3);
      const double rate = b / step_s, limit = b / gemm_s;
      std::printf("%-6s %6d %14.0f %14.0f %7.3f %10.2f %12.3f\n", name.c_str(), b, rate, limit,
                  rate / limit, flops / gemm_s * 1e-9, flops / b * 1e-6);
      char row[512];
      std::snprintf(row, sizeof row,
                    "%s\n    {\"model\": \"%s\", \"batch\": %d, \"samples_per_s\": %.6g, "
                    "\"gemm_limit_samples_per_s\": %.6g, \"ratio\": %.6g, \"gemm_gflops\": %.6g, "
                    "\"gemm_flops_per_sample\": %.6g, \"step_seconds\": %.6g}",
                    first ? "" : ",", name.c_str(), b, rate, limit, rate / limit,
                    flops / gemm_s * 1e-9, flops / b, step_s);
      json += row;
      first = false;
    }
  }
  json += "\n  ]\n}\n";
  std::filesystem::create_directories(std::filesystem::path(o.out).parent_path());
  std::ofstream(o.out) << json;
  std::printf("wrote %s\n", o.out.c_str());
  return 0;
}
