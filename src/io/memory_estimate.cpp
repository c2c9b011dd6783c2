// Run size estimate (see memory_estimate.hpp). Sizes in doubles: a spec may multiply to more
// than 2^64. The coefficients are deliberately rough (what matters is the order of magnitude):
// measured peak RSS of the scale runs (bench/README.md) is below these figures.
#include "io/memory_estimate.hpp"

#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "util/error.hpp"

namespace fedgrid::io {

namespace {

namespace fs = std::filesystem;
constexpr double kFloat = 4;

// Count and per-sample size of an IDX file from its header (raw or gzipped), or 0s.
std::pair<double, double> idx_header(const std::string& dir, const std::string& base) {
  std::error_code ec;
  std::string path = (fs::path(dir) / base).string();
  if (!fs::is_regular_file(path, ec)) path += ".gz";
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return {0, 0};
  unsigned char h[16] = {0};
  const int n = gzread(f, h, sizeof h);
  gzclose(f);
  auto be = [&](int i) {
    return static_cast<double>((uint32_t{h[i]} << 24) | (uint32_t{h[i + 1]} << 16) |
                               (uint32_t{h[i + 2]} << 8) | uint32_t{h[i + 3]});
  };
  if (n < 8) return {0, 0};
  return {be(4), n >= 16 && h[3] == 3 ? be(8) * be(12) : 1};
}

// Samples and values per sample of the data set (0s when unknown).
void data_size(const Scenario& s, double* samples, double* values) {
  const auto& d = s.data;
  if (d.dataset == "synthetic") {
    *samples = static_cast<double>(d.synthetic.train) + static_cast<double>(d.synthetic.test);
    *values = d.synthetic.features;
  } else if (d.dataset == "cifar10") {
    std::error_code ec;
    double bytes = 0;
    for (const auto& e : fs::directory_iterator(d.path, ec)) {
      if (e.path().extension() == ".bin") bytes += static_cast<double>(e.file_size(ec));
    }
    *samples = bytes / 3073;
    *values = 3072;
  } else {
    const auto train = idx_header(d.path, "train-images-idx3-ubyte");
    const auto test = idx_header(d.path, "t10k-images-idx3-ubyte");
    *samples = train.first + test.first;
    *values = std::max(train.second, test.second);
  }
}

// Parameters, activation values per sample (all layers: training keeps them for backprop) and
// the largest layer output of the model spec (walks the shapes; stops where a shape would be
// invalid, which Model::build reports).
void model_size(const nn::ModelSpec& m, double* params, double* activations, double* widest) {
  double c = m.input_channels > 0 ? m.input_channels : 1;
  double h = m.input_channels > 0 ? m.input_height : 1;
  double w = m.input_channels > 0 ? m.input_width : m.input_size;
  double p = 0, a = c * h * w, top = a;
  for (const auto& l : m.layers) {
    if (l.kind == "dense") {
      p += c * h * w * l.units + l.units;
      c = h = 1;
      w = l.units;
    } else if (l.kind == "conv2d") {
      p += static_cast<double>(l.out_channels) * c * l.kernel * l.kernel + l.out_channels;
      h = std::floor((h + 2.0 * l.padding - l.kernel) / l.stride) + 1;
      w = std::floor((w + 2.0 * l.padding - l.kernel) / l.stride) + 1;
      c = l.out_channels;
    } else if (l.kind == "maxpool") {
      const double st = l.stride > 0 ? l.stride : l.kernel;
      h = std::floor((h - l.kernel) / st) + 1;
      w = std::floor((w - l.kernel) / st) + 1;
    } else if (l.kind == "batchnorm") {
      p += 4 * c;
    }
    if (h < 1 || w < 1) break;
    a += c * h * w;
    top = std::max(top, c * h * w);
  }
  *params = p;
  *activations = a;
  *widest = top;
}

std::string bytes_text(double b) {
  char buf[32];
  const char* unit = b >= 1073741824.0 ? "GiB" : b >= 1048576.0 ? "MiB" : "KiB";
  const double v = b / (b >= 1073741824.0 ? 1073741824.0 : b >= 1048576.0 ? 1048576.0 : 1024.0);
  std::snprintf(buf, sizeof buf, v < 10 ? "%.2g %s" : "%.3g %s", v, unit);
  return buf;
}

// Seconds the run spans in virtual time, or 0 when it depends on how long rounds take.
double horizon(const Scenario& s) {
  const auto& a = s.algorithm;
  if (a.time_budget > 0) return a.time_budget;
  if (a.deadline > 0) return a.rounds * a.deadline;
  if (a.round_timeout > 0) return a.rounds * a.round_timeout;
  return 0;
}

}  // namespace

std::string RunEstimate::text() const {
  return bytes_text(total()) + " (data " + bytes_text(data) + ", model " + bytes_text(model) +
         ", clients " + bytes_text(clients) + ", plan " + bytes_text(plan) + ")";
}

RunEstimate estimate_run(const Scenario& s, int threads) {
  RunEstimate e;
  double samples = 0, values = 0, params = 0, act = 0, widest = 0;
  data_size(s, &samples, &values);
  model_size(s.model, &params, &act, &widest);
  const double K = std::min(s.algorithm.clients_per_round, s.clients);
  const double U = s.clients;
  // Decoded floats, the bytes they came from, the copies of the splits (quickstart: 630 MiB
  // peak RSS measured, 820 MiB estimated), and the program itself (SimGrid, Eigen: ~100 MiB).
  e.data = samples * values * (3 * kFloat + 1) + 100 * 1048576.0;
  const double batch = s.algorithm.training.batch_rule == fl::BatchRule::kFixed
                           ? s.algorithm.training.batch
                           : std::max(1.0, samples / std::max(1.0, U));
  if (s.timing.timing_only) {
    e.model = 2 * params * kFloat;
  } else {  // params, velocity, direction, initial, round copy, checkpoint + K gradients
    e.model = (6 + K) * params * kFloat +
              threads * (params + 3 * batch * act + 2 * 1024 * widest) * kFloat;
  }
  e.clients = U * 600 + samples * 8 + K * 12 * 1024 + U * 2 * 1024;
  // Persistent client optimiser state (client_optimizer.state: persistent): a buffer per client.
  if (s.algorithm.training.client.persistent && !s.timing.timing_only)
    e.clients += U * params * kFloat;
  e.plan = s.algorithm.rounds * K * 40;
  if (s.availability.model == platform::AvailabilityModel::kRandom) {
    const double failing = std::round(s.availability.fraction * U);
    e.events = 2 * failing * horizon(s) / (s.availability.mean_up + s.availability.mean_down);
  }
  return e;
}

double usable_memory() {
  double limit = std::numeric_limits<double>::infinity();
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (meminfo >> key >> kb) {
    if (key == "MemTotal:") limit = kb * 1024;
    meminfo.ignore(256, '\n');
  }
  for (const char* cg :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream f(cg);
    double v = 0;
    if (f >> v && v > 0) limit = std::min(limit, v);
  }
  for (int r : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit rl {};
    if (getrlimit(r, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      limit = std::min(limit, static_cast<double>(rl.rlim_cur));
    }
  }
  return limit;
}

void check_run_size(const Scenario& s, int threads, bool allow_large) {
  if (allow_large) return;
  const RunEstimate e = estimate_run(s, threads);
  const double have = usable_memory();
  if (e.total() > have) {
    util::throw_input_error(s.file, 0, "",
                            "a run that fits in this machine's memory (" + bytes_text(have) +
                                "; --allow-large to try anyway)",
                            "an estimate of " + e.text());
  }
  if (e.events > kMaxEvents) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", e.events);
    util::throw_input_error(
        s.file, 0, "availability",
        "at most 1e8 device state changes over the run (--allow-large to run anyway)",
        std::string("an estimate of ") + buf + " (mean_up + mean_down is tiny next to the " +
            std::to_string(static_cast<long long>(horizon(s))) + " s the run lasts)");
  }
}

}  // namespace fedgrid::io
