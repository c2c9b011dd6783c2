// Unit tests of the platform generator: distributions (means within stated standard errors),
// determinism, spec validation messages, XML structure and the example files in platforms/.
#define BOOST_TEST_MODULE platform
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "platform/platform.hpp"
#include "util/error.hpp"

namespace fp = fedgrid::platform;
using fedgrid::util::InputError;
using fedgrid::util::Rng;

namespace {

fp::Distribution constant(double v) {
  fp::Distribution d;
  d.kind = "constant";
  d.value = v;
  return d;
}
fp::Distribution uniform(double lo, double hi) {
  fp::Distribution d;
  d.kind = "uniform";
  d.min = lo;
  d.max = hi;
  return d;
}
fp::Distribution lognormal(double median, double sigma) {
  fp::Distribution d;
  d.kind = "lognormal";
  d.median = median;
  d.sigma = sigma;
  return d;
}
fp::Distribution two_tier(double v, double k, double f) {
  fp::Distribution d;
  d.kind = "two_tier";
  d.value = v;
  d.slow_factor = k;
  d.slow_fraction = f;
  return d;
}

fp::PlatformSpec base_spec(int n) {
  fp::PlatformSpec s;
  s.clients = n;
  s.speed = uniform(1, 8192);
  s.bandwidth = lognormal(1.25e7, 1.0);
  s.latency = uniform(1e-3, 5e-2);
  return s;
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

// Minimal well-formedness check: every start tag is closed in LIFO order, every attribute value
// is quoted, and nothing but whitespace lies outside the root element.
bool well_formed(const std::string& xml) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  bool seen_root = false;
  while ((i = xml.find('<', i)) != std::string::npos) {
    const auto end = xml.find('>', i);
    if (end == std::string::npos) return false;
    const std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty() || tag[0] == '?' || tag[0] == '!') continue;  // prolog, doctype, comment
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return false;
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return false;
      stack.pop_back();
      continue;
    }
    if (stack.empty() && seen_root) return false;  // a second root element
    seen_root = true;
    if (tag.back() == '/') continue;  // empty element
    stack.push_back(tag.substr(0, tag.find(' ')));
  }
  return seen_root && stack.empty();
}

// Same text, and numbers (runs starting with a digit) equal within a relative 1e-12.
bool same_up_to_rounding(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      char* ea = nullptr;
      char* eb = nullptr;
      const double x = std::strtod(a.c_str() + i, &ea);
      const double y = std::strtod(b.c_str() + j, &eb);
      if (std::abs(x - y) > 1e-12 * std::max(std::abs(x), std::abs(y))) return false;
      i = static_cast<std::size_t>(ea - a.c_str());
      j = static_cast<std::size_t>(eb - b.c_str());
    } else if (a[i++] != b[j++]) {
      return false;
    }
  }
  return i == a.size() && j == b.size();
}

// Runs f, which must throw InputError, and returns the message.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError thrown>";
}

}  // namespace

BOOST_AUTO_TEST_CASE(same_seed_same_xml_different_seed_differs) {
  const auto spec = base_spec(50);
  const std::string a = fp::to_xml(fp::generate(spec, 7));
  BOOST_TEST(a == fp::to_xml(fp::generate(spec, 7)));
  BOOST_TEST(a != fp::to_xml(fp::generate(spec, 8)));
}

BOOST_AUTO_TEST_CASE(streams_are_independent) {
  // Speeds come from (seed, "platform.speed") only: changing the bandwidth law keeps them.
  auto spec = base_spec(30);
  const auto a = fp::generate(spec, 3);
  spec.bandwidth = constant(1e6);
  const auto b = fp::generate(spec, 3);
  for (std::size_t u = 0; u < a.clients.size(); ++u) {
    BOOST_TEST(a.clients[u].speed == b.clients[u].speed);
    BOOST_TEST(a.clients[u].latency == b.clients[u].latency);
    BOOST_TEST(b.clients[u].bandwidth == 1e6);
    BOOST_TEST(a.clients[u].name == "client-" + std::to_string(u));
  }
  Rng rng(3, "platform.speed");
  const auto direct = uniform(1, 8192).sample(30, rng);
  for (std::size_t u = 0; u < direct.size(); ++u) BOOST_TEST(a.clients[u].speed == direct[u]);
}

// comm_time: speeds as without it, no latency, and the bandwidth that moves the model one way in
// half the drawn time under the bandwidth factor (hand-computed for constant 0.8 s, 4000 bytes);
// uniform draws come from their own stream; without the model's size it is a programming error.
BOOST_AUTO_TEST_CASE(comm_time_gives_latency_free_links) {
  auto spec = base_spec(12);
  const auto plain = fp::generate(spec, 9);
  spec.comm_time = constant(0.8);
  const fp::CommLink link{4000.0, 0.97};
  const auto p = fp::generate(spec, 9, &link);
  for (std::size_t u = 0; u < p.clients.size(); ++u) {
    BOOST_TEST(p.clients[u].speed == plain.clients[u].speed);
    BOOST_TEST(p.clients[u].latency == 0.0);
    BOOST_TEST(p.clients[u].bandwidth == 2.0 * 4000.0 / 0.8 / 0.97);
    // One transfer of the model: 4000 / (bandwidth x 0.97) = 0.4 s.
    BOOST_TEST(4000.0 / (p.clients[u].bandwidth * 0.97) == 0.4,
               boost::test_tools::tolerance(1e-12));
  }
  spec.comm_time = uniform(0.2, 2.0);
  const auto q = fp::generate(spec, 9, &link);
  Rng rng(9, "platform.comm_time");
  const auto times = uniform(0.2, 2.0).sample(12, rng);
  for (std::size_t u = 0; u < q.clients.size(); ++u) {
    BOOST_TEST(q.clients[u].bandwidth == link.bandwidth(times[u]));
  }
  BOOST_CHECK_THROW(fp::generate(spec, 9), std::logic_error);
  spec.comm_time = constant(-1.0);
  BOOST_CHECK_THROW(fp::generate(spec, 9, &link), InputError);
}

// Sample means over n = 100000 draws must lie within 5 standard errors sd/sqrt(n) of mean():
// a false alarm has probability < 6e-7 (and the draws are seeded, so the test is deterministic).
BOOST_AUTO_TEST_CASE(sample_means_match_exact_means) {
  const std::size_t n = 100000;
  struct Case {
    fp::Distribution d;
    double sd;  // exact standard deviation
  };
  const double s = 0.5, m = 1000.0;
  const std::vector<Case> cases = {
      {constant(3.5), 0.0},
      {uniform(1, 8192), 8191.0 / std::sqrt(12.0)},
      // Var of a lognormal: (e^{s^2} - 1) e^{2 log m + s^2}, i.e. sd = mean * sqrt(e^{s^2} - 1).
      {lognormal(m, s), m * std::exp(0.5 * s * s) * std::sqrt(std::exp(s * s) - 1.0)},
  };
  for (const auto& c : cases) {
    Rng rng(11, "test");
    const auto xs = c.d.sample(n, rng);
    double sum = 0;
    for (double x : xs) sum += x;
    const double tol = 5.0 * c.sd / std::sqrt(static_cast<double>(n)) + 1e-9 * c.d.mean();
    BOOST_TEST(std::abs(sum / n - c.d.mean()) <= tol, c.d.kind << " mean " << sum / n);
  }
  BOOST_TEST(uniform(1, 8192).mean() == 4096.5);
  BOOST_TEST(lognormal(m, s).mean() == m * std::exp(0.125));
  // The lognormal median: P(X < m) = 1/2, within 5 * sqrt(0.25 / n).
  Rng rng(12, "test");
  const auto xs = lognormal(m, s).sample(n, rng);
  const double below =
      static_cast<double>(std::count_if(xs.begin(), xs.end(), [&](double x) { return x < m; }));
  BOOST_TEST(std::abs(below / n - 0.5) <= 5.0 * std::sqrt(0.25 / n));
  // two_tier has exactly round(f n) slow values, so its sample mean equals mean() up to rounding.
  const auto tt = two_tier(100.0, 4.0, 0.3);
  Rng rng2(13, "test");
  const auto ys = tt.sample(n, rng2);
  double sum = 0;
  for (double y : ys) sum += y;
  BOOST_TEST(tt.mean() == 100.0 * (0.7 + 0.3 / 4.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(sum / n == tt.mean(), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(two_tier_has_exactly_round_fn_slow_clients) {
  struct Case {
    double f;
    std::size_t n, slow;
  };
  // round() takes halves away from zero: 0.25 * 10 = 2.5 -> 3, 0.5 * 1 -> 1.
  for (const auto& c : std::vector<Case>{
           {0.3, 20, 6}, {0.25, 10, 3}, {0.5, 1, 1}, {0.0, 10, 0}, {1.0, 7, 7}, {0.1, 1000, 100}}) {
    Rng rng(5, "test");
    const auto xs = two_tier(64.0, 8.0, c.f).sample(c.n, rng);
    BOOST_TEST(static_cast<std::size_t>(std::count(xs.begin(), xs.end(), 8.0)) == c.slow);
    BOOST_TEST(static_cast<std::size_t>(std::count(xs.begin(), xs.end(), 64.0)) == c.n - c.slow);
  }
  // The slow set is a seeded shuffle: two seeds pick different sets, one seed the same set.
  Rng r1(1, "test"), r2(2, "test"), r1b(1, "test");
  const auto d = two_tier(64.0, 8.0, 0.5);
  const auto a = d.sample(100, r1), b = d.sample(100, r2), a2 = d.sample(100, r1b);
  BOOST_TEST((a != b));
  BOOST_TEST((a == a2));
  // Through generate(): 20 clients, fraction 0.2 -> 4 slow clients of speed 1000 / 10.
  auto spec = base_spec(20);
  spec.speed = two_tier(1000.0, 10.0, 0.2);
  const auto p = fp::generate(spec, 9);
  BOOST_TEST(std::count_if(p.clients.begin(), p.clients.end(),
                           [](const fp::ClientHost& c) { return c.speed == 100.0; }) == 4);
}

BOOST_AUTO_TEST_CASE(heterogeneity_is_cv_of_speeds) {
  auto spec = base_spec(20);
  spec.speed = constant(0.1);  // 20 * 0.1 / 20 != 0.1 in floating point: CV must still be 0
  BOOST_TEST(fp::generate(spec, 1).heterogeneity == 0.0);
  // {1, 3}: mean 2, population sd 1, CV 0.5. {2, 4, 4, 4, 5, 5, 7, 9}: mean 5, sd 2, CV 0.4.
  BOOST_TEST(fp::coefficient_of_variation({1.0, 3.0}) == 0.5);
  BOOST_TEST(fp::coefficient_of_variation({2, 4, 4, 4, 5, 5, 7, 9}) == 0.4,
             boost::test_tools::tolerance(1e-15));
  spec.speed = uniform(1, 8192);
  const auto p = fp::generate(spec, 1);
  std::vector<double> speeds;
  for (const auto& c : p.clients) speeds.push_back(c.speed);
  BOOST_TEST(p.heterogeneity == fp::coefficient_of_variation(speeds));
  BOOST_TEST(p.heterogeneity > 0.0);
}

BOOST_AUTO_TEST_CASE(invalid_specs_throw_input_error_naming_the_key) {
  auto bad = [](auto mutate) {
    auto s = base_spec(5);
    mutate(s);
    return error_of([&] { fp::generate(s, 1); });
  };
  using S = fp::PlatformSpec;
  BOOST_TEST(bad([](S& s) { s.speed = uniform(5, 1); }) ==
             "platform.generate.speed: expected min <= max, found min=5 max=1");
  BOOST_TEST(bad([](S& s) { s.clients = 0; }) ==
             "platform.generate.clients: expected at least 1 client, found 0");
  struct Case {
    void (*mutate)(S&);
    std::string key, what;
  };
  const std::vector<Case> cases = {
      {[](S& s) { s.clients = -3; }, "platform.generate.clients", "found -3"},
      {[](S& s) { s.speed = constant(0); }, "platform.generate.speed", "value > 0"},
      {[](S& s) { s.speed = uniform(0, 10); }, "platform.generate.speed", "min > 0"},
      {[](S& s) { s.speed = lognormal(1, -1); }, "platform.generate.speed", "sigma >= 0"},
      {[](S& s) { s.speed = lognormal(0, 1); }, "platform.generate.speed", "median > 0"},
      {[](S& s) { s.speed = lognormal(1e300, 1e4); }, "platform.generate.speed", "every drawn"},
      {[](S& s) { s.speed = two_tier(1, 0.5, 0.1); }, "platform.generate.speed", "slow_factor"},
      {[](S& s) { s.speed = two_tier(1, 2, 1.5); }, "platform.generate.speed", "slow_fraction"},
      {[](S& s) { s.speed = two_tier(1, 2, -0.1); }, "platform.generate.speed", "slow_fraction"},
      {[](S& s) { s.speed.kind = "gauss"; }, "platform.generate.speed", "kind 'gauss'"},
      {[](S& s) { s.speed = constant(NAN); }, "platform.generate.speed", "value=nan"},
      {[](S& s) { s.bandwidth = constant(-1); }, "platform.generate.bandwidth", "value=-1"},
      {[](S& s) { s.bandwidth = uniform(1, INFINITY); }, "platform.generate.bandwidth", "finite"},
      {[](S& s) { s.latency = constant(-0.1); }, "platform.generate.latency", "value >= 0"},
      {[](S& s) { s.latency = uniform(-1, 1); }, "platform.generate.latency", "min >= 0"},
      {[](S& s) { s.server_speed = 0; }, "platform.generate.server_speed", "server_speed=0"},
      {[](S& s) { s.server_bandwidth = 0.0; }, "platform.generate.server_bandwidth", "> 0"},
      {[](S& s) { s.server_latency = -1; }, "platform.generate.server_latency", ">= 0"},
  };
  for (const auto& c : cases) {
    const std::string msg = bad(c.mutate);
    BOOST_TEST(msg.rfind(c.key + ": expected ", 0) == 0, msg);
    BOOST_TEST(msg.find(c.what) != std::string::npos, msg);
  }
  // Valid corner cases: zero latency, min == max, sigma 0, fraction 0 or 1, lognormal latency.
  auto ok = base_spec(4);
  ok.latency = constant(0);
  ok.speed = uniform(2, 2);
  ok.bandwidth = lognormal(1e7, 0);
  BOOST_CHECK_NO_THROW(fp::generate(ok, 1));
  ok.speed = two_tier(5, 1, 1.0);
  ok.latency = lognormal(0.01, 0.5);
  BOOST_CHECK_NO_THROW(fp::generate(ok, 1));
}

BOOST_AUTO_TEST_CASE(format_number_is_printf_17g) {
  BOOST_TEST(fp::format_number(0.1) == "0.10000000000000001");
  BOOST_TEST(fp::format_number(1e12) == "1000000000000");
  BOOST_TEST(fp::format_number(1e-5) == "1.0000000000000001e-05");
  BOOST_TEST(fp::format_number(0.0) == "0");
  BOOST_TEST(fp::format_number(1e20) == "1e+20");
  Rng rng(4, "test");
  for (int i = 0; i < 1000; ++i) {
    const double x = std::exp(rng.uniform(-30, 30));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    BOOST_TEST(fp::format_number(x) == buf);
    BOOST_TEST(std::strtod(fp::format_number(x).c_str(), nullptr) == x);  // lossless
  }
}

BOOST_AUTO_TEST_CASE(xml_structure) {
  for (bool server_link : {false, true}) {
    auto spec = base_spec(25);
    if (server_link) spec.server_bandwidth = 1.25e9;
    const auto p = fp::generate(spec, 5);
    const std::string xml = fp::to_xml(p);
    const std::size_t links = 25 + (server_link ? 1 : 0);
    BOOST_TEST(xml.rfind("<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM "
                         "\"https://simgrid.org/simgrid.dtd\">\n<platform version=\"4.1\">\n",
                         0) == 0);
    BOOST_TEST(count(xml, "<host ") == 26u);
    BOOST_TEST(count(xml, "<link ") == links);
    BOOST_TEST(count(xml, "sharing_policy=\"SPLITDUPLEX\"") == links);
    BOOST_TEST(count(xml, "<host_link ") == links);
    BOOST_TEST(count(xml, "<zone id=\"fedgrid\" routing=\"Cluster\">") == 1u);
    BOOST_TEST(count(xml, "</zone>") == 1u);
    BOOST_TEST(count(xml, "</platform>") == 1u);
    BOOST_TEST(count(xml, "server-link") == (server_link ? 3u : 0u));
    BOOST_TEST(well_formed(xml));
    // Hosts in client order, each with its exact speed and its own link.
    std::size_t prev = xml.find("<host id=\"server\" speed=\"1000000000000f\"/>");
    BOOST_TEST(prev != std::string::npos);
    for (std::size_t u = 0; u < p.clients.size(); ++u) {
      const auto& c = p.clients[u];
      const std::string id = std::to_string(u);
      const auto pos = xml.find("<host id=\"client-" + id + "\" speed=\"" +
                                fp::format_number(c.speed) + "f\"/>\n    <link id=\"link-" + id +
                                "\" bandwidth=\"" + fp::format_number(c.bandwidth) +
                                "Bps\" latency=\"" + fp::format_number(c.latency) + "s\"");
      BOOST_TEST((pos != std::string::npos && pos > prev), "client " << u);
      prev = pos;
      BOOST_TEST(count(xml, "<host_link id=\"client-" + id + "\" up=\"link-" + id +
                                "_UP\" down=\"link-" + id + "_DOWN\"/>") == 1u);
    }
  }
  BOOST_TEST(!well_formed("<platform><zone></platform></zone>"));
  BOOST_TEST(!well_formed("<platform><host id=\"a/></platform>"));
}

// The example platforms in platforms/ are regenerated here from their specs (seed 1). Set
// FEDGRID_WRITE_PLATFORMS=1 to rewrite the files; otherwise they must match up to 1e-12 in
// every number (libm's exp/log may differ in the last bit on another machine).
BOOST_AUTO_TEST_CASE(example_platform_files) {
  struct Example {
    std::string name;
    fp::PlatformSpec spec;
  };
  std::vector<Example> examples(4);
  examples[0] = {"homogeneous-20", base_spec(20)};
  examples[0].spec.speed = constant(1000);
  examples[0].spec.bandwidth = constant(1.25e7);
  examples[0].spec.latency = constant(0.01);
  examples[1] = {"lognormal-20", base_spec(20)};
  examples[1].spec.speed = lognormal(1000, 1.0);
  examples[2] = {"two-tier-20", base_spec(20)};
  examples[2].spec.speed = two_tier(1000, 10, 0.2);
  examples[2].spec.bandwidth = constant(1.25e7);
  examples[2].spec.latency = constant(0.01);
  examples[3] = {"uniform-server-link-20", base_spec(20)};
  examples[3].spec.bandwidth = uniform(1.25e6, 1.25e8);
  examples[3].spec.server_bandwidth = 1.25e9;
  examples[3].spec.server_latency = 1e-4;
  const char* write = std::getenv("FEDGRID_WRITE_PLATFORMS");
  for (const auto& ex : examples) {
    const std::string path = std::string(FEDGRID_SOURCE_DIR) + "/platforms/" + ex.name + ".xml";
    const std::string xml = fp::to_xml(fp::generate(ex.spec, 1));
    if (write != nullptr && std::string(write) == "1") std::ofstream(path) << xml;
    std::ifstream in(path);
    BOOST_TEST_REQUIRE(in.good(), "missing " << path);
    std::stringstream buf;
    buf << in.rdbuf();
    BOOST_TEST(same_up_to_rounding(buf.str(), xml), path << " is out of date");
    BOOST_TEST(count(xml, "<host ") == 21u);
  }
}
