// Unit tests of per-client platform files (no SimGrid): the clients CSV, FedScale's device
// capacity and behaviour-trace exports (values against hand-computed ones, every bad case with
// its FILE:LINE:COLUMN message), the SimGrid link parameters that give the times asked for,
// periodic availability timelines, and the new files among the run's input fingerprints.
#define BOOST_TEST_MODULE device_traces
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "io/fingerprint.hpp"
#include "io/scenario.hpp"
#include "platform/availability.hpp"
#include "platform/client_table.hpp"
#include "test_helpers.hpp"

namespace fp = fedgrid::platform;
using fedgrid::test::input_error_of;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string write(const std::string& name, const std::string& text) {
  return fedgrid::test::write_temp("traces-" + name, text);
}

// The message of reading `text` as a clients CSV of `clients` clients.
std::string clients_error(const std::string& text, int clients = 2) {
  const std::string path = write("bad-clients.csv", text);
  return input_error_of([&] { fp::read_clients_csv(path, clients); });
}

std::string capacity_error(const std::string& text, int clients = 2) {
  const std::string path = write("bad-capacity.csv", text);
  return input_error_of([&] { fp::read_fedscale_capacity(path, clients, 3.0); });
}

std::string behaviour_error(const std::string& text, int clients = 2) {
  const std::string path = write("bad-behaviour.csv", text);
  return input_error_of([&] { fp::read_fedscale_behaviour(path, clients); });
}

bool has(const std::string& msg, const std::string& part) {
  if (msg.find(part) != std::string::npos) return true;
  BOOST_TEST_MESSAGE("message was: " << msg << "\nexpected it to hold: " << part);
  return false;
}

using fedgrid::test::changes;

using Changes = std::vector<std::pair<double, bool>>;

}  // namespace

BOOST_AUTO_TEST_CASE(clients_csv_values) {
  const std::string path = write("clients.csv",
                                 "# comment\n"
                                 "speed, client ,comm_time,active\n"
                                 "\n"
                                 "20,1,0.5,2:4;4:6;9:inf\n"
                                 "40,0,2,\n");
  std::vector<fp::OnIntervals> active;
  bool has_active = false;
  const fp::ClientTable t = fp::read_clients_csv(path, 2, &active, &has_active);
  BOOST_TEST(has_active);
  BOOST_TEST(fp::clients_csv_has_active(path));
  BOOST_REQUIRE(t.clients.size() == 2u);
  BOOST_TEST(t.clients[0].speed == 40.0);
  BOOST_TEST(t.clients[0].comm_time == 2.0);
  BOOST_TEST((t.clients[0].link == fp::LinkForm::kCommTime));
  BOOST_TEST(t.clients[1].speed == 20.0);
  BOOST_TEST(t.clients[1].where == path + ":4");
  BOOST_REQUIRE(active.size() == 2u);
  BOOST_TEST((active[0].on == std::vector<std::pair<double, double>>{{0.0, kInf}}));
  BOOST_TEST((active[1].on == std::vector<std::pair<double, double>>{{2, 4}, {4, 6}, {9, kInf}}));
  // Off before 2, on 2-6 (touching intervals merge), off 6-9, then on for good.
  BOOST_TEST((changes(fp::timeline_from_on_intervals(1, active[1]), 100) ==
              Changes{{0, false}, {2, true}, {6, false}, {9, true}}));
  BOOST_TEST(fp::timeline_from_on_intervals(0, active[0]).empty());

  // Resolution with LV08's factors: comm_time 2 s for 1000 bytes is 1 s each way, so the link
  // moves 1000 B/s once SimGrid's 0.97 applies: 1000 / 0.97 B/s and no latency.
  fp::ResolveParams rp;
  rp.sample_work = 4;  // e.g. 4 stages of 1 flop per sample
  rp.model_bytes = 1000;
  const fp::Platform p = fp::resolve(t, rp);
  BOOST_TEST(p.clients[0].speed == 40.0);
  BOOST_TEST(p.clients[0].bandwidth == 1000.0 / 0.97);
  BOOST_TEST(p.clients[0].latency == 0.0);
  BOOST_TEST(p.clients[1].bandwidth == 4000.0 / 0.97);  // 0.5 s for 2 x 1000 bytes
  BOOST_TEST(p.clients[1].name == "client-1");
  // CV of {40, 20}: mean 30, population std 10.
  BOOST_TEST(p.heterogeneity == 10.0 / 30.0, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(clients_csv_link_form_compensates_simgrid_factors) {
  const std::string path = write("clients-link.csv",
                                 "client,speed,bandwidth,latency\n"
                                 "0,100,1e6,0.01\n"
                                 "1,100,2e6,0\n");
  const fp::ClientTable t = fp::read_clients_csv(path, 2);
  BOOST_TEST(!fp::clients_csv_has_active(path));
  fp::ResolveParams rp;
  rp.model_bytes = 5000;
  const fp::Platform p = fp::resolve(t, rp);
  // A lone transfer of S bytes takes 13.01 x (0.01 / 13.01) + S / (0.97 x 1e6 / 0.97).
  BOOST_TEST(p.clients[0].latency == 0.01 / 13.01);
  BOOST_TEST(p.clients[0].bandwidth == 1e6 / 0.97);
  BOOST_TEST(p.clients[1].latency == 0.0);
  // CM02 (factors 1): the values as given.
  rp.net.latency = 1;
  rp.net.bandwidth = 1;
  const fp::Platform q = fp::resolve(t, rp);
  BOOST_TEST(q.clients[0].latency == 0.01);
  BOOST_TEST(q.clients[0].bandwidth == 1e6);
  BOOST_TEST(q.heterogeneity == 0.0);
  // CM02: SimGrid's TCP window caps a flow at gamma / (2 latency) = 4194304 / 0.25 B/s.
  const std::string fast = write("clients-fast.csv",
                                 "client,speed,bandwidth,latency\n"
                                 "0,100,1e6,0.01\n"
                                 "1,100,3e7,0.125\n");
  const std::string msg = input_error_of([&] { fp::resolve(fp::read_clients_csv(fast, 2), rp); });
  BOOST_TEST(has(msg, fast + ":3: expected a bandwidth <= 16777216 bytes/s for latency 0.125 s"));
}

BOOST_AUTO_TEST_CASE(clients_csv_errors) {
  const std::string h = "client,speed,comm_time\n";
  BOOST_TEST(has(clients_error(h + "0,10,1\n"), "expected a row for every client 0 .. 1"));
  BOOST_TEST(has(clients_error(h + "0,10,1\n"), "found none for client 1"));
  BOOST_TEST(has(clients_error(h + "0,10,1\n0,10,1\n"),
                 ":3:1: column 'client': expected each client once, found client 0 again "
                 "(first on line 2)"));
  BOOST_TEST(has(clients_error(h + "0,10,1\n2,10,1\n"),
                 ":3:1: column 'client': expected an integer in [0, 1], found '2'"));
  BOOST_TEST(has(clients_error(h + "0,10,1\n-1,10,1\n"), "expected an integer in [0, 1]"));
  BOOST_TEST(has(clients_error(h + "0,10,1\n1.5,10,1\n"), "found '1.5'"));
  BOOST_TEST(has(clients_error(h + "0,nan,1\n1,10,1\n"),
                 ":2:3: column 'speed': expected a finite number, found 'nan'"));
  BOOST_TEST(has(clients_error(h + "0,inf,1\n1,10,1\n"), "expected a finite number, found 'inf'"));
  BOOST_TEST(has(clients_error(h + "0,fast,1\n1,10,1\n"), "found 'fast'"));
  BOOST_TEST(has(clients_error(h + "0,,1\n1,10,1\n"), "expected a finite number, found ''"));
  BOOST_TEST(has(clients_error(h + "0,0,1\n1,10,1\n"),
                 ":2:3: column 'speed': expected a number > 0, found '0'"));
  BOOST_TEST(has(clients_error(h + "0,-3,1\n1,10,1\n"), "expected a number > 0, found '-3'"));
  BOOST_TEST(has(clients_error(h + "0,10,0\n1,10,1\n"),
                 ":2:6: column 'comm_time': expected a number > 0, found '0'"));
  BOOST_TEST(has(clients_error(h + "0,10\n1,10,1\n"),
                 ":2: expected 3 comma-separated fields (as many as the header's columns), "
                 "found 2"));
  BOOST_TEST(has(clients_error("client,speed,bandwidth,latency\n0,1,1,-1\n1,1,1,0\n"),
                 ":2:7: column 'latency': expected a number >= 0, found '-1'"));
  // Headers.
  BOOST_TEST(has(clients_error(""), "found an empty file"));
  BOOST_TEST(has(clients_error("client,sped,comm_time\n"),
                 ":1:8: expected a header line with the columns client, speed (optional: "
                 "bandwidth, latency, comm_time, active), found 'sped'"));
  BOOST_TEST(has(clients_error("client,comm_time\n"), "found no column 'speed'"));
  BOOST_TEST(has(clients_error("client,speed,speed\n"), ":1:14: expected each column once"));
  BOOST_TEST(has(clients_error("client,speed,bandwidth,latency,comm_time\n"),
                 ":1: expected columns 'bandwidth' and 'latency', or 'comm_time' (not both)"));
  BOOST_TEST(has(clients_error("client,speed\n"),
                 "expected columns 'bandwidth' and 'latency', or 'comm_time'"));
  BOOST_TEST(has(clients_error("client,speed,bandwidth\n"), "found bandwidth"));
  // The active column.
  const std::string a = "client,speed,comm_time,active\n1,1,1,\n";
  BOOST_TEST(has(clients_error(a + "0,1,1,5\n"), ":3:7: column 'active': expected ';'-separated"));
  BOOST_TEST(has(clients_error(a + "0,1,1,4:2\n"), "expected intervals with 0 <= start < end"));
  BOOST_TEST(has(clients_error(a + "0,1,1,-1:2\n"), "0 <= start < end, found '-1:2'"));
  BOOST_TEST(has(clients_error(a + "0,1,1,0:5;3:9\n"),
                 "expected intervals in time order, each starting at or after the previous end, "
                 "found '3:9'"));
  BOOST_TEST(has(clients_error(a + "0,1,1,0:inf;9:10\n"), "nothing after an interval that ends"));
  BOOST_TEST(has(clients_error(a + "0,1,1,0:nan\n"), "found '0:nan'"));
  BOOST_TEST(has(input_error_of([] { fp::read_clients_csv("/nonexistent/c.csv", 2); }),
                 "/nonexistent/c.csv: expected a readable CSV file"));
}

BOOST_AUTO_TEST_CASE(fedscale_capacity_values_and_errors) {
  // FedScale ids from 1; rows beyond the clients are ignored, in any order.
  const std::string path = write("capacity.csv",
                                 "client_id,computation,communication\n"
                                 "3,1,1\n"
                                 "2,20,80\n"
                                 "1,10,8\n");
  const fp::ClientTable t = fp::read_fedscale_capacity(path, 2, 3.0);
  BOOST_TEST(t.clients[0].sample_time == 0.03);  // 3 x 10 ms
  BOOST_TEST(t.clients[0].bandwidth == 1000.0);  // 8 kbit/s = 1000 B/s
  BOOST_TEST(t.clients[1].sample_time == 3 * 20 / 1000.0);
  BOOST_TEST(t.clients[1].bandwidth == 10000.0);
  BOOST_TEST((t.clients[1].link == fp::LinkForm::kRate));
  fp::ResolveParams rp;
  rp.sample_work = 6;  // 6 stages x 1 flop: one sample through all of them takes sample_time
  rp.model_bytes = 12345;
  const fp::Platform p = fp::resolve(t, rp);
  BOOST_TEST(p.clients[0].speed == 6 / 0.03);
  BOOST_TEST(p.clients[1].speed == 6 / 0.06);
  BOOST_TEST(p.clients[0].bandwidth == 1000.0 / 0.97);
  BOOST_TEST(p.clients[0].latency == 0.0);
  // speeds 200 and 100: CV 50 / 150.
  BOOST_TEST(p.heterogeneity == 1.0 / 3.0, boost::test_tools::tolerance(1e-15));

  const std::string h = "client_id,computation,communication\n";
  BOOST_TEST(has(capacity_error(h + "1,10,8\n"), "found none for client 2"));
  BOOST_TEST(has(capacity_error(h + "1,10,8\n"), "FedGrid client u is FedScale client u + 1"));
  BOOST_TEST(has(capacity_error(h + "1,10,8\n1,10,8\n"),
                 ":3:1: column 'client_id': expected each "
                 "client once, found client 1 again"));
  BOOST_TEST(has(capacity_error(h + "0,10,8\n"),
                 ":2:1: column 'client_id': expected a FedScale client id (>= 1), found '0'"));
  BOOST_TEST(has(capacity_error(h + "x,10,8\n"), "expected an integer in [0, "));
  BOOST_TEST(has(capacity_error(h + "1,0,8\n2,1,1\n"),
                 ":2:3: column 'computation': expected a number > 0, found '0'"));
  BOOST_TEST(has(capacity_error(h + "1,10,NaN\n2,1,1\n"),
                 ":2:6: column 'communication': expected a finite number, found 'NaN'"));
  BOOST_TEST(has(capacity_error("clientId,computation,communication\n"), "found 'clientId'"));
}

BOOST_AUTO_TEST_CASE(fedscale_behaviour_values_and_errors) {
  const std::string path = write("behaviour.csv",
                                 "client_id,active,inactive,finish_time\n"
                                 "1,0,4,20\n"
                                 "2,3,30,30\n"
                                 "1,6,20,20\n"
                                 "9,1,2,3\n");
  const std::vector<fp::OnIntervals> a = fp::read_fedscale_behaviour(path, 2);
  BOOST_TEST((a[0].on == std::vector<std::pair<double, double>>{{0, 4}, {6, 20}}));
  BOOST_TEST(a[0].period == 20.0);
  // Client 0: off [4, 6) in every 20 s period; on across the period boundary.
  BOOST_TEST((changes(fp::timeline_from_on_intervals(0, a[0]), 50) ==
              Changes{{4, false}, {6, true}, {24, false}, {26, true}, {44, false}, {46, true}}));
  // Client 1: off until 3, then off [30, 33) every 30 s.
  BOOST_TEST((changes(fp::timeline_from_on_intervals(1, a[1]), 70) ==
              Changes{{0, false}, {3, true}, {30, false}, {33, true}, {60, false}, {63, true}}));
  BOOST_TEST(fp::timeline_from_on_intervals(1, a[1]).gone_at() == kInf);
  // A whole period on: always on; no interval at all: never on.
  BOOST_TEST(fp::timeline_from_on_intervals(0, fp::OnIntervals{{{0, 5}}, 5}).empty());
  const fp::ClientTimeline never = fp::timeline_from_on_intervals(0, fp::OnIntervals{});
  BOOST_TEST((changes(never, 100) == Changes{{0, false}}));
  BOOST_TEST(never.gone_at() == 0.0);
  // Without repetition the last interval's end is for good.
  const fp::ClientTimeline once = fp::timeline_from_on_intervals(0, fp::OnIntervals{{{0, 7}}});
  BOOST_TEST((changes(once, 100) == Changes{{7, false}}));
  BOOST_TEST(once.gone_at() == 7.0);

  const std::string h = "client_id,active,inactive,finish_time\n";
  BOOST_TEST(has(behaviour_error(h + "1,0,4,20\n"), "found none for client 2"));
  BOOST_TEST(has(behaviour_error(h + "1,0,4,20\n2,0,5,10\n1,5,6,30\n"),
                 ":4:7: column 'finish_time': expected the finish_time of client 1's first row "
                 "(line 2), found '30'"));
  BOOST_TEST(has(behaviour_error(h + "1,0,40,20\n2,0,5,10\n"),
                 ":2:5: column 'inactive': expected a time <= finish_time (20), found '40'"));
  BOOST_TEST(has(behaviour_error(h + "1,5,5,20\n2,0,5,10\n"), "expected a time after 'active'"));
  BOOST_TEST(has(behaviour_error(h + "1,-1,5,20\n2,0,5,10\n"), "expected a time >= 0"));
  BOOST_TEST(has(behaviour_error(h + "1,4,8,20\n1,6,9,20\n2,0,5,10\n"),
                 ":3:3: column 'active': expected client 1's intervals in time order"));
  BOOST_TEST(has(behaviour_error(h + "1,0,4,0\n2,0,5,10\n"),
                 "column 'finish_time': expected a number > 0"));
  BOOST_TEST(has(behaviour_error(h + "1,0,4,nan\n"), "expected a finite number, found 'nan'"));
}

BOOST_AUTO_TEST_CASE(make_timelines_reads_every_trace_format) {
  const std::string csv = write("timelines-clients.csv",
                                "client,speed,comm_time,active\n"
                                "0,1,1,1:2\n"
                                "1,1,1,\n");
  fp::AvailabilitySpec spec;
  spec.model = fp::AvailabilityModel::kTrace;
  spec.format = fp::TraceFormat::kClientsCsv;
  spec.trace_file = csv;
  std::vector<fp::ClientTimeline> t = fp::make_timelines(spec, 2, 1);
  BOOST_TEST((changes(t[0], 100) == Changes{{0, false}, {1, true}, {2, false}}));
  BOOST_TEST(t[0].gone_at() == 2.0);
  BOOST_TEST(t[1].empty());
  spec.format = fp::TraceFormat::kFedscale;
  spec.trace_file = write("timelines-behaviour.csv",
                          "client_id,active,inactive,finish_time\n1,2,10,10\n2,0,1,1\n");
  t = fp::make_timelines(spec, 2, 1);
  BOOST_TEST((changes(t[0], 25) ==
              Changes{{0, false}, {2, true}, {10, false}, {12, true}, {20, false}, {22, true}}));
  BOOST_TEST(t[1].empty());
}

BOOST_AUTO_TEST_CASE(new_input_files_are_fingerprinted) {
  fedgrid::io::Scenario s;
  s.file = "scenario.yaml";
  s.model_file = "model.yaml";
  s.data.dataset = "synthetic";
  s.platform.clients_file = "/x/capacity.csv";
  s.platform.fedscale = true;
  s.availability.model = fp::AvailabilityModel::kTrace;
  s.availability.format = fp::TraceFormat::kFedscale;
  s.availability.trace_file = "/x/behaviour.csv";
  using Inputs = std::vector<std::pair<std::string, std::string>>;
  BOOST_TEST(
      (fedgrid::io::run_inputs(s) == Inputs{{"scenario", "scenario.yaml"},
                                            {"model", "model.yaml"},
                                            {"FedScale capacity", "/x/capacity.csv"},
                                            {"FedScale behaviour trace", "/x/behaviour.csv"}}));
  s.platform.fedscale = false;
  s.platform.clients_file = "/x/clients.csv";
  s.availability.format = fp::TraceFormat::kClientsCsv;  // the same file: listed once
  s.availability.trace_file = "/x/clients.csv";
  BOOST_TEST((fedgrid::io::run_inputs(s) == Inputs{{"scenario", "scenario.yaml"},
                                                   {"model", "model.yaml"},
                                                   {"clients csv", "/x/clients.csv"}}));
}
