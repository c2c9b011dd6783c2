// Units and profile files of SimGrid platforms (see xml_values.hpp). The unit tables are those
// SimGrid 3.32 accepts (checked against its parser): speeds f or flops, with metric prefixes on
// f only; bandwidths Bps or bps with metric (k, M, ...) or binary (Ki, Mi, ...) prefixes; times
// w, d, h, m, s, ms, us, ns, ps.
#include "platform/xml_values.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/error.hpp"

namespace fedgrid::platform {

namespace {

struct Unit {
  std::string name;
  double factor;
};

const char* kMetric[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
const char* kBinary[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};

std::vector<Unit> with_prefixes(const std::string& base, double factor, bool binary) {
  std::vector<Unit> u{{base, factor}};
  double m = 1, b = 1;
  for (int i = 0; i < 8; ++i) {
    m *= 1000;
    b *= 1024;
    u.push_back({kMetric[i] + base, factor * m});
    if (binary) u.push_back({kBinary[i] + base, factor * b});
  }
  return u;
}

const std::vector<Unit>& units(Quantity q) {
  static const std::vector<Unit> speed = [] {
    auto u = with_prefixes("f", 1.0, false);
    u.push_back({"flops", 1.0});
    return u;
  }();
  static const std::vector<Unit> bandwidth = [] {
    auto u = with_prefixes("Bps", 1.0, true);
    for (const auto& b : with_prefixes("bps", 0.125, true)) u.push_back(b);
    return u;
  }();
  static const std::vector<Unit> time = {{"w", 604800}, {"d", 86400}, {"h", 3600},
                                         {"m", 60},     {"s", 1},     {"ms", 1e-3},
                                         {"us", 1e-6},  {"ns", 1e-9}, {"ps", 1e-12}};
  return q == Quantity::kSpeed ? speed : q == Quantity::kBandwidth ? bandwidth : time;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A finite decimal number filling `s` ("" or anything else: nullopt).
std::optional<double> number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::optional<double> parse_quantity(const std::string& text, Quantity q) {
  const std::string s = trim(text);
  const std::size_t digits = s.find_first_not_of("+-");
  if (digits == std::string::npos) return std::nullopt;
  if (s.compare(digits, 2, "0x") == 0 || s.compare(digits, 2, "0X") == 0) {
    return std::nullopt;  // strtod reads hexadecimal floats; nobody means them here
  }
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  const std::string unit(end);
  if (unit.empty()) return v;  // SimGrid: deprecated, taken in the base unit
  for (const Unit& u : units(q)) {
    if (u.name == unit) {
      const double r = v * u.factor;
      return std::isfinite(r) ? std::optional<double>(r) : std::nullopt;
    }
  }
  return std::nullopt;
}

std::string unit_examples(Quantity q) {
  if (q == Quantity::kSpeed) return "a unit f, kf, Mf, Gf, ..., Yf or flops (e.g. '1Gf')";
  if (q == Quantity::kBandwidth) {
    return "a unit Bps or bps with a prefix k, M, G, ... or Ki, Mi, Gi, ... (e.g. '125MBps', "
           "'1Gbps')";
  }
  return "a unit w, d, h, m, s, ms, us, ns or ps (e.g. '10ms')";
}

void check_profile_file(const std::string& path) {
  std::ifstream in = util::open_input(path, "a profile file (lines 'DATE VALUE')");
  std::string line;
  double last = 0;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto hash = line.find('#');
    std::istringstream words(trim(hash == std::string::npos ? line : line.substr(0, hash)));
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.empty()) continue;
    const char* want = "'DATE VALUE' (numbers), 'PERIODICITY X' or 'LOOPAFTER X'";
    if (w.size() != 2) util::throw_input_error(path, n, "", want, "'" + trim(line) + "'");
    const auto b = number(w[1]);
    if (w[0] == "PERIODICITY" || w[0] == "LOOPAFTER") {
      if (!b || *b < 0) util::throw_input_error(path, n, "", "a number >= 0 after " + w[0], w[1]);
      continue;
    }
    const auto a = number(w[0]);
    if (!a || !b) util::throw_input_error(path, n, "", want, "'" + trim(line) + "'");
    if (*a < last) {
      util::throw_input_error(path, n, "", "dates >= 0 in increasing order",
                              w[0] + " after " + util::short_number(last));
    }
    if (*b < 0) util::throw_input_error(path, n, "", "a value >= 0", w[1]);
    last = *a;
  }
}

}  // namespace fedgrid::platform
