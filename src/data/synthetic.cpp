// Seeded synthetic classification data: Gaussian clusters around random class means.
#include <cmath>

#include "data/dataset.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::data {
namespace {

// n samples with balanced labels (i mod classes, then shuffled): x = mean[:, y] + N(0, I).
Dataset draw_samples(const Eigen::MatrixXf& means, std::size_t n, util::Rng& rng) {
  const int classes = static_cast<int>(means.cols());
  Dataset d;
  d.name = "synthetic";
  d.num_classes = classes;
  d.channels = 1;
  d.height = 0;
  d.width = 0;
  d.y.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    d.y[i] = static_cast<int>(i % static_cast<std::size_t>(classes));
  util::shuffle(d.y.begin(), d.y.end(), rng);
  d.x.resize(means.rows(), static_cast<Eigen::Index>(n));
  for (std::size_t j = 0; j < n; ++j) {
    const auto col = static_cast<Eigen::Index>(j);
    for (Eigen::Index f = 0; f < means.rows(); ++f) {
      d.x(f, col) = means(f, d.y[j]) + static_cast<float>(rng.normal());
    }
  }
  return d;
}

void check_spec(const SyntheticSpec& s) {
  auto bad = [](const std::string& key, const std::string& expected, const std::string& found) {
    util::throw_input_error("synthetic dataset", 0, key, expected, found);
  };
  if (s.train == 0) bad("train", "at least one training sample", "0");
  if (s.features < 1) bad("features", "features >= 1", std::to_string(s.features));
  if (s.classes < 2) bad("classes", "classes >= 2", std::to_string(s.classes));
  if (!(s.separation >= 0.0) || !std::isfinite(s.separation)) {
    bad("separation", "a finite separation >= 0", std::to_string(s.separation));
  }
}

}  // namespace

TrainTest make_synthetic(const SyntheticSpec& spec, uint64_t seed) {
  check_spec(spec);
  // Class means ~ N(0, separation^2) per coordinate, shared by train and test.
  util::Rng mean_rng(seed, "synthetic-means");
  Eigen::MatrixXf means(spec.features, spec.classes);
  for (Eigen::Index c = 0; c < means.cols(); ++c) {
    for (Eigen::Index f = 0; f < means.rows(); ++f) {
      means(f, c) = static_cast<float>(spec.separation * mean_rng.normal());
    }
  }
  util::Rng train_rng(seed, "synthetic-train");
  util::Rng test_rng(seed, "synthetic-test");
  return TrainTest{draw_samples(means, spec.train, train_rng),
                   draw_samples(means, spec.test, test_rng)};
}

}  // namespace fedgrid::data
