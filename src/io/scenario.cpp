// Strict loader for scenario files and models/*.yaml (every key checked, file:line errors).
#include "io/scenario.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "io/scenario_sections.hpp"
#include "io/simgrid_cfg.hpp"
#include "io/yaml_json.hpp"
#include "io/yaml_map.hpp"
#include "platform/xml_check.hpp"
#include "util/error.hpp"
#include "util/names.hpp"

namespace fedgrid::io {

namespace fs = std::filesystem;
constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

static std::string dir_of(const std::string& file) {
  fs::path p = fs::path(file).parent_path();
  return p.empty() ? "." : p.string();
}

// input: 784 (flat features) or [C, H, W] (an image); layers: dense {units}, relu,
// conv2d {out_channels, kernel, stride = 1, padding = 0}, maxpool {kernel, stride = kernel},
// flatten, batchnorm. A key that does not belong to the layer's kind is an error.
nn::ModelSpec load_model_spec(const std::string& path) {
  YamlMap m(load_yaml_file(path), path, "", 0, "model");
  m.allow({"name", "input", "stages", "stage_map", "layers"});
  nn::ModelSpec spec;
  spec.file = path;
  m.note_default("name", "file name");
  spec.name = m.get_string("name", fs::path(path).stem().string());
  spec.line = m.line_of_key("input");
  YAML::Node input = m.get_node("input");
  if (input.IsSequence()) {
    m.declare("input", "list", "required", "3 items");
    m.declare("input[]", "integer", "-", "[1, 1000000]");
    const char* what = "a number of features (784) or an image shape [channels, height, width]";
    if (input.size() != 3) m.fail("input", what, "a list of " + std::to_string(input.size()));
    int dims[3];
    for (std::size_t i = 0; i < 3; ++i) {
      YAML::Node d = input[i];
      int64_t v = 0;
      try {
        v = d.IsScalar() ? std::stoll(d.Scalar()) : 0;
      } catch (const std::exception&) {
        v = 0;
      }
      if (!d.IsScalar() || std::to_string(v) != d.Scalar() || v < 1 || v > 1000000) {
        m.fail("input", "positive integers [channels, height, width] (each <= 1000000)",
               describe(d) + " at position " + std::to_string(i));
      }
      dims[i] = static_cast<int>(v);
    }
    spec.input_channels = dims[0];
    spec.input_height = dims[1];
    spec.input_width = dims[2];
    if (int64_t(dims[0]) * dims[1] * dims[2] > kIntMax) {
      m.fail("input", "an image of at most 2^31 - 1 values", "a larger shape");
    }
    spec.input_size = dims[0] * dims[1] * dims[2];
  } else {
    spec.input_size = static_cast<int>(m.get_int("input", 1, kIntMax));
  }
  const std::string grouping =
      m.get_choice("stages", {"tensor", "layer", "block"}, std::string("tensor"));
  spec.stages = grouping == "layer"   ? nn::StageGrouping::kLayer
                : grouping == "block" ? nn::StageGrouping::kBlock
                                      : nn::StageGrouping::kTensor;
  // Optional explicit stages: how many stages of the grouping each stage holds (0 = none).
  YAML::Node map = m.get_node("stage_map");
  m.declare("stage_map", "list", "-", "integers >= 0");
  if (map.IsDefined() && !map.IsNull()) {
    if (!map.IsSequence() || map.size() == 0) {
      m.fail("stage_map", "a non-empty list of stage counts (integers >= 0)", describe(map));
    }
    spec.stage_map_line = m.line_of_key("stage_map");
    for (const auto& v : map) {
      int c = -1;
      try {
        c = v.IsScalar() ? v.as<int>() : -1;
      } catch (const YAML::Exception&) {
      }
      if (c < 0) m.fail("stage_map", "counts that are integers >= 0", describe(v));
      spec.stage_map.push_back(c);
    }
  }
  YAML::Node layers = m.get_node("layers");
  m.declare("layers", "list", "required", "non-empty");
  if (!layers.IsDefined() || !layers.IsSequence() || layers.size() == 0) {
    m.fail("layers", "a non-empty list of layers", describe(layers));
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    YamlMap l(layers[i], path, "layers[" + std::to_string(i) + "]", m.line_of_key("layers"),
              "model");
    l.allow({"kind", "units", "out_channels", "kernel", "stride", "padding"});
    nn::LayerSpec ls;
    ls.line = l.line();
    ls.kind = l.get_choice("kind", {"dense", "relu", "conv2d", "maxpool", "flatten", "batchnorm"});
    std::vector<std::string> own;  // keys this kind takes
    if (ls.kind == "dense") {
      ls.units = static_cast<int>(l.get_int("units", 1, kIntMax));
      own = {"units"};
    } else if (ls.kind == "conv2d") {
      ls.out_channels = static_cast<int>(l.get_int("out_channels", 1, 1000000));
      ls.kernel = static_cast<int>(l.get_int("kernel", 1, 100000));
      ls.stride = static_cast<int>(l.get_int("stride", 1, 100000, 1));
      ls.padding = static_cast<int>(l.get_int("padding", 0, 100000, 0));
      own = {"out_channels", "kernel", "stride", "padding"};
    } else if (ls.kind == "maxpool") {
      ls.kernel = static_cast<int>(l.get_int("kernel", 1, 100000));
      l.note_default("stride", "kernel");
      ls.stride = static_cast<int>(l.get_int("stride", 1, 100000, ls.kernel));
      own = {"kernel", "stride"};
    }
    for (const char* key : {"units", "out_channels", "kernel", "stride", "padding"}) {
      if (l.has(key) && std::find(own.begin(), own.end(), key) == own.end()) {
        std::string allowed;
        for (const auto& k : own) allowed += (allowed.empty() ? "" : ", ") + k;
        l.fail(key,
               "no '" + std::string(key) + "' for a " + ls.kind + " layer" +
                   (allowed.empty() ? std::string(" (it takes no options)")
                                    : " (it takes: " + allowed + ")"),
               describe(layers[i][key]));
      }
    }
    l.finish();
    spec.layers.push_back(ls);
  }
  m.finish();
  return spec;
}

static DataConfig load_data(YamlMap m, const std::string& base) {
  m.allow({"dataset", "path", "validation", "train_limit", "test_limit", "partition", "synthetic"});
  DataConfig d;
  d.dataset = m.get_choice("dataset", {"fashion-mnist", "mnist", "cifar10", "synthetic"});
  if (d.dataset == "synthetic") {
    YamlMap s = m.get_map("synthetic");
    s.allow({"train", "test", "features", "classes", "separation"});
    d.synthetic.train = s.get_int("train", 1, kIntMax, 2000);
    d.synthetic.test = s.get_int("test", 1, kIntMax, 500);
    d.synthetic.features = static_cast<int>(s.get_int("features", 1, 100000, 20));
    d.synthetic.classes = static_cast<int>(s.get_int("classes", 2, 1000, 4));
    d.synthetic.separation = s.get_double("separation", 0, 1e6, 2.0);
    s.finish();
  } else {
    m.note_default("path", "per dataset");
    std::string def = d.dataset == "fashion-mnist"
                          ? "/usr/share/datasets/fashion-mnist"
                          : std::string(FEDGRID_DATA_DIR) + "/" + d.dataset;
    d.path = resolve_path(m.get_string("path", def), base);
    if (!fs::is_directory(d.path)) {
      std::string hint = d.dataset == "fashion-mnist"
                             ? "the IDX files (install it: apt-get install dataset-fashion-mnist)"
                         : d.dataset == "mnist"
                             ? "the IDX files (create it: scripts/fetch_mnist.sh)"
                             : "the CIFAR-10 binary files (download cifar-10-binary.tar.gz from "
                               "https://www.cs.toronto.edu/~kriz/cifar.html and extract "
                               "data_batch_1.bin ... data_batch_5.bin and test_batch.bin there)";
      m.fail("path", "a folder with " + hint, "'" + d.path + "' does not exist");
    }
  }
  d.validation = m.get_int("validation", 0, kIntMax, 0);
  d.train_limit = m.get_int("train_limit", 0, kIntMax, 0);
  d.test_limit = m.get_int("test_limit", 0, kIntMax, 0);
  if (m.has("partition")) {
    YamlMap p = m.get_map("partition");
    p.allow({"kind", "alpha", "min_size"});
    d.partition = p.get_choice("kind", {"iid", "dirichlet"});
    if (d.partition == "dirichlet") {
      d.alpha = p.get_double("alpha", 1e-6, 1e6);
      d.min_shard = p.get_int("min_size", 1, kIntMax, 1);
    }
    p.finish();
  } else {
    m.get_node("partition");
  }
  m.finish();
  return d;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                       std::optional<uint64_t> seed_override) {
  YAML::Node root = load_yaml_file(path);
  if (!root.IsMap()) util::throw_input_error(path, 1, "", "a YAML mapping", describe(root));
  for (const auto& o : overrides) apply_override(root, o);
  const OverrideScope override_errors(path, overrides);  // errors on --set keys name the --set
  std::vector<UsedDefault> defaults;                     // for the resolved scenario's JSON
  const DefaultsRecording record_defaults(&defaults);
  Scenario s;
  s.file = path;
  {
    YAML::Emitter em;
    em << root;
    s.resolved = em.c_str();
  }
  const std::string base = dir_of(path);
  YamlMap m(root, path, "");
  m.allow({"name", "seed", "clients", "data", "model", "platform", "timing", "algorithm",
           "training", "evaluation", "simgrid", "availability", "speed_change"});
  m.note_default("name", "file name");
  s.name = m.get_string("name", fs::path(path).stem().string());
  if (!util::is_safe_name(s.name)) {  // it names the output folder: results/<name>
    m.fail("name", std::string(util::kSafeNameRule) + "; the default is the file name",
           "'" + s.name + "'");
  }
  s.seed = m.get_uint64("seed");
  if (seed_override) s.seed = *seed_override;
  s.clients = static_cast<int>(m.get_int("clients", 1, 1000000));
  s.data = load_data(m.get_map("data"), base);
  s.model_file = resolve_path(m.get_string("model"), base);
  require_file(m, "model", "model file", s.model_file);
  s.model = load_model_spec(s.model_file);
  s.platform = load_platform(m.get_map("platform"), s.clients, base);
  s.timing = load_timing(m.get_section("timing"), base);
  const auto [algorithm, info] = load_algorithm(m.get_map("algorithm"), base, s.clients);
  s.algorithm = algorithm;
  const bool csv_active = !s.platform.fedscale && !s.platform.clients_file.empty() &&
                          platform::clients_csv_has_active(s.platform.clients_file);
  if (m.has("availability")) {
    if (csv_active) {
      m.fail("availability",
             "no 'availability' section: the 'active' column of platform.clients_csv (" +
                 s.platform.clients_file + ") says when each device is on",
             "both");
    }
    s.availability = load_availability(m.get_map("availability"), base, s.clients);
  } else {
    m.get_node("availability");
    if (csv_active) {
      s.availability.model = platform::AvailabilityModel::kTrace;
      s.availability.format = platform::TraceFormat::kClientsCsv;
      s.availability.trace_file = s.platform.clients_file;
    }
  }
  if (m.has("speed_change")) {
    s.speed_change = load_speed_change(m.get_map("speed_change"), base, s.clients);
  } else {
    m.get_node("speed_change");
  }
  if (!s.platform.file.empty()) {  // checked here: SimGrid aborts on many bad platforms
    s.platform.profile_files =
        platform::check_platform_file(s.platform.file, s.clients,
                                      s.availability.model != platform::AvailabilityModel::kAlways,
                                      s.speed_change.model != platform::SpeedChangeModel::kNone)
            .profile_files;
  }
  s.algorithm.seed = s.seed;
  s.algorithm.stage_law = s.timing.law;  // stage costs and availability: io/server_knowledge
  load_training(m.get_map("training"), *info, s.algorithm.training);
  {
    YamlMap e = m.get_section("evaluation");
    e.allow({"every", "validation", "target_accuracy"});
    s.evaluation.every = static_cast<int>(e.get_int("every", 1, kIntMax, 1));
    s.evaluation.validation = e.get_bool("validation", true);
    if (e.has("target_accuracy")) {
      s.evaluation.target_accuracy =
          e.get_double("target_accuracy", std::numeric_limits<double>::min(), 1);
    }
    e.finish();
  }
  if (m.has("simgrid")) {
    YamlMap g = m.get_map("simgrid");
    g.allow({"cfg"});
    YAML::Node cfg = g.get_node("cfg");
    g.declare("cfg", "list", "-", "-");
    if (cfg.IsDefined()) {
      if (!cfg.IsSequence()) g.fail("cfg", "a list of 'name:value' strings", describe(cfg));
      for (const auto& c : cfg) {
        const std::string problem = c.IsScalar() ? simgrid_cfg_problem(c.Scalar()) : "x";
        if (!problem.empty()) {  // an allow-list: SimGrid takes many values unchecked
          throw_key_error(path, line_of(c), "simgrid.cfg", c.IsScalar() ? problem : "'name:value'",
                          describe(c));
        }
        s.simgrid_cfg.push_back(c.Scalar());
      }
    }
    g.finish();
  } else {
    m.get_node("simgrid");
  }
  m.finish();
  s.resolved_json = resolved_json(root, defaults, s.seed);
  return s;
}

}  // namespace fedgrid::io
