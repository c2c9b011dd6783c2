// docs/scenario-reference.md against the loaders: the keys the scenario, model and sweep loaders
// read on a corpus (scenarios/, models/, sweeps/, tests/reference/) must each have a row with the
// same type, default and range, and every row must be a key the loaders read on that corpus.
#define BOOST_TEST_MODULE reference
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "app/sweep_spec.hpp"
#include "io/key_registry.hpp"
#include "io/scenario.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using fedgrid::io::KeyInfo;

static const std::string kRoot = FEDGRID_SOURCE_DIR;
static const std::string kReference = "docs/scenario-reference.md";

struct Row {
  KeyInfo key;
  int line = 0;
};

static std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::string t = s.substr(b, s.find_last_not_of(" \t") - b + 1);
  if (t.size() >= 2 && t.front() == '`' && t.back() == '`') t = t.substr(1, t.size() - 2);
  return t;
}

// "## Scenario files", "## Model files", "## Sweep files" start the tables of a document kind
// (any other "## " heading ends them); a row is | key | type | default | range | meaning |.
static std::vector<Row> parse_reference(std::istream& in, std::vector<std::string>& errors) {
  const std::map<std::string, std::string> kinds = {
      {"## Scenario files", "scenario"}, {"## Model files", "model"}, {"## Sweep files", "sweep"}};
  std::vector<Row> rows;
  std::string doc, line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.rfind("## ", 0) == 0) doc = kinds.count(line) ? kinds.at(line) : "";
    if (doc.empty() || line.rfind("|", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    for (std::string c; std::getline(ss, c, '|');) cells.push_back(trim(c));
    const std::string where = kReference + ":" + std::to_string(n) + ": ";
    if (cells.size() != 5) {
      errors.push_back(where + "a row needs 5 cells (key | type | default | range | meaning)");
      continue;
    }
    if (cells[0] == "key" || cells[0].find("---") == 0) continue;  // header, separator
    if (cells[4].empty()) errors.push_back(where + "'" + cells[0] + "' has no meaning");
    rows.push_back({{doc, cells[0], cells[1], cells[2], cells[3]}, n});
  }
  return rows;
}

static std::string describe(const KeyInfo& k) {
  return k.doc + " key '" + k.path + "' (type " + k.type + ", default " + k.def + ", range " +
         k.range + ")";
}

// One message per difference: a key read but not documented (with the row to add), a row whose
// type, default or range differs from the loader's, a row the loaders never read, a repeated row.
static std::vector<std::string> compare(const std::vector<KeyInfo>& loaded,
                                        const std::vector<Row>& rows) {
  std::vector<std::string> out;
  std::vector<bool> used(rows.size(), false);
  std::vector<const KeyInfo*> left;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (rows[j].key == rows[i].key) {
        out.push_back(kReference + ":" + std::to_string(rows[i].line) + ": " +
                      describe(rows[i].key) + " repeats line " + std::to_string(rows[j].line));
      }
    }
  }
  for (const auto& k : loaded) {
    bool found = false;
    for (std::size_t i = 0; i < rows.size() && !found; ++i) {
      if (!used[i] && rows[i].key == k) used[i] = found = true;
    }
    if (!found) left.push_back(&k);
  }
  // Pairs a key with an unused row of the same path, preferring the same type.
  auto partner = [&](const KeyInfo& k) -> int {
    int any = -1;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const KeyInfo& r = rows[i].key;
      if (used[i] || r.doc != k.doc || r.path != k.path) continue;
      if (r.type == k.type) return static_cast<int>(i);
      if (any < 0) any = static_cast<int>(i);
    }
    return any;
  };
  for (const KeyInfo* k : left) {
    int i = partner(*k);
    if (i < 0) {
      out.push_back("missing from " + kReference + ": " + describe(*k) + "; add the row | `" +
                    k->path + "` | " + k->type + " | " + k->def + " | " + k->range +
                    " | (meaning) | under '## " + char(std::toupper(k->doc[0])) + k->doc.substr(1) +
                    " files'");
      continue;
    }
    used[i] = true;
    const KeyInfo& r = rows[i].key;
    const std::string where = kReference + ":" + std::to_string(rows[i].line) + ": " + k->doc +
                              " key '" + k->path + "': ";
    const std::string fields[3][3] = {
        {"type", r.type, k->type}, {"default", r.def, k->def}, {"range", r.range, k->range}};
    for (const auto& f : fields) {
      if (f[1] != f[2]) {
        out.push_back(where + f[0] + " is '" + f[1] + "' in the reference, '" + f[2] +
                      "' in the loader");
      }
    }
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!used[i]) {
      out.push_back(kReference + ":" + std::to_string(rows[i].line) + ": " + describe(rows[i].key) +
                    " is never read by the loaders on the corpus " +
                    "(remove the row, or add a file under tests/reference/ that reaches it)");
    }
  }
  return out;
}

static std::vector<std::string> yaml_files(const std::string& dir, const std::string& prefix = "") {
  std::vector<std::string> out;
  for (const auto& f : fs::recursive_directory_iterator(kRoot + "/" + dir)) {
    const std::string name = f.path().filename().string();
    if (f.path().extension() == ".yaml" && name.rfind(prefix, 0) == 0) {
      out.push_back(f.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Loads a scenario; a dataset folder missing on this machine (data/mnist before
// scripts/fetch_mnist.sh) is replaced by an existing one: only the keys read matter here.
static void load_scenario_keys(const std::string& file) {
  try {
    fedgrid::io::load_scenario(file);
  } catch (const fedgrid::util::InputError& e) {
    if (std::string(e.what()).find("key 'data.path'") == std::string::npos) throw;
    fedgrid::io::load_scenario(file, {"data.path=" + fs::temp_directory_path().string()});
  }
}

// Every scenario, model and sweep of the corpus, with recording on; returns the recorded keys.
static std::vector<KeyInfo> load_corpus(std::size_t& files) {
  auto scenarios = yaml_files("scenarios"), models = yaml_files("models"),
       sweeps = yaml_files("sweeps");
  for (const auto& f : yaml_files("tests/reference", "scenario-")) scenarios.push_back(f);
  for (const auto& f : yaml_files("tests/reference", "sweep-")) sweeps.push_back(f);
  files = scenarios.size() + models.size() + sweeps.size();
  fedgrid::io::clear_recorded_keys();
  fedgrid::io::set_key_recording(true);
  for (const auto& f : scenarios) {
    BOOST_TEST_CONTEXT(f) { load_scenario_keys(f); }
  }
  for (const auto& f : models) {
    BOOST_TEST_CONTEXT(f) { fedgrid::io::load_model_spec(f); }
  }
  for (const auto& f : sweeps) {
    BOOST_TEST_CONTEXT(f) { fedgrid::app::load_sweep(f); }
  }
  fedgrid::io::set_key_recording(false);
  return fedgrid::io::recorded_keys();
}

static bool has_key(const std::vector<KeyInfo>& keys, const KeyInfo& k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

BOOST_AUTO_TEST_CASE(registry_records_what_the_loader_checks) {
  fedgrid::io::clear_recorded_keys();
  fedgrid::io::load_scenario(kRoot + "/scenarios/quickstart.yaml");
  BOOST_TEST(fedgrid::io::recorded_keys().empty());  // off unless asked
  fedgrid::io::set_key_recording(true);
  fedgrid::io::load_scenario(kRoot + "/scenarios/quickstart.yaml");
  fedgrid::io::set_key_recording(false);
  const auto keys = fedgrid::io::recorded_keys();
  BOOST_TEST(
      has_key(keys, {"scenario", "algorithm.rounds", "integer", "required", "[1, 10000000]"}));
  BOOST_TEST(has_key(keys, {"scenario", "training.momentum", "number", "0.9", "[0, 0.999999]"}));
  BOOST_TEST(has_key(keys, {"scenario", "timing", "mapping", "-", "-"}));  // asked with has()
  BOOST_TEST(has_key(keys, {"scenario", "data", "mapping", "required", "-"}));
  BOOST_TEST(has_key(
      keys, {"scenario", "algorithm.clients_per_round", "integer", "clients", "[1, clients]"}));
  BOOST_TEST(has_key(
      keys, {"scenario", "platform.generate.speed.sigma", "number", "required", "[0, 10]"}));
  BOOST_TEST(
      has_key(keys, {"scenario", "platform.generate.server_speed", "number", "1e12", "(0, inf)"}));
  BOOST_TEST(has_key(keys, {"model", "layers[].kind", "choice", "required",
                            "dense, relu, conv2d, maxpool, flatten, batchnorm"}));
  BOOST_TEST(has_key(keys, {"model", "input", "integer", "required", "[1, 2147483647]"}));
  BOOST_TEST(has_key(keys, {"scenario", "timing.stage_time", "choice", "exponential",
                            "exponential, deterministic, shifted_exponential, gamma, lognormal, "
                            "weibull, pareto, empirical"}));
}

BOOST_AUTO_TEST_CASE(number_forms) {
  using fedgrid::io::format_number;
  using fedgrid::io::format_range;
  BOOST_TEST(format_number(0.5) == "0.5");
  BOOST_TEST(format_number(1e12) == "1e12");
  BOOST_TEST(format_number(1.25e-7) == "1.25e-7");
  BOOST_TEST(format_number(100000) == "100000");
  BOOST_TEST(format_range(1e-300, std::numeric_limits<double>::infinity()) == "(0, inf)");
  BOOST_TEST(format_range(0.0, 1.0) == "[0, 1]");
  BOOST_TEST(format_range(int64_t{0}, std::numeric_limits<int64_t>::max()) == "[0, inf)");
}

BOOST_AUTO_TEST_CASE(comparison_reports_each_kind_of_drift) {
  const std::vector<KeyInfo> loaded = {{"scenario", "a", "integer", "1", "[0, 5]"},
                                       {"scenario", "b", "number", "0.5", "[0, 1]"},
                                       {"scenario", "c", "bool", "true", "-"},
                                       {"model", "d", "string", "required", "-"}};
  std::stringstream md(
      "# Title\n| key | type | default | range / choices | meaning |\n"
      "## Scenario files\n\n| key | type | default | range / choices | meaning |\n"
      "|---|---|---|---|---|\n"
      "| `a` | integer | 1 | [0, 5] | fine |\n"
      "| `b` | number | 0.7 | [0, 1] | other default |\n"
      "| `c` | string | true | - | other type |\n"
      "| `e` | string | - | - | never read |\n"
      "## Model files\n| `f` | bool | - | - |\n");
  std::vector<std::string> errors;
  const auto rows = parse_reference(md, errors);
  BOOST_TEST(rows.size() == 4u);  // the table before the first kind heading is not a reference
  BOOST_TEST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(errors[0].find(":12: a row needs 5 cells") != std::string::npos);
  const auto diff = compare(loaded, rows);
  std::string all;
  for (const auto& d : diff) all += d + "\n";
  BOOST_TEST_INFO(all);
  BOOST_TEST(diff.size() == 4u);
  BOOST_TEST(all.find(":8: scenario key 'b': default is '0.7' in the reference, '0.5' in the "
                      "loader") != std::string::npos);
  BOOST_TEST(all.find(":9: scenario key 'c': type is 'string' in the reference, 'bool'") !=
             std::string::npos);
  BOOST_TEST(all.find("missing from docs/scenario-reference.md: model key 'd' (type string, "
                      "default required, range -); add the row | `d` | string | required | - | "
                      "(meaning) | under '## Model files'") != std::string::npos);
  BOOST_TEST(all.find(":10: scenario key 'e' (type string, default -, range -) is never read") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(reference_matches_loaders) {
  std::size_t files = 0;
  const auto loaded = load_corpus(files);
  std::ifstream in(kRoot + "/" + kReference);
  BOOST_TEST_REQUIRE(in.good(), kReference + " is missing");
  std::vector<std::string> errors;
  const auto rows = parse_reference(in, errors);
  for (const auto& d : compare(loaded, rows)) errors.push_back(d);
  std::string all;
  for (const auto& e : errors) all += "\n  " + e;
  BOOST_TEST(errors.empty(), errors.size() << " difference(s):" << all);
  // The corpus really went through all three loaders, and the tables were found.
  BOOST_TEST(files >= 30u);
  std::map<std::string, int> per_doc;
  for (const auto& k : loaded) ++per_doc[k.doc];
  BOOST_TEST(per_doc["scenario"] >= 80);
  BOOST_TEST(per_doc["model"] >= 10);
  BOOST_TEST(per_doc["sweep"] >= 15);
  BOOST_TEST(rows.size() == loaded.size());
}
