// Sweep file loader and run expansion (see sweep_spec.hpp and docs/results.md for the schema).
#include "app/sweep_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "app/shell_quote.hpp"
#include "io/key_registry.hpp"
#include "io/scenario.hpp"
#include "io/yaml_map.hpp"
#include "util/error.hpp"
#include "util/names.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;
using io::describe;
using io::line_of;
using util::throw_input_error;

std::vector<std::string> RunSpec::assignments() const {
  std::vector<std::string> out;
  for (const auto& o : overrides) out.push_back(o.assignment());
  return out;
}

// Records a key checked by hand for the key reference (docs/scenario-reference.md).
static void declare(const std::string& path, const std::string& type, const std::string& def,
                    const std::string& range) {
  io::record_key({"sweep", path, type, def, range});
}

static bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

// Scenario keys are dotted paths of [A-Za-z0-9_-] components ("algorithm.name").
static bool valid_key(const std::string& key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '.' ? key[i - 1] == '.' : !(id_char(c) && c != '+')) return false;
  }
  return true;
}

// Maps characters outside [A-Za-z0-9._+-] to '-', collapses repeats, trims '-' at the ends.
static std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    char d = id_char(c) && c != '_' ? c : '-';
    if (d == '-' && (out.empty() || out.back() == '-')) continue;
    out += d;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

static void set_flow(YAML::Node n) {
  if (n.IsMap() || n.IsSequence()) {
    n.SetStyle(YAML::EmitterStyle::Flow);
    for (auto it = n.begin(); it != n.end(); ++it) set_flow(n.IsMap() ? it->second : *it);
  }
}

// A value as one line of YAML, the way `--set key=value` parses it back.
static std::string render(const YAML::Node& value, const std::string& file,
                          const std::string& key) {
  if (!value.IsDefined() || value.IsNull()) {
    throw_input_error(file, line_of(value), key, "a value", "nothing");
  }
  YAML::Node copy = YAML::Clone(value);
  set_flow(copy);
  YAML::Emitter e;
  e << copy;
  std::string s = e.c_str();
  if (s.find('\n') != std::string::npos) {
    throw_input_error(file, line_of(value), key, "a value that fits on one line", describe(value));
  }
  return s;
}

// Label and id part of an unlabelled value: scalars as written (numbers get the key's last
// component as a prefix in the id: seed1, alpha0.3), collections sanitised.
static void derive_label(const YAML::Node& v, const std::string& key, const std::string& text,
                         std::string& label, std::string& id_part) {
  label = sanitize(text);
  if (v.IsScalar() && text.find_first_of(",\"\n") == std::string::npos) label = text;
  id_part = sanitize(text);
  const char c = id_part.empty() ? 'x' : id_part.front();
  if ((c >= '0' && c <= '9') || c == '-' || c == '.') {
    id_part = key.substr(key.rfind('.') + 1) + id_part;
  }
}

static void check_label(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar() || !util::is_safe_name(n.Scalar())) {  // labels make run folder names
    throw_input_error(file, line_of(n), key, std::string("a label: ") + util::kSafeNameRule,
                      describe(n));
  }
}

static void check_key(const std::string& file, const YAML::Node& k, const std::string& where) {
  if (!valid_key(k.Scalar())) {
    throw_input_error(file, line_of(k), where,
                      "a scenario key such as algorithm.name (dotted names of letters, digits, "
                      "_ and -)",
                      "'" + k.Scalar() + "'");
  }
}

// grid: {key: [v1, v2, ...]} or {key: {label1: v1, label2: v2}}.
static Axis load_grid_axis(const std::string& file, const YAML::Node& k, const YAML::Node& v) {
  const std::string key = k.Scalar();
  check_key(file, k, "grid." + key);
  Axis a;
  a.name = key;
  a.kind = key == "seed" ? "seed" : "grid";
  a.line = line_of(k);
  if (!(v.IsSequence() || v.IsMap()) || v.size() == 0) {
    throw_input_error(file, line_of(v) ? line_of(v) : a.line, "grid." + key,
                      "a non-empty list of values or a mapping label: value", describe(v));
  }
  declare("grid.<key>", v.IsMap() ? "mapping" : "list", "-", "non-empty");
  for (auto it = v.begin(); it != v.end(); ++it) {
    const YAML::Node value = v.IsMap() ? it->second : *it;
    std::string text = render(value, file, "grid." + key);
    std::string label, id_part;
    if (v.IsMap()) {
      check_label(file, it->first, "grid." + key);
      label = id_part = it->first.Scalar();
    } else {
      derive_label(value, key, text, label, id_part);
    }
    a.labels.push_back(label);
    a.id_parts.push_back(id_part);
    a.values.push_back({{key, text, line_of(value)}});
  }
  return a;
}

// Entry labels of a zip group: the `label` list, else the entry's values joined with '-'.
static void set_zip_labels(const std::string& file, const std::string& where,
                           const std::optional<YAML::Node>& labels, Axis& a) {
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    std::string label;
    if (labels) {
      const YAML::Node l = (*labels)[i];
      check_label(file, l, where + ".label");
      label = l.Scalar();
    } else {
      for (const auto& o : a.values[i]) label += (label.empty() ? "" : "-") + sanitize(o.value);
    }
    a.labels.push_back(label);
    a.id_parts.push_back(label);
  }
}

// zip: {group: {label: [l1, l2], key1: [a1, a2], key2: [b1, b2]}}: entry i sets key1=a_i, ...
static Axis load_zip_axis(const std::string& file, const YAML::Node& g, const YAML::Node& body) {
  Axis a;
  a.name = g.Scalar();
  a.kind = "zip";
  a.line = line_of(g);
  const std::string where = "zip." + a.name;
  check_label(file, g, where);
  if (!body.IsMap() || body.size() == 0) {
    throw_input_error(file, line_of(body) ? line_of(body) : a.line, where,
                      "a mapping of scenario keys to lists of equal length (and 'label')",
                      describe(body));
  }
  declare("zip.<group>", "mapping", "-", "non-empty");
  std::size_t n = 0;
  std::string first;
  std::optional<YAML::Node> labels;  // (copy-constructed: assigning Nodes trips GCC 12 warnings)
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key != "label") check_key(file, it->first, where + "." + key);
    const YAML::Node list = it->second;  // a copy: `it->` yields a temporary
    if (!list.IsSequence() || list.size() == 0) {
      throw_input_error(file, line_of(list) ? line_of(list) : line_of(it->first), where + "." + key,
                        "a non-empty list", describe(list));
    }
    declare(key == "label" ? "zip.<group>.label" : "zip.<group>.<key>", "list", "-", "non-empty");
    if (first.empty()) {
      first = key;
      n = list.size();
      a.values.assign(n, {});
    } else if (list.size() != n) {
      throw_input_error(file, line_of(it->first), where + "." + key,
                        "a list of " + std::to_string(n) + " values (as long as '" + first + "')",
                        "a list of " + std::to_string(list.size()));
    }
    if (key == "label") {
      labels.emplace(list);
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) {
      a.values[i].push_back({key, render(list[i], file, where + "." + key), line_of(list[i])});
    }
  }
  if (a.values.empty() || a.values[0].empty()) {
    throw_input_error(file, a.line, where, "at least one scenario key besides 'label'",
                      "labels only");
  }
  set_zip_labels(file, where, labels, a);
  return a;
}

static std::string resolve_base(const std::string& file, const YAML::Node& n) {
  if (!n.IsScalar() || n.Scalar().empty()) {
    throw_input_error(file, line_of(n), "base", "a scenario file (or a list of them)", describe(n));
  }
  fs::path dir = fs::path(file).parent_path();
  std::string p = io::resolve_path(n.Scalar(), dir.empty() ? "." : dir.string());
  if (!fs::is_regular_file(p)) {
    throw_input_error(file, line_of(n), "base",
                      "an existing scenario file (relative to the sweep file or the current "
                      "directory)",
                      "'" + n.Scalar() + "'");
  }
  return fs::absolute(p).lexically_normal().string();
}

static void load_base(io::YamlMap& m, SweepSpec& spec) {
  YAML::Node b = m.get_node("base");
  spec.base_line = m.line_of_key("base");
  if (!b.IsDefined() || b.IsNull())
    m.fail("base", "a scenario file (or a list of them)", "nothing");
  declare("base", b.IsSequence() ? "list" : "string", "required",
          b.IsSequence() ? "non-empty" : "-");
  if (!b.IsSequence()) {
    spec.base = resolve_base(spec.file, b);
    return;
  }
  Axis a;
  a.name = "scenario";
  a.kind = "scenario";
  a.line = spec.base_line;
  if (b.size() == 0) m.fail("base", "a non-empty list of scenario files", "an empty list");
  for (const auto& item : b) {
    a.bases.push_back(resolve_base(spec.file, item));
    std::string stem = sanitize(fs::path(a.bases.back()).stem().string());
    for (const auto& l : a.labels) {
      if (l == stem) {
        throw_input_error(spec.file, line_of(item), "base", "scenario files with different names",
                          "'" + stem + "' twice");
      }
    }
    a.labels.push_back(stem);
    a.id_parts.push_back(stem);
    a.values.push_back({});
  }
  spec.axes.push_back(a);
}

static std::vector<Override> load_set(const std::string& file, const YAML::Node& n, int line) {
  std::vector<Override> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) throw_input_error(file, line, "set", "a mapping key: value", describe(n));
  declare("set", "mapping", "-", "-");
  for (auto it = n.begin(); it != n.end(); ++it) {
    declare("set.<key>", "any", "-", "-");
    check_key(file, it->first, "set." + it->first.Scalar());
    out.push_back({it->first.Scalar(), render(it->second, file, "set." + it->first.Scalar()),
                   line_of(it->first)});
  }
  return out;
}

// Axes are ordered: scenario, grid keys, zip groups, seed; a key may be set in one place only.
static void order_and_check(SweepSpec& spec, std::vector<Axis> grid, std::vector<Axis> zip) {
  std::vector<Axis> seed;
  for (auto& a : grid) (a.kind == "seed" ? seed : spec.axes).push_back(a);
  for (auto& a : zip) spec.axes.push_back(a);
  for (auto& a : seed) spec.axes.push_back(a);
  std::map<std::string, std::string> owner;  // key or axis name -> where it is set
  for (const auto& o : spec.fixed) owner[o.key] = "the 'set' section";
  for (const auto& a : spec.axes) {
    if (owner.count("axis:" + a.name)) {
      throw_input_error(spec.file, a.line, a.name, "a unique axis name",
                        "'" + a.name + "' used twice");
    }
    owner["axis:" + a.name] = a.name;
    for (const auto& o : a.values.empty() ? std::vector<Override>() : a.values[0]) {
      if (owner.count(o.key)) {
        throw_input_error(spec.file, o.line, o.key, "a key set in one place only",
                          "'" + o.key + "' also set by " + owner[o.key]);
      }
      owner[o.key] = a.kind + " '" + a.name + "'";
    }
  }
}

SweepSpec load_sweep(const std::string& path, const std::vector<std::string>& cli_sets) {
  SweepSpec spec;
  spec.file = path;
  io::YamlMap m(io::load_yaml_file(path), path, "", 0, "sweep");
  m.allow({"name", "base", "target_accuracy", "time_limit", "set", "grid", "zip", "slurm"});
  m.note_default("name", "file name");
  spec.name = m.get_string("name", fs::path(path).stem().string());
  if (!util::is_safe_name(spec.name) || sanitize(spec.name) != spec.name) {
    m.fail("name", "a name of letters, digits and . + - (not '.' or '..')", "'" + spec.name + "'");
  }
  load_base(m, spec);
  if (m.has("target_accuracy")) spec.target_accuracy = m.get_double("target_accuracy", 0, 1);
  if (m.has("time_limit")) {
    spec.time_limit = m.get_double("time_limit", 1e-300, std::numeric_limits<double>::max());
  }
  spec.fixed = load_set(path, m.get_node("set"), m.line_of_key("set"));
  std::vector<Axis> grid, zip;
  for (const char* section : {"grid", "zip"}) {
    YAML::Node n = m.get_node(section);
    if (!n.IsDefined() || n.IsNull()) continue;
    if (!n.IsMap()) m.fail(section, "a mapping", describe(n));
    m.declare(section, "mapping", "-", "-");
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (section[0] == 'g') {
        grid.push_back(load_grid_axis(path, it->first, it->second));
      } else {
        zip.push_back(load_zip_axis(path, it->first, it->second));
      }
    }
  }
  if (m.has("slurm")) {
    io::YamlMap s = m.get_map("slurm");
    s.allow({"options"});
    YAML::Node opts = s.get_node("options");
    s.declare("options", "list", "required", "-");
    if (!opts.IsSequence()) s.fail("options", "a list of sbatch options", describe(opts));
    for (const auto& o : opts) {
      if (!o.IsScalar() || o.Scalar().empty() || o.Scalar()[0] != '-' ||
          has_control_char(o.Scalar())) {
        throw_input_error(path, line_of(o), "slurm.options",
                          "an sbatch option such as --time=1:00:00", describe(o));
      }
      spec.slurm_options.push_back(o.Scalar());
    }
  }
  m.finish();
  order_and_check(spec, grid, zip);
  for (const auto& a : cli_sets) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0 || !valid_key(a.substr(0, eq))) {
      throw util::InputError("sweep: --set " + a + ": expected key.path=value");
    }
    refuse_control_chars("--set", a);  // it goes into every run's command line
    spec.fixed.push_back({a.substr(0, eq), a.substr(eq + 1), 0});
  }
  return spec;
}

std::vector<RunSpec> expand_runs(const SweepSpec& spec) {
  std::size_t total = 1;
  for (const auto& a : spec.axes) total *= a.labels.size();
  std::vector<RunSpec> runs;
  std::map<std::string, std::size_t> ids;
  for (std::size_t r = 0; r < total; ++r) {
    RunSpec run;
    run.base = spec.base;
    std::vector<Override> cli;
    for (const auto& o : spec.fixed) (o.line > 0 ? run.overrides : cli).push_back(o);
    std::size_t rest = r, stride = total;
    for (const auto& a : spec.axes) {
      stride /= a.labels.size();
      const std::size_t i = rest / stride;
      rest %= stride;
      run.labels.push_back(a.labels[i]);
      run.id += (run.id.empty() ? "" : "_") + a.id_parts[i];
      if (a.kind == "scenario") run.base = a.bases[i];
      for (const auto& o : a.values[i]) run.overrides.push_back(o);
    }
    for (const auto& o : cli) run.overrides.push_back(o);
    if (run.id.empty()) run.id = sanitize(fs::path(run.base).stem().string());
    if (!util::is_safe_name(run.id)) {  // DIR/runs/<id> must stay inside DIR/runs
      throw_input_error(spec.file, spec.axes.empty() ? spec.base_line : spec.axes.back().line,
                        "grid/zip",
                        std::string("run ids that are folder names: ") + util::kSafeNameRule,
                        "run id '" + run.id + "'");
    }
    if (ids.count(run.id)) {
      throw_input_error(spec.file, spec.axes.empty() ? 1 : spec.axes.back().line, "grid/zip",
                        "labels that give every run a distinct id",
                        "run id '" + run.id + "' twice (runs " + std::to_string(ids[run.id] + 1) +
                            " and " + std::to_string(r + 1) + ")");
    }
    ids[run.id] = r;
    runs.push_back(run);
  }
  return runs;
}

}  // namespace fedgrid::app
