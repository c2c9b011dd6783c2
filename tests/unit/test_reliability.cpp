// Unit tests of the reliability pieces that need no SimGrid: client availability timelines
// (random: exact fraction of failing clients, exponential periods with stated tolerances;
// traces: order and error messages), checkpoints (exact round trip, corruption detected), and
// the numbers of the JSON result files with the evaluations' milestones.
#define BOOST_TEST_MODULE reliability
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "io/checkpoint_check.hpp"
#include "io/fingerprint.hpp"
#include "metrics/divergence.hpp"
#include "metrics/milestones.hpp"
#include "platform/availability.hpp"
#include "test_helpers.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace fp = fedgrid::platform;
namespace fs = std::filesystem;
using fedgrid::test::contains;
using fedgrid::util::InputError;

namespace {

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("fedgrid-reliability-" + name)).string();
}

std::string write_temp(const std::string& name, const std::string& text) {
  return fedgrid::test::write_temp("reliability-" + name, text);
}

bool throws_input_error_with(const std::function<void()>& f, const std::string& needle) {
  const std::string msg = fedgrid::test::input_error_of(f);
  if (msg.find(needle) != std::string::npos) return true;
  BOOST_TEST_MESSAGE("message was: " << msg);
  return false;
}

using fedgrid::test::changes;

}  // namespace

BOOST_AUTO_TEST_CASE(random_model_fails_exactly_the_fraction_of_clients) {
  fp::AvailabilitySpec spec;
  spec.model = fp::AvailabilityModel::kRandom;
  spec.fraction = 0.3;
  spec.mean_up = 10;
  spec.mean_down = 5;
  const auto t = fp::make_timelines(spec, 101, 42);
  int failing = 0;
  for (const auto& tl : t) failing += !tl.empty();
  BOOST_TEST(failing == 30);  // round(0.3 * 101) = 30
  // Another seed picks other clients; the same seed the same ones.
  const auto again = fp::make_timelines(spec, 101, 42);
  const auto other = fp::make_timelines(spec, 101, 43);
  int same = 0, differ = 0;
  for (int u = 0; u < 101; ++u) {
    same += again[u].empty() == t[u].empty();
    differ += other[u].empty() != t[u].empty();
  }
  BOOST_TEST(same == 101);
  BOOST_TEST(differ > 0);
  spec.fraction = 0;
  for (const auto& tl : fp::make_timelines(spec, 50, 1)) BOOST_TEST(tl.empty());
}

BOOST_AUTO_TEST_CASE(random_periods_are_exponential_with_the_given_means) {
  // 20,000 up and 20,000 down periods: the sample mean of Exp(m) has a standard error of
  // m / sqrt(20000) = 0.7% of m; tolerance 3% (4.2 SE). P(up > m) = e^-1 within 0.015.
  fp::ClientTimeline t(7, 3, 10.0, 2.0);
  double date = 0, last = 0, up_sum = 0, down_sum = 0;
  int ups = 0, downs = 0, long_ups = 0;
  bool on = true, prev = true;
  for (int i = 0; i < 40000; ++i) {
    BOOST_REQUIRE(t.next(&date, &on));
    BOOST_REQUIRE(on != prev);  // alternates, starting with a failure
    BOOST_REQUIRE(date > last);
    if (prev) {
      up_sum += date - last;
      ++ups;
      long_ups += date - last > 10.0;
    } else {
      down_sum += date - last;
      ++downs;
    }
    last = date;
    prev = on;
  }
  BOOST_TEST(std::abs(up_sum / ups - 10.0) < 0.3);
  BOOST_TEST(std::abs(down_sum / downs - 2.0) < 0.06);
  BOOST_TEST(std::abs(static_cast<double>(long_ups) / ups - std::exp(-1.0)) < 0.015);
  // The timeline of a client depends only on (seed, client).
  BOOST_TEST((changes(fp::ClientTimeline(7, 3, 10.0, 2.0), 100) ==
              changes(fp::ClientTimeline(7, 3, 10.0, 2.0), 100)));
  BOOST_TEST((changes(fp::ClientTimeline(7, 3, 10.0, 2.0), 100) !=
              changes(fp::ClientTimeline(7, 4, 10.0, 2.0), 100)));
}

BOOST_AUTO_TEST_CASE(trace_timelines_follow_the_file) {
  const std::string path =
      write_temp("trace.csv", "client,off,on\n2,1.5,4\n\n0,0,0.25\n2,7,inf\n1,3,\n0,9,10\n");
  fp::AvailabilitySpec spec;
  spec.model = fp::AvailabilityModel::kTrace;
  spec.trace_file = path;
  const auto t = fp::make_timelines(spec, 4, 1);
  using C = std::vector<std::pair<double, bool>>;
  const double inf = std::numeric_limits<double>::infinity();
  BOOST_TEST((changes(t[0], inf) == C{{0, false}, {0.25, true}, {9, false}, {10, true}}));
  BOOST_TEST((changes(t[1], inf) == C{{3, false}}));  // never back
  BOOST_TEST((changes(t[2], inf) == C{{1.5, false}, {4, true}, {7, false}}));
  BOOST_TEST(t[3].empty());
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(trace_errors_name_file_line_and_column) {
  const std::string header = "client,off,on\n";
  const std::pair<std::string, std::string> cases[] = {
      {"client,down,up\n0,1,2\n", ":1: expected header 'client,off,on', found 'client,down,up'"},
      {header + "0,1,2\n5,1,2\n", ":3: key 'client': expected a client id in [0, 4], found 5"},
      {header + "1.5,1,2\n", ":2: key 'client': expected a client id"},
      {header + "0,-1,2\n", ":2: key 'off': expected a time >= 0, found -1"},
      {header + "0,3,3\n", ":2: key 'on': expected a time after 'off'"},
      {header + "0,3,x\n", ":2: key 'on': expected a finite number, found 'x'"},
      {header + "0,1,5\n0,4,6\n", ":3: key 'off': expected outages of client 0 in time order"},
      {header + "0,1,\n0,4,6\n", "found off 4 while the previous outage ends at inf"},
      {header + "0,1\n", ":2: expected 3 comma-separated fields, found 2"},
      {"", ": expected header 'client,off,on', found an empty file"}};
  int i = 0;
  for (const auto& [text, needle] : cases) {
    const std::string path = write_temp("bad" + std::to_string(i++) + ".csv", text);
    // Needles starting with ':' follow the file name; the others may be anywhere.
    const std::string want = needle[0] == ':' ? path + needle : needle;
    BOOST_TEST(throws_input_error_with([&] { fp::read_outage_trace(path, 5); }, want),
               "case " << i << ": " << needle);
    std::remove(path.c_str());
  }
  BOOST_TEST(throws_input_error_with([] { fp::read_outage_trace("/nonexistent/t.csv", 5); },
                                     "/nonexistent/t.csv: expected a readable CSV file"));
}

BOOST_AUTO_TEST_CASE(checkpoint_round_trip_is_exact) {
  const std::string dir = temp_path("ckpt");
  fs::create_directories(dir);
  fedgrid::io::Checkpoint c;
  c.round = 17;
  c.t_next = 0.1 + 0.2;  // not representable in decimal with few digits
  c.clock = 10.200000000000001;
  c.file_sizes = {123, 456789, 0};
  c.val_accuracy = 0.875;
  c.test_accuracy = std::nan("");
  c.test_loss = 1.0 / 3.0;
  c.evaluation_round = 16;
  c.evaluation_time = 9.7;
  c.budget_accuracy = 0.8125;
  c.budget_loss = 0.1 + 0.7;
  c.target_time = std::nan("");
  c.params = fedgrid::nn::Vector::LinSpaced(1000, -1.0f, 1.0f);
  c.params[3] = std::numeric_limits<float>::denorm_min();
  c.velocity = fedgrid::nn::Vector::Constant(1000, 1e-7f);
  c.invocation = "scenario: /x/y.yaml\nset: [a=1]\n";
  fedgrid::io::write_checkpoint(dir, c);
  const auto r = fedgrid::io::read_checkpoint(dir);
  BOOST_TEST(r.round == 17);
  BOOST_TEST(r.t_next == c.t_next);  // bit for bit
  BOOST_TEST(r.clock == c.clock);
  BOOST_TEST(r.file_sizes == c.file_sizes);
  BOOST_TEST(r.val_accuracy == 0.875);
  BOOST_TEST(std::isnan(r.test_accuracy));
  BOOST_TEST(r.test_loss == c.test_loss);
  BOOST_TEST(r.evaluation_round == 16);
  BOOST_TEST(r.evaluation_time == c.evaluation_time);
  BOOST_TEST(r.budget_accuracy == c.budget_accuracy);
  BOOST_TEST(r.budget_loss == c.budget_loss);
  BOOST_TEST(std::isnan(r.target_time));
  BOOST_TEST((r.params.array() == c.params.array()).all());
  BOOST_TEST((r.velocity.array() == c.velocity.array()).all());
  BOOST_TEST(r.invocation == c.invocation);
  // Timing-only runs have no model: empty vectors round-trip too.
  c.params.resize(0);
  c.velocity.resize(0);
  fedgrid::io::write_checkpoint(dir, c);
  const auto e = fedgrid::io::read_checkpoint(dir);
  BOOST_TEST(e.params.size() == 0);
  BOOST_TEST(e.velocity.size() == 0);
  BOOST_TEST(e.invocation == c.invocation);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(damaged_checkpoints_are_refused) {
  const std::string dir = temp_path("ckpt-bad");
  fs::create_directories(dir);
  const std::string file = dir + "/checkpoint";
  BOOST_TEST(throws_input_error_with([&] { fedgrid::io::read_checkpoint(dir); },
                                     file + ": expected a checkpoint"));
  fedgrid::io::Checkpoint c;
  c.file_sizes = {1, 2, 3};
  c.params = fedgrid::nn::Vector::Ones(64);
  c.velocity = fedgrid::nn::Vector::Zero(64);
  fedgrid::io::write_checkpoint(dir, c);
  std::string good;
  {
    std::ifstream in(file, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto check_damaged = [&](const std::string& bytes, const std::string& needle) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    return throws_input_error_with([&] { fedgrid::io::read_checkpoint(dir); }, file + needle);
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;  // inside the parameters: only the checksum sees it
  const std::string corrupt = ", found a truncated or corrupt file";
  BOOST_TEST(
      check_damaged(flipped, ": expected a FedGrid checkpoint with a matching checksum" + corrupt));
  BOOST_TEST(check_damaged(good.substr(0, good.size() - 40),
                           ": expected a FedGrid checkpoint with a matching checksum" + corrupt));
  const std::string header = ": expected a FedGrid checkpoint with the header ";
  BOOST_TEST(check_damaged("hello\n", header + "'FEDGRID-CHECKPOINT 4'" + corrupt));
  BOOST_TEST(check_damaged("", header + "'FEDGRID-CHECKPOINT 4'" + corrupt));
  std::string old = good;
  old[19] = '3';  // "FEDGRID-CHECKPOINT 3": a format without the evaluations' milestones
  BOOST_TEST(check_damaged(old, ":1: expected a version 4 checkpoint"));
  fs::remove_all(dir);
}

// A checkpoint must fit its run and its files, whatever its checksum says.
BOOST_AUTO_TEST_CASE(checkpoint_consistency) {
  const std::string dir = temp_path("ckpt-fit");
  fs::create_directories(dir);
  // 2 rounds of a run with 3 clients per round and 2 stages: 2, 6 and 4 rows.
  const std::string rounds = "round,t_start,t_end\n1,0,0.5\n2,0.5,1\n";
  const std::string clients = "h\n" + std::string("c\nc\nc\nc\nc\nc\n");
  const std::string layers = "h\nl\nl\nl\nl\n";
  std::ofstream(dir + "/.rounds.csv.partial") << rounds << "3,1,1.5\n";  // a row after it
  std::ofstream(dir + "/clients.csv") << clients;
  std::ofstream(dir + "/layers.csv") << layers;
  fedgrid::io::Checkpoint c;
  c.round = 2;
  c.t_next = 1.0;
  c.clock = 1.0;
  c.file_sizes = {rounds.size(), clients.size(), layers.size()};
  c.params = fedgrid::nn::Vector::Ones(5);
  c.velocity = fedgrid::nn::Vector::Zero(5);
  const fedgrid::io::RunShape shape{10, 2, 3, 5, 5};
  auto err = [&](const fedgrid::io::Checkpoint& k, const fedgrid::io::RunShape& s) {
    return fedgrid::test::input_error_of([&] { fedgrid::io::check_checkpoint(dir, k, s); });
  };
  BOOST_TEST(err(c, shape).empty(), err(c, shape));
  auto k = c;
  k.round = 10;
  BOOST_TEST(contains(err(k, shape), "key 'round': expected rounds finished in [0, 9]"));
  k = c;
  k.file_sizes[0] -= 3;  // inside the last row
  BOOST_TEST(contains(err(k, shape), "rounds.csv cut after its header and 2 rows"));
  k = c;
  k.file_sizes[1] = clients.size() - 2;  // a row boundary, one row short
  BOOST_TEST(contains(err(k, shape), "clients.csv cut after its header and 6 rows"));
  k = c;
  k.t_next = 1.25;
  BOOST_TEST(contains(err(k, shape), "key 't_next': expected the end of round 2"));
  k = c;
  k.params[1] = std::nanf("");
  BOOST_TEST(contains(err(k, shape), "key 'params': expected finite values"));
  BOOST_TEST(contains(err(c, {10, 3, 3, 5, 5}), "layers.csv cut after its header and 6 rows"));
  BOOST_TEST(contains(err(c, {10, 2, 3, 6, 6}), "key 'params': expected 6 values"));
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(input_fingerprints_name_changes) {
  const std::string f = temp_path("fp-model.yaml");
  std::ofstream(f) << "abcdefgh";
  const uint64_t d1 = fedgrid::io::file_digest(f);
  std::ofstream(f) << "abcdefgi";
  BOOST_TEST(fedgrid::io::file_digest(f) != d1);
  using fedgrid::io::describe_changes;
  const std::string then = "model\t/m.yaml\t8\t00000000000000aa\ndata\t/d\t5\t1\n";
  BOOST_TEST(describe_changes(then, then).empty());
  BOOST_TEST(describe_changes(then, "model\t/m.yaml\t8\t00000000000000ab\ndata\t/d\t5\t1\n") ==
             "the model file /m.yaml (same size, other bytes)");
  BOOST_TEST(describe_changes(then, "model\t/m.yaml\t9\t00000000000000aa\n") ==
             "the model file /m.yaml (8 -> 9 bytes), the data file /d (no longer read)");
}

// Divergence: computed NaN/inf is divergence (and written "nan"); kNaN means "no value".
BOOST_AUTO_TEST_CASE(divergence_and_nan_cells) {
  using fedgrid::metrics::fmt;
  using fedgrid::metrics::kNaN;
  volatile double zero = 0;
  const double computed = zero / zero, inf = 1 / zero;
  BOOST_TEST(fmt(kNaN) == "");
  BOOST_TEST(fmt(kNaN * 2 + 1) == "");  // derived from a missing value: still missing
  BOOST_TEST(fmt(static_cast<double>(static_cast<float>(kNaN))) == "");
  BOOST_TEST(fmt(computed) == "nan");
  BOOST_TEST(fmt(inf - inf) == "nan");
  BOOST_TEST(fmt(std::nan("")) == "nan");
  BOOST_TEST(fmt(-inf) == "-inf");
  BOOST_TEST(fmt(0.25) == "0.25");
  fedgrid::metrics::RoundRecord r;  // nothing evaluated, no contributor: not divergence
  fedgrid::nn::Vector p = fedgrid::nn::Vector::Ones(1000);
  using fedgrid::metrics::non_finite_after_round;
  BOOST_TEST(non_finite_after_round(r, p) == "");
  r.test_loss = computed;
  BOOST_TEST(non_finite_after_round(r, p) == "test_loss");
  p[999] = static_cast<float>(inf);
  BOOST_TEST(non_finite_after_round(r, p) == "parameters");
  r.train_loss = inf;
  BOOST_TEST(non_finite_after_round(r, p) == "train_loss");
}

// JSON numbers are the doubles the CSV cells read back as; the milestones of a run's evaluations
// (summary.json and the sweep's tables share them).
BOOST_AUTO_TEST_CASE(json_numbers_and_milestones) {
  using fedgrid::metrics::as_written;
  using fedgrid::metrics::fmt;
  using fedgrid::metrics::kNaN;
  for (double v : {1.0 / 3.0, 0.1 + 0.2, 123456.78901234, 1e-300, -2.5e17, 0.8309}) {
    BOOST_TEST(as_written(v) == std::strtod(fmt(v).c_str(), nullptr));
    BOOST_TEST(as_written(as_written(v)) == as_written(v));  // reading back twice changes nothing
  }
  BOOST_TEST(std::isnan(as_written(kNaN)));
  BOOST_TEST(fmt(as_written(kNaN)) == "");  // "no value" stays "no value"
  BOOST_TEST(fedgrid::util::json_text(fedgrid::util::number_or_null(kNaN)) == "null\n");
  BOOST_TEST(fedgrid::util::json_text(fedgrid::util::Json(as_written(1.0 / 3.0))) ==
             "0.3333333333\n");
  // Evaluations at t = 10, 20, 30, 40 with accuracies 0.5, 0.7, 0.65, 0.9; limit 30, target 0.7.
  fedgrid::metrics::Milestones m(30, 0.7);
  BOOST_TEST(std::isnan(m.last_step));
  BOOST_TEST(std::isnan(m.time_to_target));
  const double acc[] = {0.5, 0.7, 0.65, 0.9};
  for (int i = 0; i < 4; ++i) m.observe(2 * (i + 1), 10.0 * (i + 1), acc[i], 1.0 - acc[i]);
  BOOST_TEST(m.last_step == 8);
  BOOST_TEST(m.last_time == 40);
  BOOST_TEST(m.accuracy_at_limit == 0.65);  // the last one at or before the limit
  BOOST_TEST(m.loss_at_limit == as_written(1.0 - 0.65));
  BOOST_TEST(m.time_to_target == 20);  // the first one reaching the target
  fedgrid::metrics::Milestones none;   // no limit, no target
  none.observe(1, 1e9, 0.99, 0.01);
  BOOST_TEST(none.accuracy_at_limit == 0.99);
  BOOST_TEST(std::isnan(none.time_to_target));
  fedgrid::metrics::Milestones early(5, 0.1);  // nothing at or before the limit
  early.observe(1, 5.0 + 1e-6, 0.5, 0.5);
  BOOST_TEST(std::isnan(early.accuracy_at_limit));
  BOOST_TEST(early.time_to_target == 5.000001);
}
