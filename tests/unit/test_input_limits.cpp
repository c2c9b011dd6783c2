// Input limits: YAML aliases counted expanded against the node budget (exactly at the budget
// passes, one more fails, in linear time), duplicate keys with both lines and the key's path,
// errors on keys set by --set naming the override, 64-bit seeds, the SimGrid option allow-list.
#define BOOST_TEST_MODULE input_limits
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

#include "io/scenario.hpp"
#include "io/simgrid_cfg.hpp"
#include "io/yaml_guard.hpp"
#include "test_helpers.hpp"

using fedgrid::io::check_yaml_text;
using fedgrid::io::load_yaml_text;
using fedgrid::test::contains;
using fedgrid::test::input_error_of;

static const std::string kRoot = FEDGRID_SOURCE_DIR;

// A sequence of n scalars: n + 1 nodes.
static std::string flat_list(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += i ? ", x" : "x";
  return s + "]";
}

BOOST_AUTO_TEST_CASE(budget_counts_aliases_expanded) {
  // root map (1) + key a (1) + list of 9 (10) + key b (1) + list of 3 aliases (3 x 10 + 1):
  // 44 nodes with the aliases expanded, 17 without.
  const std::string doc = "a: &l " + flat_list(9) + "\nb: [*l, *l, *l]\n";
  BOOST_TEST(input_error_of([&] { check_yaml_text(doc, "d.yaml", 44); }).empty());
  const std::string e = input_error_of([&] { check_yaml_text(doc, "d.yaml", 43); });
  BOOST_TEST(contains(e, "d.yaml:2: expected a document of at most 43 nodes"), e);
  BOOST_TEST(load_yaml_text(doc, "d.yaml")["b"][2].size() == 9u);
}

BOOST_AUTO_TEST_CASE(bomb_is_refused_in_linear_time) {
  // 30 levels of 9 aliases: 9^30 nodes expanded (the old loaders copied them, for minutes).
  std::string doc = "l0: &l0 " + flat_list(9) + "\n";
  for (int i = 1; i <= 30; ++i) {
    doc += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) doc += (k ? ", *l" : "*l") + std::to_string(i - 1);
    doc += "]\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = input_error_of([&] { load_yaml_text(doc, "bomb.yaml"); });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST(contains(e, "bomb.yaml:6: expected a document of at most 100000 nodes"), e);
  BOOST_TEST(s < 1.0);  // milliseconds in practice; an expansion would never end
}

BOOST_AUTO_TEST_CASE(duplicate_keys_name_both_lines_and_the_path) {
  const std::string e =
      input_error_of([] { check_yaml_text("a:\n  b: [1, {c: 1, d: 2, c: 3}]\n", "f.yaml"); });
  BOOST_TEST(contains(e,
                      "f.yaml:2: key 'a.b[1].c': expected each key once in a mapping "
                      "(first at line 2), found it again"),
             e);
  // An alias used as a key counts as its scalar.
  const std::string a =
      input_error_of([] { check_yaml_text("k: &n rounds\nm: {rounds: 1, *n : 2}\n", "g.yaml"); });
  BOOST_TEST(contains(a, "key 'm.rounds'"), a);
  // The same key in different mappings is fine.
  BOOST_TEST(input_error_of([] { check_yaml_text("a: {x: 1}\nb: {x: 1}\n", "h.yaml"); }).empty());
}

BOOST_AUTO_TEST_CASE(set_errors_name_the_override) {
  const std::string scen = kRoot + "/scenarios/ci/synthetic-deadline.yaml";
  std::string e = input_error_of([&] {
    fedgrid::io::load_scenario(scen, {"training.lr=0.5", "algorithm.rounds=0"});
  });
  BOOST_TEST(contains(e, "--set algorithm.rounds=0: key 'algorithm.rounds': expected an integer"),
             e);
  // A key below an overridden mapping, and an unknown key inside it.
  e = input_error_of(
      [&] { fedgrid::io::load_scenario(scen, {"data.synthetic={train: 0, test: 10}"}); });
  BOOST_TEST(contains(e, "--set data.synthetic={train: 0, test: 10}: key 'data.synthetic.train'"),
             e);
  // Keys of the file keep their file:line, even with overrides elsewhere.
  e = input_error_of([&] {
    fedgrid::io::load_scenario(scen, {"algorithm.rounds=5", "training.momentum=2"});
  });
  BOOST_TEST(contains(e, "--set training.momentum=2: key 'training.momentum'"), e);
  e = input_error_of([&] { fedgrid::io::load_scenario(scen, {"clients=bomb: &a [*a]"}); });
  BOOST_TEST(!e.empty());
}

BOOST_AUTO_TEST_CASE(seeds_cover_all_64_bits) {
  const std::string scen = kRoot + "/scenarios/ci/synthetic-deadline.yaml";
  auto s = fedgrid::io::load_scenario(scen, {"seed=18446744073709551615"});
  BOOST_TEST(s.seed == 18446744073709551615ull);
  const std::string e =
      input_error_of([&] { fedgrid::io::load_scenario(scen, {"seed=18446744073709551616"}); });
  BOOST_TEST(contains(e,
                      "expected an integer in [0, 18446744073709551615], found "
                      "18446744073709551616"),
             e);
}

BOOST_AUTO_TEST_CASE(simgrid_option_allow_list) {
  using fedgrid::io::simgrid_cfg_problem;
  for (const char* ok : {"network/model:CM02", "maxmin/precision:1e-15", "maxmin/precision:0.01",
                         "surf/precision:1e-9", "contexts/guard-size:0", "network/crosstraffic:off",
                         "network/latency-factor:13.01", "contexts/factory:thread"}) {
    BOOST_TEST(simgrid_cfg_problem(ok).empty(), ok);
  }
  BOOST_TEST(simgrid_cfg_problem("maxmin/precision:0.0100001") ==
             "a number in [1e-15, 0.01] for maxmin/precision");
  BOOST_TEST(contains(simgrid_cfg_problem("network/latency-factor:0"), "(0, 1e6]"));
  BOOST_TEST(contains(simgrid_cfg_problem("contexts/guard-size:1.5"), "an integer in [0, 100]"));
  BOOST_TEST(contains(simgrid_cfg_problem("surf/precision:nan"), "[1e-15, 1e-6]"));
  BOOST_TEST(contains(simgrid_cfg_problem("contexts/stack-size:64"), "FedGrid allows"));
  BOOST_TEST(contains(simgrid_cfg_problem("network/model"), "'network/model:VALUE'"));
  const std::string e =
      input_error_of([] { fedgrid::io::check_engine_argument("--log=root.thres:loud"); });
  BOOST_TEST(contains(e, "--log=root.thres:loud: expected a threshold"), e);
  BOOST_TEST(input_error_of([] {
               fedgrid::io::check_engine_argument("--log=xbt_cfg.thres:warning");
             }).empty());
}
