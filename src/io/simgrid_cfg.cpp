// The allow-list of SimGrid options (see simgrid_cfg.hpp). Each entry was run with FedGrid on
// SimGrid 3.32; left out on purpose: network/model:Constant (refuses every link) and ns-3 (not
// built), network/solver:bmf (does not converge on 1,000 flows), host/cpu models (FedGrid's
// estimates assume the default ones), contexts/stack-size (FedGrid sizes each actor's stack) and
// contexts/nthreads (the actors share state without locks).
#include "io/simgrid_cfg.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "io/key_registry.hpp"
#include "util/error.hpp"

namespace fedgrid::io {

namespace {

struct Option {
  const char* name;
  const char* kind;  // choice | number | integer | bool
  std::vector<std::string> choices;
  double lo = 0, hi = 0;
  bool lo_open = false;  // (lo, hi] instead of [lo, hi]
};

const std::vector<Option>& options() {
  static const std::vector<Option> o = {
      {"network/model", "choice", {"LV08", "CM02", "SMPI", "IB"}},
      {"network/optim", "choice", {"Lazy", "Full"}},
      {"cpu/optim", "choice", {"Lazy", "TI", "Full"}},
      {"network/solver", "choice", {"maxmin", "fairbottleneck"}},
      {"network/latency-factor", "number", {}, 0, 1e6, true},
      {"network/bandwidth-factor", "number", {}, 0, 1e6, true},
      {"network/weight-S", "number", {}, 0, 1e12},
      {"network/TCP-gamma", "number", {}, 0, 1e30, true},
      {"network/crosstraffic", "bool", {}},
      {"maxmin/precision", "number", {}, 1e-15, 1e-2},
      {"surf/precision", "number", {}, 1e-15, 1e-6},
      {"contexts/factory", "choice", {"raw", "thread", "ucontext", "boost"}},
      {"contexts/guard-size", "integer", {}, 0, 100},
      {"debug/verbose-exit", "bool", {}},
      {"exception/cutpath", "bool", {}},
  };
  return o;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string range_text(const Option& o) {
  return (o.lo_open ? "(" : "[") + format_number(o.lo) + ", " + format_number(o.hi) + "]";
}

std::string allowed_values(const Option& o) {
  const std::string k = o.kind;
  if (k == "choice") return "one of " + join(o.choices, ", ");
  if (k == "bool") return "yes, no, on, off, true, false, 1 or 0";
  return std::string(k == "integer" ? "an integer" : "a number") + " in " + range_text(o);
}

bool value_ok(const Option& o, const std::string& v) {
  const std::string k = o.kind;
  if (k == "choice") {
    for (const auto& c : o.choices)
      if (c == v) return true;
    return false;
  }
  if (k == "bool") {
    for (const char* b : {"yes", "no", "on", "off", "true", "false", "1", "0"})
      if (v == b) return true;
    return false;
  }
  if (v.empty() || v.find_first_of(" \t") != std::string::npos) return false;
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || !std::isfinite(x)) return false;
  if (k == "integer" && (x != std::floor(x) || v.find_first_of(".eE") != std::string::npos)) {
    return false;
  }
  return (o.lo_open ? x > o.lo : x >= o.lo) && x <= o.hi;
}

// --log=CATEGORY.SETTING:VALUE; "" if fine, else what was expected.
std::string log_problem(const std::string& s) {
  const auto colon = s.find(':');
  const auto dot = s.rfind('.', colon);
  if (colon == std::string::npos || dot == std::string::npos || dot == 0) {
    return "a log setting CATEGORY.SETTING:VALUE (e.g. root.thres:critical)";
  }
  const std::string cat = s.substr(0, dot), setting = s.substr(dot + 1, colon - dot - 1);
  const std::string value = s.substr(colon + 1);
  for (char c : cat) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
    if (!ok) return "a log category of letters, digits, '_' and '.'";
  }
  if (value.find_first_of(" \t\n") != std::string::npos) return "one setting (no spaces)";
  if (setting == "thres" || setting == "threshold") {
    for (const char* l : {"trace", "debug", "verbose", "info", "warning", "error", "critical"})
      if (value == l) return "";
    return "a threshold trace, debug, verbose, info, warning, error or critical";
  }
  if (setting == "fmt" || setting == "format") return value.empty() ? "a format" : "";
  if (setting == "add" || setting == "additivity") {
    for (const char* b : {"yes", "no", "on", "off", "1", "0"})
      if (value == b) return "";
    return "additivity yes or no";
  }
  if (setting == "app" || setting == "appender") {
    if (value.rfind("file:", 0) != 0 || value.size() == 5) return "an appender file:PATH";
    const std::filesystem::path p(value.substr(5));
    std::error_code ec;
    const auto dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    if (!std::filesystem::is_directory(dir, ec)) return "file:PATH in an existing folder";
    return "";
  }
  return "a log setting thres, fmt, add or app";
}

}  // namespace

std::string simgrid_cfg_problem(const std::string& option) {
  const auto colon = option.find(':');
  const std::string name = option.substr(0, colon);
  for (const Option& o : options()) {
    if (name != o.name) continue;
    if (colon == std::string::npos) return "'" + name + ":VALUE'";
    return value_ok(o, option.substr(colon + 1)) ? "" : allowed_values(o) + " for " + name;
  }
  std::vector<std::string> names;
  for (const Option& o : options()) names.push_back(o.name);
  return "a SimGrid option FedGrid allows (" + join(names, ", ") + ")";
}

void check_engine_argument(const std::string& arg) {
  const bool cfg = arg.rfind("--cfg=", 0) == 0;
  const std::string value = arg.substr(6);
  const std::string problem = cfg ? simgrid_cfg_problem(value) : log_problem(value);
  if (!problem.empty()) util::throw_input_error(arg, 0, "", problem, "'" + value + "'");
}

std::string simgrid_cfg_help() {
  std::string s;
  for (const Option& o : options())
    s += "  " + std::string(o.name) + ": " + allowed_values(o) + "\n";
  return s;
}

}  // namespace fedgrid::io
