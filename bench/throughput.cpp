// bench_throughput: training throughput (samples/s of forward + backward, one thread) of the MLP,
// CNN2 and VGG11 at several batch sizes, next to PyTorch's on the same machine (the JSON written
// by bench/torch_throughput.py), printed as a table and written as JSON.
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
#include "util/json.hpp"
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

// Fills the PyTorch columns from torch_throughput.py's JSON (util::InputError naming the file
// when it is not that JSON).
void add_torch(std::vector<Result>& results, const std::string& path, std::string& torch_version) {
  if (!std::filesystem::exists(path)) return;
  const std::string expected = "torch_throughput.py's JSON ({torch, results: [...]})";
  const util::Json doc = util::read_json_file(path, expected);
  try {
    torch_version = doc.value("torch", std::string("?"));
    for (const auto& row : doc.at("results")) {
      for (Result& r : results) {
        if (row.at("model").get<std::string>() != r.model || row.at("batch").get<int>() != r.batch)
          continue;
        r.torch1 = row.at("threads_1").at("samples_per_s").get<double>();
        r.torch_all = row.at("threads_all").at("samples_per_s").get<double>();
        r.torch_threads = row.at("threads_all").at("threads").get<int>();
      }
    }
  } catch (const util::Json::exception& e) {
    util::throw_input_error(path, 0, "", expected, std::string("another shape (") + e.what() + ")");
  }
}

void write_json(const std::vector<Result>& results, const bench::Options& o,
                const std::string& tv) {
  std::filesystem::path p(o.out);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  util::Json j;
  j["what"] = "training throughput, samples/s of forward + backward (gradient only)";
  j["fedgrid_threads"] = 1;
  j["seconds_per_measurement"] = o.seconds;
  j["torch"] = tv;
  j["results"] = util::Json::array();
  for (const Result& r : results) {
    util::Json row;
    row["model"] = r.model;
    row["batch"] = r.batch;
    row["fedgrid_samples_per_s"] = util::significant(r.rate, 6);
    row["iterations"] = r.iterations;
    row["seconds"] = util::significant(r.seconds, 6);
    row["torch_1thread_samples_per_s"] = util::significant(r.torch1, 6);
    row["torch_all_threads_samples_per_s"] = util::significant(r.torch_all, 6);
    row["torch_all_threads"] = r.torch_threads;
    row["ratio_vs_torch_1thread"] = util::significant(r.torch1 > 0 ? r.rate / r.torch1 : 0, 6);
    j["results"].push_back(row);
  }
  std::ofstream(o.out) << util::json_text(j);
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
