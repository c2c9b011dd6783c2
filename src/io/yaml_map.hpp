// Strict typed access to a YAML mapping: every read names file:line and the dotted key on error,
// and finish() rejects keys nobody read (unknown keys are errors, never ignored). Each typed read
// is also recorded for the key reference (io/key_registry.hpp) when recording is on.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace fedgrid::io {

// A value a loader used for a key the document left out (or set to null): its default.
using DefaultValue = std::variant<bool, int64_t, double, std::string>;
struct UsedDefault {
  std::string path;  // dotted key path ("algorithm.momentum")
  DefaultValue value;
};

// While one exists, the defaults that YamlMaps of scenario documents hand out are appended to
// `out` in the order read (resolved_json fills them into the resolved scenario). Not reentrant.
class DefaultsRecording {
 public:
  explicit DefaultsRecording(std::vector<UsedDefault>* out);
  ~DefaultsRecording();
  DefaultsRecording(const DefaultsRecording&) = delete;
  DefaultsRecording& operator=(const DefaultsRecording&) = delete;
};

// Line (1-based) of a node, or 0 when it has none (e.g. a value set with --set).
int line_of(const YAML::Node& node);
// Short description of what a node holds ("a mapping", "'abc'", "nothing"), for messages.
std::string describe(const YAML::Node& node);

class YamlMap {
 public:
  // `path` is the dotted prefix of this mapping ("" for the document root); `doc` the kind of
  // document it belongs to (scenario | model | sweep), for the key reference.
  YamlMap(YAML::Node node, std::string file, std::string path, int parent_line = 0,
          std::string doc = "scenario");

  // True when the key holds a value. A key asked about before it is read is recorded as optional
  // in the key reference (the loader handles its absence), unless the read gives a default.
  bool has(const std::string& key) const;
  const std::string& file() const { return file_; }
  std::string key_path(const std::string& key) const;
  int line() const { return line_; }
  int line_of_key(const std::string& key) const;  // the value's line, else the mapping's

  // Required values (error if missing) and optional ones (default if missing).
  std::string get_string(const std::string& key);
  std::string get_string(const std::string& key, const std::string& def);
  std::string get_choice(const std::string& key, const std::vector<std::string>& choices,
                         const std::optional<std::string>& def = std::nullopt);
  double get_double(const std::string& key, double lo, double hi,
                    const std::optional<double>& def = std::nullopt);
  // lo/hi inclusive; "positive" etc. is expressed with the bounds.
  int64_t get_int(const std::string& key, int64_t lo, int64_t hi,
                  const std::optional<int64_t>& def = std::nullopt);
  // A required integer in [0, 2^64 - 1] (seeds).
  uint64_t get_uint64(const std::string& key);
  bool get_bool(const std::string& key, const std::optional<bool>& def = std::nullopt);
  YamlMap get_map(const std::string& key);
  // An optional section: the mapping under `key`, or an empty one at that path when the key is
  // absent or null (its keys then take their defaults, which the resolved scenario records).
  YamlMap get_section(const std::string& key);
  YAML::Node get_node(const std::string& key);  // marks the key as read, any type
  // A default chosen by hand for a key read with get_node (see DefaultsRecording).
  void used_default(const std::string& key, DefaultValue value) const;

  // Key reference (docs/scenario-reference.md): a default (and range, unless empty) that depends
  // on other settings is recorded as this text instead of this document's values.
  void note_default(const std::string& key, const std::string& def, const std::string& range = "");
  // Records a key read with get_node and checked by hand: type, default ("required", "-" or a
  // value) and range as the reference shows them (see KeyInfo).
  void declare(const std::string& key, const std::string& type, const std::string& def,
               const std::string& range) const;

  // Declares every key this mapping may hold and rejects any other at once (so that a typo is
  // reported as unknown rather than as a missing required key).
  void allow(const std::vector<std::string>& keys) const;
  // Throws for the first key that was never read.
  void finish() const;

  [[noreturn]] void fail(const std::string& key, const std::string& expected,
                         const std::string& found) const;

 private:
  YAML::Node node_;
  std::string file_;
  std::string path_;
  int line_ = 0;
  std::string doc_;
  mutable std::set<std::string> read_;
  mutable std::set<std::string> allowed_;
  mutable std::set<std::string> probed_;                              // keys asked about with has()
  std::map<std::string, std::pair<std::string, std::string>> notes_;  // key -> default, range
  bool present(const std::string& key) const;
  YAML::Node require(const std::string& key);
  std::string scalar(const std::string& key);
  // def "" = no default: "required", or "-" when the key was asked about with has() first.
  void record(const std::string& key, const std::string& type, std::string def,
              std::string range) const;
};

// While one exists, errors on a key of `file` that one of `assignments` ("a.b=value", later
// ones win) set, or a key below it, name that override ("--set a.b=value: key 'a.b': ...")
// instead of a line of the file (the value's own line means nothing there). Not reentrant.
class OverrideScope {
 public:
  OverrideScope(const std::string& file, const std::vector<std::string>& assignments);
  ~OverrideScope();
  OverrideScope(const OverrideScope&) = delete;
  OverrideScope& operator=(const OverrideScope&) = delete;
};

// Throws util::InputError for `key_path` of `file` at `line`, naming the override that set the
// key if an OverrideScope says so.
[[noreturn]] void throw_key_error(const std::string& file, int line, const std::string& key_path,
                                  const std::string& expected, const std::string& found);

// Applies a `--set a.b.c=value` override to a document (value parsed as YAML). Creates missing
// intermediate mappings. Throws util::InputError for a malformed assignment.
void apply_override(YAML::Node& root, const std::string& assignment);

// Loads a YAML file, turning parser errors into util::InputError with file:line.
YAML::Node load_yaml_file(const std::string& path);

}  // namespace fedgrid::io
