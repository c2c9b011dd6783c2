// The keys the strict loaders read (document kind, dotted path, type, default, range), recorded
// while enabled; tests/unit/test_reference.cpp compares them with docs/scenario-reference.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedgrid::io {

// One key as a loader reads it. Every field is the text the reference table shows.
struct KeyInfo {
  std::string doc;    // document kind: scenario | model | sweep
  std::string path;   // dotted; list items as [] ("layers[].kind"), free names as <key>
  std::string type;   // string | choice | number | integer | bool | mapping | list | any
  std::string def;    // "required", "-" (optional, no default) or the default ("0.9", "tensor")
  std::string range;  // "[1, 10]", "(0, inf)", "iid, dirichlet", "non-empty", "3 items" or "-"

  bool operator<(const KeyInfo& o) const;
  bool operator==(const KeyInfo& o) const;
};

// Off by default (loading records nothing); the loaders are single-threaded.
void set_key_recording(bool on);
// Records one key while enabled; "[3]" in the path becomes "[]".
void record_key(KeyInfo info);
// Everything recorded since the last clear, sorted, without duplicates.
std::vector<KeyInfo> recorded_keys();
void clear_recorded_keys();

// Text forms used in the table: shortest exact number ("0.5", "1e12", "2147483647") and
// intervals ("[0, 1]", "(0, inf)" for a lower bound at the smallest positive doubles).
std::string format_number(double v);
std::string format_range(double lo, double hi);
std::string format_range(int64_t lo, int64_t hi);

}  // namespace fedgrid::io
