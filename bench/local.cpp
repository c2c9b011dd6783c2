// bench_local: local-training throughput (samples/s over all local steps, one thread) with K
// local steps against one step at the same batch, for the MLP and CNN2: what the per-step
// optimiser work (client momentum, proximal term, parameter update) costs on top of the
// gradients. K = 1 and K are measured alternately, several trials; the table gives medians.
#include "train/local.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/model.hpp"
#include "options.hpp"
#include "util/json.hpp"
#include "util/rng.hpp"

namespace {

using namespace fedgrid;
using Clock = std::chrono::steady_clock;

// The same random batch every step (the sampler's copy is not what is measured).
class FixedBatch final : public train::BatchSource {
 public:
  FixedBatch(int features, int batch, int classes) : x_(features, batch), y_(batch) {
    util::Rng rng(42);
    for (Eigen::Index i = 0; i < x_.size(); ++i) x_.data()[i] = float(rng.normal());
    for (int& v : y_) v = int(rng.below(uint64_t(classes)));
  }
  void next(nn::Matrix& x, std::vector<int>& y) override {
    x = x_;
    y = y_;
  }

 private:
  nn::Matrix x_;
  std::vector<int> y_;
};

// Samples per second of local_update with `steps` steps, timed for about `seconds`.
double rate(const nn::Model& model, const nn::Vector& w, int batch, int steps,
            const train::LocalSgd& opt, double seconds) {
  FixedBatch data(model.input_size(), batch, model.num_classes());
  train::LocalScratch s;
  nn::Vector out;
  train::local_update(model, w, steps, 0, opt, nullptr, data, s, out);  // warm-up
  long calls = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    train::local_update(model, w, steps, 0, opt, nullptr, data, s, out);
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < seconds);
  return double(calls) * steps * batch / elapsed;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options d;
  d.out = std::string(FEDGRID_SOURCE_DIR) + "/bench/results/local.json";
  d.models = {"mlp", "cnn2"};
  d.batches = {32, 256};
  d.seconds = 0.5;
  const bench::Options o = bench::parse_options(
      argc, argv, d, bench::Takes{}, "bench_local",
      "Local-training throughput with 5 local steps (client momentum 0.9, proximal term 0.01)\n"
      "against 1 step at the same batch, one thread: 5 trials of S seconds each, alternating;\n"
      "prints medians and their ratio, writes JSON.");
  const int K = 5, trials = 5;
  util::Json json;
  json["local_steps"] = K;
  json["results"] = util::Json::array();
  std::printf("| model | batch | 1 step samples/s | %d steps samples/s | ratio |\n", K);
  std::printf("|---|---|---|---|---|\n");
  for (const auto& name : o.models) {
    const nn::Model model = nn::Model::build(
        io::load_model_spec(std::string(FEDGRID_SOURCE_DIR) + "/models/" + name + ".yaml"));
    nn::Vector w(Eigen::Index(model.num_params()));
    model.init_params(w, 1);
    for (int b : o.batches) {
      const train::LocalSgd opt{0.05f, 0.9, 0.0, 0.01};
      std::vector<double> one, many, ratio;
      for (int t = 0; t < trials; ++t) {
        one.push_back(rate(model, w, b, 1, opt, o.seconds));
        many.push_back(rate(model, w, b, K, opt, o.seconds));
        ratio.push_back(many.back() / one.back());
      }
      std::printf("| %s | %d | %.0f | %.0f | %.3f |\n", name.c_str(), b, median(one), median(many),
                  median(ratio));
      std::fflush(stdout);
      json["results"].push_back({{"model", name},
                                 {"batch", b},
                                 {"one_step", std::round(median(one) * 10) / 10},
                                 {"k_steps", std::round(median(many) * 10) / 10},
                                 {"ratio", std::round(median(ratio) * 1e4) / 1e4}});
    }
  }
  if (!o.out.empty()) std::ofstream(o.out) << util::json_text(json);
  return 0;
}
