// Data loading, validation split, partition and model construction for one scenario.
#include "io/experiment.hpp"

#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::io {

static data::TrainTest load_data(const Scenario& s) {
  if (s.data.dataset == "synthetic") {
    return data::make_synthetic(s.data.synthetic, util::derive_seed(s.seed, "data"));
  }
  if (s.data.dataset == "cifar10") {
    return data::read_cifar10_folder(s.data.path, s.data.train_limit, s.data.test_limit);
  }
  return data::read_idx_folder(s.data.path, s.data.dataset);
}

// An image model ([C, H, W] input) needs data of exactly that shape; a flat model only the
// number of features.
static void check_input_shape(const Scenario& s, const nn::Model& m, const data::Dataset& d) {
  auto shape = [](int c, int h, int w) {
    return "[" + std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w) + "]";
  };
  if (m.input_channels() > 0) {
    const std::string want = shape(m.input_channels(), m.input_height(), m.input_width());
    if (d.height <= 0) {
      util::throw_input_error(s.model_file, s.model.line, "input",
                              "a flat input of " + std::to_string(d.features()) + " features (" +
                                  s.data.dataset + " samples have no image shape)",
                              want);
    }
    if (m.input_channels() != d.channels || m.input_height() != d.height ||
        m.input_width() != d.width) {
      util::throw_input_error(s.model_file, s.model.line, "input",
                              shape(d.channels, d.height, d.width) + " (the image shape of " +
                                  s.data.dataset + " samples)",
                              want);
    }
  }
  if (m.input_size() != d.features()) {
    util::throw_input_error(
        s.model_file, s.model.line, "input",
        std::to_string(d.features()) + " features (the size of " + s.data.dataset + " samples)",
        std::to_string(m.input_size()));
  }
}

// The first n samples (n = 0: all), truncated in place: no copy of the data.
static data::Dataset head(data::Dataset d, std::size_t n) {
  if (n == 0 || n >= d.size()) return d;
  d.x.conservativeResize(Eigen::NoChange, static_cast<Eigen::Index>(n));
  d.y.resize(n);
  return d;
}

Experiment prepare_experiment(const Scenario& s) {
  Experiment e{s, nn::Model::build(s.model), {}, {}, {}, {}, {}};
  data::TrainTest tt = load_data(s);
  e.train = head(std::move(tt.train), s.data.train_limit);
  e.test = head(std::move(tt.test), s.data.test_limit);
  check_input_shape(s, e.model, e.train);
  const auto& law = s.timing.law;
  if (law.per_stage() && law.samples.size() != static_cast<std::size_t>(e.model.num_stages())) {
    util::throw_input_error(s.timing.samples_file, 0, "stage",
                            "rows for each of the model's " + std::to_string(e.model.num_stages()) +
                                " stages (0 .. " + std::to_string(e.model.num_stages() - 1) + ")",
                            "stages 0 .. " + std::to_string(law.samples.size() - 1));
  }
  if (e.model.num_classes() != e.train.num_classes) {
    util::throw_input_error(
        s.model_file, 0, "layers (last dense units)",
        std::to_string(e.train.num_classes) + " outputs (classes of " + s.data.dataset + ")",
        std::to_string(e.model.num_classes()));
  }
  const std::size_t need = s.data.validation + static_cast<std::size_t>(s.clients);
  if (e.train.size() < need) {
    util::throw_input_error(
        s.file, 0, "data.validation",
        "a training set of at least validation + clients = " + std::to_string(need) + " samples",
        std::to_string(e.train.size()) + " samples in " + s.data.dataset);
  }
  if (s.data.validation > 0) {
    e.validation =
        data::split_validation(e.train, s.data.validation, util::derive_seed(s.seed, "validation"));
  }
  const uint64_t pseed = util::derive_seed(s.seed, "partition");
  if (s.data.partition == "dirichlet") {
    e.shards = data::dirichlet_partition(e.train.y, e.train.num_classes, s.clients, s.data.alpha,
                                         pseed, s.data.min_shard);
  } else {
    e.shards = data::iid_partition(e.train.size(), s.clients, pseed);
  }
  e.model.init_params(e.initial_params, util::derive_seed(s.seed, "init"));
  return e;
}

std::string partition_csv(const Experiment& e) {
  std::string out = "client,samples";
  for (int c = 0; c < e.train.num_classes; ++c) out += ",label_" + std::to_string(c);
  out += "\n";
  auto hist = data::label_histogram(e.shards, e.train.y, e.train.num_classes);
  for (std::size_t u = 0; u < e.shards.size(); ++u) {
    out += std::to_string(u) + "," + std::to_string(e.shards[u].size());
    for (auto v : hist[u]) out += "," + std::to_string(v);
    out += "\n";
  }
  return out;
}

}  // namespace fedgrid::io
