// Scenario and model loaders: the shipped scenarios load, overrides apply, the resolved scenario
// as JSON holds the file's values and the defaults used, and every bad file in tests/sim/bad/
// fails with util::InputError carrying the file, line and key its "# expect:" says.
#define BOOST_TEST_MODULE scenario
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "io/yaml_guard.hpp"
#include "io/yaml_json.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace fs = std::filesystem;
using fedgrid::io::load_scenario;
using fedgrid::util::InputError;

static const std::string kRoot = FEDGRID_SOURCE_DIR;

BOOST_AUTO_TEST_CASE(quickstart_loads_with_defaults) {
  auto s = load_scenario(kRoot + "/scenarios/quickstart.yaml");
  BOOST_TEST(s.name == "quickstart");
  BOOST_TEST(s.clients == 20);
  BOOST_TEST(s.algorithm.name == "fedavg-deadline");
  BOOST_TEST(s.algorithm.rounds == 200);
  BOOST_TEST(s.algorithm.time_budget == 200.0);
  BOOST_TEST(s.model.layers.size() == 5u);
  BOOST_TEST(s.model.input_size == 784);
  BOOST_TEST(s.data.validation == 10000u);
  BOOST_TEST((s.timing.law.kind == fedgrid::plan::LawKind::kExponential));
  BOOST_TEST(!s.timing.flops_cost);
  BOOST_TEST(s.algorithm.training.server_momentum == 0.9);
  BOOST_TEST(s.platform.generate.has_value());
  BOOST_TEST(s.platform.generate->speed.kind == "lognormal");
  BOOST_TEST(s.platform.generate->speed.median == 400.0);
}

BOOST_AUTO_TEST_CASE(overrides_and_seed) {
  auto s = load_scenario(kRoot + "/scenarios/quickstart.yaml",
                         {"algorithm.rounds=7", "training.lr=0.25", "data.partition.kind=dirichlet",
                          "data.partition.alpha=0.3"},
                         42);
  BOOST_TEST(s.algorithm.rounds == 7);
  BOOST_TEST(s.algorithm.training.lr == 0.25);
  BOOST_TEST(s.data.partition == "dirichlet");
  BOOST_TEST(s.data.alpha == 0.3);
  BOOST_TEST(s.seed == 42u);
  // A bad override is reported with the key (no line: it did not come from the file).
  try {
    load_scenario(kRoot + "/scenarios/quickstart.yaml", {"algorithm.rounds=-3"});
    BOOST_FAIL("expected InputError");
  } catch (const InputError& e) {
    BOOST_TEST(std::string(e.what()).find("key 'algorithm.rounds'") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("found -3") != std::string::npos);
  }
  BOOST_CHECK_THROW(load_scenario(kRoot + "/scenarios/quickstart.yaml", {"novalue"}), InputError);
}

// manifest.json's resolved_scenario: the document after --set overrides, scalars typed by their
// YAML form, and every default the loader used where the file left the key out.
BOOST_AUTO_TEST_CASE(resolved_scenario_as_json) {
  using fedgrid::util::Json;
  const auto s = load_scenario(kRoot + "/scenarios/quickstart.yaml",
                               {"algorithm.rounds=7", "evaluation.target_accuracy=0.5"}, 42);
  const Json j = Json::parse(s.resolved_json);
  BOOST_TEST(j["algorithm"]["rounds"] == 7);  // the override
  BOOST_TEST(j["seed"] == 42);                // the seed in force (--seed over the file)
  BOOST_TEST(j["platform"]["generate"]["bandwidth"]["min"] == 1.25e6);
  BOOST_TEST(j["data"]["partition"]["kind"] == "iid");     // the file's, nested
  BOOST_TEST(j["training"]["momentum"] == 0.9);            // defaults the loader used
  BOOST_TEST(j["algorithm"]["clients_per_round"] == 20);   // (one depends on `clients`)
  BOOST_TEST(j["algorithm"]["aggregation"] == "plain");    // (one chosen by hand)
  BOOST_TEST(j["timing"]["stage_time"] == "exponential");  // (a section left out)
  BOOST_TEST(j["timing"]["timing_only"] == false);
  BOOST_TEST(j["evaluation"]["validation"] == true);
  BOOST_TEST(j["evaluation"]["target_accuracy"] == 0.5);
  BOOST_TEST(s.evaluation.target_accuracy.value() == 0.5);
  BOOST_TEST(!j["training"].contains("client_optimizer"));                // not read: not there
  BOOST_TEST(s.resolved.find("clients_per_round") == std::string::npos);  // the YAML: as given
  // Scalars by their YAML form; quoted ones stay strings.
  const auto doc = fedgrid::io::load_yaml_text(
      "{a: 3, b: -2.5e3, c: true, d: ~, e: '12', f: .inf, g: 0x10, h: [1, x], i: 1.}", "t");
  const Json t = fedgrid::io::yaml_to_json(doc);
  BOOST_TEST(t.dump() == R"({"a":3,"b":-2500.0,"c":true,"d":null,"e":"12","f":".inf","g":"0x10",)"
                         R"("h":[1,"x"],"i":1.0})");
  BOOST_CHECK_THROW(
      load_scenario(kRoot + "/scenarios/quickstart.yaml", {"evaluation.target_accuracy=0"}),
      InputError);
}

BOOST_AUTO_TEST_CASE(all_shipped_scenarios_load) {
  int n = 0;
  for (const auto& dir : {"/scenarios", "/scenarios/ci"}) {
    for (const auto& f : fs::directory_iterator(kRoot + dir)) {
      if (f.path().extension() != ".yaml") continue;
      BOOST_TEST_CONTEXT(f.path().string()) {
        BOOST_CHECK_NO_THROW(load_scenario(f.path().string()));
      }
      ++n;
    }
  }
  BOOST_TEST(n >= 3);
}

// Loader-level errors only: the bad files whose problem is visible without data or SimGrid.
BOOST_AUTO_TEST_CASE(bad_files_name_file_line_and_key) {
  const std::vector<std::string> loader_errors = {
      "unknown-key",   "wrong-type",   "missing-rounds", "no-clients",   "negative-speed",
      "missing-model", "missing-data", "bad-algorithm",  "syntax-error", "unknown-nested-key",
      "two-platforms", "bad-alpha",    "min-above-max",  "no-budget",    "bad-model"};
  for (const auto& name : loader_errors) {
    const std::string path = kRoot + "/tests/sim/bad/" + name + ".yaml";
    std::vector<std::string> expects;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# expect:", 0) == 0) {
        std::string e = line.substr(9);
        e.erase(0, e.find_first_not_of(' '));
        auto pos = e.find("FILE");
        if (pos != std::string::npos) e.replace(pos, 4, path);
        expects.push_back(e);
      }
    }
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(!expects.empty());
      try {
        load_scenario(path);
        BOOST_ERROR("no error for " + path);
      } catch (const InputError& e) {
        for (const auto& x : expects) {
          BOOST_TEST(std::string(e.what()).find(x) != std::string::npos,
                     "message '" << e.what() << "' lacks '" << x << "'");
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(model_spec_loader) {
  auto m = fedgrid::io::load_model_spec(kRoot + "/models/mlp.yaml");
  BOOST_TEST(m.input_size == 784);
  BOOST_TEST(m.layers.size() == 5u);
  BOOST_TEST(m.layers[0].kind == "dense");
  BOOST_TEST(m.layers[0].units == 32);
  BOOST_TEST(m.layers[0].line == 6);
  BOOST_TEST(m.layers[4].units == 10);
  BOOST_TEST((m.stages == fedgrid::nn::StageGrouping::kTensor));
}
