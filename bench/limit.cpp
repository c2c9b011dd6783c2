// bench_limit: training (Model::loss_and_gradient, forward + full backward) and evaluation
// (forward only) throughput of a model, one thread, against the core's peak float rate measured
// in the same run (Eigen SGEMM 1024^3) with the model's exact FLOPs (Model::flops); second
// column: the GEMM-bound limit of the step's products timed alone with Eigen at their shapes.
// Compares the convolution paths side by side (--conv). Prints a table, writes JSON.
#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/lanes.hpp"
#include "nn/model.hpp"
#include "options.hpp"
#include "util/json.hpp"
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
  o.models = {"mlp", "cnn2", "vgg11"};
  o.batches = {64, 256};
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

// Seconds per call of f (best of `trials` means over `seconds`), after one untimed call.
template <class F>
double time_calls(F&& f, double seconds, int trials) {
  f();
  double best = 1e300;
  for (int t = 0; t < trials; ++t) {
    long calls = 0;
    const auto t0 = Clock::now();
    do {
      f();
      ++calls;
    } while (since(t0) < seconds / trials);
    best = std::min(best, since(t0) / static_cast<double>(calls));
  }
  return best;
}

// The core's float peak as reached in practice: Eigen's SGEMM at a well-shaped 1024^3, GFLOP/s.
double peak_gflops(double seconds) {
  const int n = 1024;
  nn::Matrix a = nn::Matrix::Random(n, n), b = nn::Matrix::Random(n, n), c(n, n);
  const double s = time_calls([&] { c.noalias() = a * b; }, seconds, 3);
  return 2.0 * n * n * n / s * 1e-9;
}

// The core's physical float peak: independent fused multiply-adds on 16-float vectors held in
// registers (12 chains hide the FMA latency on two ports), nothing loaded or stored, GFLOP/s.
double fma_peak_gflops(double seconds) {
  typedef float V16 __attribute__((vector_size(64)));
  constexpr int kChains = 12;
  constexpr long kIters = 1 << 16;
  V16 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = V16{} + 0.5f * float(i);
  V16 a = V16{} + 0.999999f, b = V16{} + 1e-7f;
  asm volatile("" : "+m"(a), "+m"(b));  // not constants the compiler could fold
  const double s = time_calls(
      [&] {
        for (long t = 0; t < kIters; ++t) {
          for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;
        }
        for (int i = 0; i < kChains; ++i) asm volatile("" : "+x"(acc[i]));
      },
      seconds, 3);
  float sink = 0;
  for (int i = 0; i < kChains; ++i) sink += acc[i][0];
  asm volatile("" : : "x"(sink));
  return 2.0 * 16 * kChains * double(kIters) / s * 1e-9;
}

struct Step {
  double train_s = 0, eval_s = 0;  // seconds per batch
};

// Training step (loss_and_gradient, full backward) and forward-only evaluation step (logits,
// running statistics) of the model at batch b.
Step time_model(const nn::Model& model, int b, double seconds, int trials) {
  nn::Vector params, grad;
  model.init_params(params, 1);
  util::Rng rng(7, "bench");
  nn::Matrix x(model.input_size(), b), logits;
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.normal());
  std::vector<int> y(static_cast<std::size_t>(b));
  for (int& v : y) v = static_cast<int>(rng.below(static_cast<uint64_t>(model.num_classes())));
  nn::Workspace ws;
  Step s;
  s.train_s =
      time_calls([&] { model.loss_and_gradient(params, x, y, grad, 0, ws); }, seconds, trials);
  s.eval_s = time_calls([&] { model.forward(params, x, logits, ws); }, seconds / 2, trials);
  return s;
}

bench::Options parse(int argc, char** argv, std::vector<std::string>& convs) {
  bench::Takes takes;
  takes.extra = [&convs](CLI::App& app) {
    app.add_option("--conv", convs,
                   "convolution paths to compare (auto: lanes, kernel by shape;\n"
                   "columns: im2col per sample column; direct / gemm: lanes with that\n"
                   "kernel everywhere)")
        ->type_name("PATHS")
        ->delimiter(',')
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check(CLI::IsMember({"auto", "columns", "direct", "gemm"}))
        ->capture_default_str();
  };
  return bench::parse_options(
      argc, argv, defaults(), takes, "bench_limit",
      "Training (forward + full backward) and evaluation (forward only) throughput, one thread,\n"
      "against the core's peak float rate measured in the same run (Eigen SGEMM 1024^3) with the\n"
      "model's exact FLOPs per sample (Model::flops), and against the GEMM-bound limit of the\n"
      "same products timed alone with Eigen at their shapes. Models missing from models/ are\n"
      "skipped. S seconds per measurement (best of 3).");
}

// Selects a convolution path; false when it does not apply to the model.
bool select_path(nn::Model& model, const std::string& conv) {
  if (!model.lanes_capable() && conv != "auto") return false;  // no image layers: one path
  model.use_lanes(conv != "columns");
  nn::lanes::set_conv_policy(conv == "direct" ? 1 : conv == "gemm" ? 2 : 0);
  return true;
}

struct Row {
  std::string model, conv;
  int batch = 0;
  nn::ModelFlops flops;
  Step step;
  double gemm_s = 0, gemm_flops = 0;
};

void print_and_write(const std::vector<Row>& rows, const std::vector<double>& peaks,
                     const std::vector<double>& fma_peaks, const std::string& out) {
  const double peak = *std::max_element(peaks.begin(), peaks.end());
  const double fma = *std::max_element(fma_peaks.begin(), fma_peaks.end());
  std::printf("peak: Eigen SGEMM 1024^3, 1 thread: %.1f GFLOP/s (max of", peak);
  for (double p : peaks) std::printf(" %.1f", p);
  std::printf(" measured before, between and after the models)\n");
  std::printf("physical peak: register-only FMA loop, 1 thread: %.1f GFLOP/s (max of", fma);
  for (double p : fma_peaks) std::printf(" %.1f", p);
  std::printf("); train%% and eval%% are of the SGEMM peak, FMA%%t/e of this one\n");
  std::printf("%-6s %5s %-7s %9s %9s %8s %8s %6s %6s %6s %6s %9s %6s\n", "model", "batch", "conv",
              "train/s", "eval/s", "MF/train", "MF/fwd", "train%", "eval%", "FMA%t", "FMA%e",
              "GEMMlim/s", "ratio");
  util::Json json;
  json["results"] = util::Json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const double train = r.batch / r.step.train_s, eval = r.batch / r.step.eval_s;
    const double limit = r.batch / r.gemm_s;
    const double train_gf = train * r.flops.training() * 1e-9;
    const double eval_gf = eval * r.flops.forward * 1e-9;
    std::printf(
        "%-6s %5d %-7s %9.0f %9.0f %8.3f %8.3f %5.0f%% %5.0f%% %5.0f%% %5.0f%% %9.0f %6.2f\n",
        r.model.c_str(), r.batch, r.conv.c_str(), train, eval, r.flops.training() * 1e-6,
        r.flops.forward * 1e-6, 100 * train_gf / peak, 100 * eval_gf / peak, 100 * train_gf / fma,
        100 * eval_gf / fma, limit, train / limit);
    util::Json row;
    row["model"] = r.model;
    row["batch"] = r.batch;
    row["conv"] = r.conv;
    row["train_samples_per_s"] = util::significant(train, 6);
    row["eval_samples_per_s"] = util::significant(eval, 6);
    row["flops_forward"] = std::llround(r.flops.forward);
    row["flops_backward"] = std::llround(r.flops.backward);
    row["flops_skipped"] = std::llround(r.flops.skipped);
    row["train_gflops"] = util::significant(train_gf, 4);
    row["eval_gflops"] = util::significant(eval_gf, 4);
    row["train_fraction_of_peak"] = util::significant(train_gf / peak, 4);
    row["eval_fraction_of_peak"] = util::significant(eval_gf / peak, 4);
    row["train_fraction_of_fma_peak"] = util::significant(train_gf / fma, 4);
    row["eval_fraction_of_fma_peak"] = util::significant(eval_gf / fma, 4);
    row["gemm_limit_samples_per_s"] = util::significant(limit, 6);
    row["ratio_to_gemm_limit"] = util::significant(train / limit, 4);
    row["gemm_gflops_at_shapes"] = util::significant(r.gemm_flops / r.gemm_s * 1e-9, 4);
    json["results"].push_back(row);
  }
  json["peak_gflops"] = util::significant(peak, 4);
  json["peak_gflops_end"] = util::significant(peaks.back(), 4);
  json["peak_what"] = "Eigen SGEMM 1024^3, 1 thread, max over the run";
  json["fma_peak_gflops"] = util::significant(fma, 4);
  json["fma_peak_what"] =
      "register-only loop of 16-float FMAs, 12 chains, 1 thread, max over the run";
  std::filesystem::create_directories(std::filesystem::path(out).parent_path());
  std::ofstream(out) << util::json_text(json);
  std::printf("wrote %s\n", out.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> convs = {"auto", "columns"};
  const bench::Options o = parse(argc, argv, convs);
  std::vector<double> peaks = {peak_gflops(1.0)}, fma_peaks = {fma_peak_gflops(0.5)};
  std::vector<Row> rows;
  for (const auto& name : o.models) {
    const std::string path = std::string(FEDGRID_SOURCE_DIR) + "/models/" + name + ".yaml";
    if (!std::filesystem::exists(path)) {
      std::printf("%-6s skipped (no %s)\n", name.c_str(), path.c_str());
      continue;
    }
    const nn::ModelSpec spec = io::load_model_spec(path);
    nn::Model model = nn::Model::build(spec);
    for (int b : o.batches) {
      double gemm_s = 0, gemm_flops = 0;
      for (const auto& p : model_gemms(spec, b)) {
        gemm_s += time_gemm(p, o.seconds / 4, 3);
        gemm_flops += 2.0 * p.m * p.k * p.n;
      }
      for (const auto& conv : convs) {
        if (!select_path(model, conv)) continue;
        rows.push_back(
            {name, conv, b, model.flops(), time_model(model, b, o.seconds, 3), gemm_s, gemm_flops});
        std::fprintf(stderr, "[bench_limit] %s batch %d %s: %.0f train/s\n", name.c_str(), b,
                     conv.c_str(), b / rows.back().step.train_s);
      }
    }
    peaks.push_back(peak_gflops(1.0));
    fma_peaks.push_back(fma_peak_gflops(0.5));
  }
  nn::lanes::set_conv_policy(0);
  print_and_write(rows, peaks, fma_peaks, o.out);
  return 0;
}
