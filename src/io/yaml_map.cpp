// Strict typed YAML access with file:line error messages (see yaml_map.hpp).
#include "io/yaml_map.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "io/key_registry.hpp"
#include "io/yaml_guard.hpp"
#include "util/error.hpp"

namespace fedgrid::io {

using util::throw_input_error;

namespace {
const std::string* g_override_file = nullptr;
const std::vector<std::string>* g_overrides = nullptr;
std::vector<UsedDefault>* g_defaults = nullptr;
}  // namespace

DefaultsRecording::DefaultsRecording(std::vector<UsedDefault>* out) { g_defaults = out; }

DefaultsRecording::~DefaultsRecording() { g_defaults = nullptr; }

void YamlMap::used_default(const std::string& key, DefaultValue value) const {
  if (g_defaults && doc_ == "scenario") g_defaults->push_back({key_path(key), std::move(value)});
}

OverrideScope::OverrideScope(const std::string& file, const std::vector<std::string>& assignments) {
  g_override_file = &file;
  g_overrides = &assignments;
}

OverrideScope::~OverrideScope() {
  g_override_file = nullptr;
  g_overrides = nullptr;
}

void throw_key_error(const std::string& file, int line, const std::string& key_path,
                     const std::string& expected, const std::string& found) {
  if (g_overrides && *g_override_file == file) {
    for (auto it = g_overrides->rbegin(); it != g_overrides->rend(); ++it) {
      const std::string key = it->substr(0, it->find('='));
      const bool below = key_path.size() > key.size() &&
                         key_path.compare(0, key.size(), key) == 0 &&
                         (key_path[key.size()] == '.' || key_path[key.size()] == '[');
      if (key_path == key || below) {
        throw_input_error("--set " + *it, 0, key_path, expected, found);
      }
    }
  }
  throw_input_error(file, line, key_path, expected, found);
}

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  YAML::Mark m = node.Mark();
  return m.line >= 0 ? m.line + 1 : 0;
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return "'" + node.Scalar() + "'";
}

YamlMap::YamlMap(YAML::Node node, std::string file, std::string path, int parent_line,
                 std::string doc)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), doc_(std::move(doc)) {
  line_ = line_of(node_) ? line_of(node_) : parent_line;
  if (!node_.IsMap()) {
    throw_key_error(file_, line_, path_.empty() ? "(document)" : path_, "a mapping",
                    describe(node_));
  }
}

std::string YamlMap::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool YamlMap::present(const std::string& key) const {
  return node_[key].IsDefined() && !node_[key].IsNull();
}

bool YamlMap::has(const std::string& key) const {
  probed_.insert(key);
  return present(key);
}

void YamlMap::record(const std::string& key, const std::string& type, std::string def,
                     std::string range) const {
  auto note = notes_.find(key);
  if (note != notes_.end()) {
    def = note->second.first;
    if (!note->second.second.empty()) range = note->second.second;
  }
  if (def.empty()) def = probed_.count(key) ? "-" : "required";
  record_key({doc_, key_path(key), type, def, range});
}

void YamlMap::note_default(const std::string& key, const std::string& def,
                           const std::string& range) {
  notes_[key] = {def, range};
}

void YamlMap::declare(const std::string& key, const std::string& type, const std::string& def,
                      const std::string& range) const {
  record_key({doc_, key_path(key), type, def, range});
}

int YamlMap::line_of_key(const std::string& key) const {
  int l = node_[key].IsDefined() ? line_of(node_[key]) : 0;
  return l ? l : line_;
}

void YamlMap::fail(const std::string& key, const std::string& expected,
                   const std::string& found) const {
  throw_key_error(file_, line_of_key(key), key_path(key), expected, found);
}

YAML::Node YamlMap::require(const std::string& key) {
  read_.insert(key);
  if (!present(key)) fail(key, "a value (this key is required)", "nothing");
  return node_[key];
}

std::string YamlMap::scalar(const std::string& key) {
  YAML::Node n = require(key);
  if (!n.IsScalar()) fail(key, "a string", describe(n));
  return n.Scalar();
}

std::string YamlMap::get_string(const std::string& key) {
  record(key, "string", "", "-");
  return scalar(key);
}

std::string YamlMap::get_string(const std::string& key, const std::string& def) {
  record(key, "string", def.empty() ? "\"\"" : def, "-");
  read_.insert(key);
  if (present(key)) return scalar(key);
  used_default(key, def);
  return def;
}

std::string YamlMap::get_choice(const std::string& key, const std::vector<std::string>& choices,
                                const std::optional<std::string>& def) {
  std::string shown;
  for (const auto& c : choices) shown += (shown.empty() ? "" : ", ") + c;
  record(key, "choice", def.value_or(""), shown);
  read_.insert(key);
  if (!present(key) && def) {
    used_default(key, *def);
    return *def;
  }
  std::string v = scalar(key);
  for (const auto& c : choices)
    if (c == v) return v;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : " | ") + c;
  fail(key, "one of " + list, "'" + v + "'");
}

double YamlMap::get_double(const std::string& key, double lo, double hi,
                           const std::optional<double>& def) {
  record(key, "number", def ? format_number(*def) : "", format_range(lo, hi));
  read_.insert(key);
  if (!present(key) && def) {
    used_default(key, *def);
    return *def;
  }
  YAML::Node n = require(key);
  double v = 0;
  bool ok = n.IsScalar();
  if (ok) {
    const std::string& s = n.Scalar();
    std::size_t pos = 0;
    try {
      v = std::stod(s, &pos);
    } catch (const std::exception&) {
      ok = false;
    }
    ok = ok && pos == s.size() && std::isfinite(v);
  }
  if (!ok) fail(key, "a finite number", describe(n));
  if (v < lo || v > hi) {
    std::ostringstream range;
    range << "a number in [" << lo << ", " << hi << "]";
    fail(key, range.str(), n.Scalar());
  }
  return v;
}

int64_t YamlMap::get_int(const std::string& key, int64_t lo, int64_t hi,
                         const std::optional<int64_t>& def) {
  record(key, "integer", def ? std::to_string(*def) : "", format_range(lo, hi));
  read_.insert(key);
  if (!present(key) && def) {
    used_default(key, *def);
    return *def;
  }
  YAML::Node n = require(key);
  int64_t v = 0;
  bool ok = n.IsScalar();
  if (ok) {
    const std::string& s = n.Scalar();
    std::size_t pos = 0;
    try {
      v = std::stoll(s, &pos);
    } catch (const std::exception&) {
      ok = false;
    }
    ok = ok && pos == s.size();
  }
  if (!ok) fail(key, "an integer", describe(n));
  if (v < lo || v > hi) {
    std::string range = "an integer in [" + std::to_string(lo) + ", " +
                        (hi == std::numeric_limits<int64_t>::max() ? "inf" : std::to_string(hi)) +
                        "]";
    fail(key, range, n.Scalar());
  }
  return v;
}

uint64_t YamlMap::get_uint64(const std::string& key) {
  const std::string range = "[0, " + std::to_string(std::numeric_limits<uint64_t>::max()) + "]";
  record(key, "integer", "", range);
  YAML::Node n = require(key);
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  bool digits = !s.empty() && s.size() <= 20;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (!digits && !s.empty() && (s[0] == '-' || s[0] == '+')) {
    fail(key, "an integer in " + range, s);
  }
  if (!digits) fail(key, "an integer", describe(n));
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
  if (errno == ERANGE) fail(key, "an integer in " + range, s);
  return v;
}

bool YamlMap::get_bool(const std::string& key, const std::optional<bool>& def) {
  record(key, "bool", def ? (*def ? "true" : "false") : "", "-");
  read_.insert(key);
  if (!present(key) && def) {
    used_default(key, *def);
    return *def;
  }
  YAML::Node n = require(key);
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  fail(key, "true or false", describe(n));
}

YamlMap YamlMap::get_map(const std::string& key) {
  record(key, "mapping", "", "-");
  YAML::Node n = require(key);
  if (!n.IsMap()) fail(key, "a mapping", describe(n));
  return YamlMap(n, file_, key_path(key), line_of_key(key), doc_);
}

YamlMap YamlMap::get_section(const std::string& key) {
  if (has(key)) return get_map(key);
  record(key, "mapping", "", "-");
  read_.insert(key);
  return YamlMap(YAML::Node(YAML::NodeType::Map), file_, key_path(key), line_, doc_);
}

YAML::Node YamlMap::get_node(const std::string& key) {
  read_.insert(key);
  return node_[key];
}

void YamlMap::allow(const std::vector<std::string>& keys) const {
  allowed_.insert(keys.begin(), keys.end());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string key = it->first.Scalar();
    bool ok = false;
    for (const auto& k : keys) ok = ok || k == key;
    if (!ok) {
      std::string known;
      for (const auto& k : keys) known += (known.empty() ? "" : ", ") + k;
      throw_key_error(file_, line_of(it->first), key_path(key), "a known key (" + known + ")",
                      "unknown key '" + key + "'");
    }
  }
}

void YamlMap::finish() const {
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string key = it->first.Scalar();
    if (it->second.IsNull()) continue;  // `key: ~` is the same as leaving the key out
    if (!read_.count(key) && allowed_.count(key)) {
      throw_key_error(file_, line_of(it->first), key_path(key),
                      "no value: this key does not apply with the other settings (e.g. a key of "
                      "another algorithm, dataset, rule or distribution)",
                      describe(it->second));
    }
    if (!read_.count(key)) {
      std::string known;
      for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
      throw_key_error(file_, line_of(it->first), key_path(key),
                      "a known key (" + (known.empty() ? std::string("none") : known) + ")",
                      "unknown key '" + key + "'");
    }
  }
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw util::InputError("--set " + assignment + ": expected key.path=value");
  }
  std::string path = assignment.substr(0, eq);
  std::string value = assignment.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) throw util::InputError("--set " + assignment + ": empty key in '" + path + "'");
    parts.push_back(p);
  }
  YAML::Node parsed = load_yaml_text(value, "--set " + assignment);
  // yaml-cpp's operator[] on a Node aliases; walk with explicit copies to build the path.
  std::vector<YAML::Node> chain{root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (next.IsDefined() && !next.IsNull() && !next.IsMap()) {
      throw util::InputError("--set " + assignment + ": '" + parts[i] + "' is not a mapping");
    }
    if (!next.IsDefined() || next.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = parsed;
}

YAML::Node load_yaml_file(const std::string& path) {
  std::ifstream in = util::open_input(path, "a readable YAML file");
  std::ostringstream text;
  text << in.rdbuf();
  YAML::Node n = load_yaml_text(text.str(), path);  // alias budget, duplicate keys
  if (!n.IsDefined() || n.IsNull()) {
    util::throw_input_error(path, 0, "", "a YAML mapping", "an empty document");
  }
  return n;
}

}  // namespace fedgrid::io
