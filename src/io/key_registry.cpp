// Key registry for the reference documentation (see key_registry.hpp).
#include "io/key_registry.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>
#include <tuple>

namespace fedgrid::io {

namespace {
bool recording = false;
std::set<KeyInfo>& registry() {
  static std::set<KeyInfo> keys;
  return keys;
}
}  // namespace

bool KeyInfo::operator<(const KeyInfo& o) const {
  return std::tie(doc, path, type, def, range) < std::tie(o.doc, o.path, o.type, o.def, o.range);
}

bool KeyInfo::operator==(const KeyInfo& o) const {
  return std::tie(doc, path, type, def, range) == std::tie(o.doc, o.path, o.type, o.def, o.range);
}

void set_key_recording(bool on) { recording = on; }

void record_key(KeyInfo info) {
  if (!recording) return;
  static const std::regex index(R"(\[[0-9]+\])");
  info.path = std::regex_replace(info.path, index, "[]");
  registry().insert(std::move(info));
}

std::vector<KeyInfo> recorded_keys() { return {registry().begin(), registry().end()}; }

void clear_recorded_keys() { registry().clear(); }

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e6) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int p = 1; p <= 17; ++p) {  // the shortest form that reads back exactly
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;  // "1e+12" -> "1e12", "1e-06" -> "1e-6"
  auto e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  std::string sign = exp[0] == '-' ? "-" : "";
  exp = exp.substr(exp[0] == '-' || exp[0] == '+' ? 1 : 0);
  while (exp.size() > 1 && exp[0] == '0') exp.erase(0, 1);
  return mant + "e" + sign + exp;
}

std::string format_range(double lo, double hi) {
  // A lower bound among the tiniest positive doubles only says "positive".
  std::string left = lo > 0 && lo <= 1e-290 ? "(0"
                     : std::isinf(lo)       ? "(-inf"
                                            : "[" + format_number(lo);
  std::string right = hi >= std::numeric_limits<double>::max() ? "inf)" : format_number(hi) + "]";
  return left + ", " + right;
}

std::string format_range(int64_t lo, int64_t hi) {
  std::string right = hi == std::numeric_limits<int64_t>::max() ? "inf)" : std::to_string(hi) + "]";
  return "[" + std::to_string(lo) + ", " + right;
}

}  // namespace fedgrid::io
