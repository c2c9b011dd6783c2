// FedGrid's platform file checker: SimGrid's units (values computed by hand from its tables),
// the XML reader (entities, lines, limits), profile files, routes through routers, and the
// example platforms of platforms/ passing.
#define BOOST_TEST_MODULE platform_xml
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <string>

#include "platform/xml_check.hpp"
#include "platform/xml_reader.hpp"
#include "platform/xml_values.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using fedgrid::platform::parse_quantity;
using fedgrid::platform::Quantity;
using fedgrid::test::contains;
using fedgrid::test::input_error_of;
using fedgrid::test::write_temp;

static const std::string kRoot = FEDGRID_SOURCE_DIR;
static const std::string kHead =
    "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
    "<platform version=\"4.1\">\n";

BOOST_AUTO_TEST_CASE(units_as_simgrid_reads_them) {
  BOOST_TEST(*parse_quantity("1Gf", Quantity::kSpeed) == 1e9);
  BOOST_TEST(*parse_quantity(" 2.5kf ", Quantity::kSpeed) == 2500.0);
  BOOST_TEST(*parse_quantity("7flops", Quantity::kSpeed) == 7.0);
  BOOST_TEST(*parse_quantity("100", Quantity::kSpeed) == 100.0);  // unit-less: base unit
  for (const char* bad : {"1Gflops", "1Kf", "1GF", "1 Gf", "", "f", "0x10f", "1e400f", "nanf"}) {
    BOOST_TEST(!parse_quantity(bad, Quantity::kSpeed).has_value(), bad);
  }
  BOOST_TEST(*parse_quantity("10Mbps", Quantity::kBandwidth) == 1.25e6);
  BOOST_TEST(*parse_quantity("1.5GiBps", Quantity::kBandwidth) == 1.5 * 1073741824.0);
  BOOST_TEST(*parse_quantity("1Kibps", Quantity::kBandwidth) == 128.0);
  BOOST_TEST(*parse_quantity("1kBps", Quantity::kBandwidth) == 1000.0);
  BOOST_TEST(!parse_quantity("1KBps", Quantity::kBandwidth).has_value());
  BOOST_TEST(*parse_quantity("1m", Quantity::kTime) == 60.0);
  BOOST_TEST(*parse_quantity("10ms", Quantity::kTime) == 0.01);
  BOOST_TEST(*parse_quantity("2w", Quantity::kTime) == 1209600.0);
  BOOST_TEST(!parse_quantity("1min", Quantity::kTime).has_value());
}

BOOST_AUTO_TEST_CASE(reader_entities_lines_and_limits) {
  const auto doc = fedgrid::platform::parse_xml(
      "<?xml version='1.0'?>\n<!-- c -->\n<a x='&lt;&amp;&#65;&#x42;'>\n  <b y=\"1\"/>\n</a>\n",
      "t.xml");
  BOOST_TEST(doc.root.name == "a");
  BOOST_TEST(*doc.root.attribute("x") == "<&AB");
  BOOST_TEST(doc.root.children.at(0).line == 4);
  auto err = [](const std::string& xml) {
    return input_error_of([&] { fedgrid::platform::parse_xml(xml, "t.xml"); });
  };
  BOOST_TEST(contains(err("<a>\n<b>\n</a>"), "t.xml:3: expected </b>, found </a>"));
  BOOST_TEST(contains(err("<a x='1' x='2'/>"), "each attribute once"));
  BOOST_TEST(contains(err("<a>text</a>"), "no text"));
  BOOST_TEST(contains(err("<a x='&bomb;'/>"), "'&bomb;'"));
  BOOST_TEST(contains(err("<a/><b/>"), "a second root element"));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  BOOST_TEST(contains(err(deep), "at most 64 nested elements"));
}

BOOST_AUTO_TEST_CASE(profile_files) {
  using fedgrid::platform::check_profile_file;
  BOOST_TEST(input_error_of([] {
               check_profile_file(write_temp("p1.txt", "# c\nPERIODICITY 10\n0 1\n5 0 # x\n\n"));
             }).empty());
  const std::string e1 =
      input_error_of([] { check_profile_file(write_temp("p2.txt", "0 1\n5 -1\n")); });
  BOOST_TEST(contains(e1, "p2.txt:2: expected a value >= 0, found -1"), e1);
  const std::string e2 =
      input_error_of([] { check_profile_file(write_temp("p3.txt", "5 1\n2 0\n")); });
  BOOST_TEST(contains(e2, "p3.txt:2: expected dates >= 0 in increasing order"), e2);
  const std::string e3 = input_error_of([] { check_profile_file(write_temp("p4.txt", "0 x\n")); });
  BOOST_TEST(contains(e3, "p4.txt:1: expected 'DATE VALUE'"), e3);
}

BOOST_AUTO_TEST_CASE(routes_through_routers) {
  // server -> r -> client-0 and back through symmetrical routes; client-1 only one way.
  std::string xml = kHead +
                    "<zone id='z' routing='Floyd'>\n<host id='server' speed='1Gf'/>\n"
                    "<router id='r'/>\n<host id='client-0' speed='1kf'/>\n"
                    "<host id='client-1' speed='1kf'/>\n"
                    "<link id='a' bandwidth='1MBps' latency='1ms'/>\n"
                    "<route src='server' dst='r'><link_ctn id='a'/></route>\n"
                    "<route src='r' dst='client-0'><link_ctn id='a'/></route>\n";
  const std::string one = xml + "</zone>\n</platform>\n";
  BOOST_TEST(input_error_of([&] {
               fedgrid::platform::check_platform_file(write_temp("r1.xml", one), 1, false);
             }).empty());
  const std::string two = xml +
                          "<route src='r' dst='client-1' symmetrical='NO'><link_ctn id='a'/>"
                          "</route>\n</zone>\n</platform>\n";
  const std::string e = input_error_of(
      [&] { fedgrid::platform::check_platform_file(write_temp("r2.xml", two), 2, false); });
  BOOST_TEST(contains(e,
                      "a route from 'server' to every client and back, found none from "
                      "'client-1' to 'server'"),
             e);
}

BOOST_AUTO_TEST_CASE(example_platforms_pass) {
  int n = 0;
  for (const char* dir : {"/platforms", "/platforms/heterogeneity"}) {
    for (const auto& f : fs::directory_iterator(kRoot + dir)) {
      if (f.path().extension() != ".xml") continue;
      const auto info = fedgrid::platform::check_platform_file(f.path().string(), 20, true);
      BOOST_TEST(info.hosts == 21, f.path());
      BOOST_TEST((info.links == 20 || info.links == 21), f.path());
      ++n;
    }
  }
  BOOST_TEST(n >= 11);
  // More clients than the file has hosts for.
  const std::string e = input_error_of([] {
    fedgrid::platform::check_platform_file(kRoot + "/platforms/homogeneous-20.xml", 21, false);
  });
  BOOST_TEST(contains(e, "no host 'client-20'"), e);
}
