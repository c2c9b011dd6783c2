// Where a relative path of a scenario is found: next to the scenario, in the working folder,
// in FEDGRID_PATH, in the installed share folder (see io::resolve_path in scenario.hpp); the
// check that a path names a regular file.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "io/scenario_sections.hpp"
#include "io/yaml_map.hpp"

#ifndef FEDGRID_SHARE_DIR
#define FEDGRID_SHARE_DIR "/usr/local/share/fedgrid"
#endif

namespace fedgrid::io {

namespace fs = std::filesystem;

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  std::error_code ec;
  fs::path candidate = fs::path(base_dir) / path;
  if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
  if (fs::exists(path, ec)) return path;
  // A scenario copied out of the repository: its "../models/x.yaml" is looked up without the
  // leading "../" in each folder of FEDGRID_PATH, then in the installed share folder.
  fs::path tail;
  bool leading = true;
  for (const auto& part : fs::path(path)) {
    if (leading && (part == ".." || part == ".")) continue;
    leading = false;
    tail /= part;
  }
  std::vector<std::string> roots;
  if (const char* env = std::getenv("FEDGRID_PATH")) {
    std::string list = env;
    for (std::size_t start = 0; start <= list.size();) {
      const std::size_t end = std::min(list.find(':', start), list.size());
      if (end > start) roots.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back((exe.parent_path().parent_path() / "share" / "fedgrid").string());
  roots.push_back(FEDGRID_SHARE_DIR);
  for (const auto& root : roots) {
    for (const fs::path& rel : {fs::path(path), tail}) {
      if (rel.empty()) continue;
      const fs::path c = fs::path(root) / rel;
      if (fs::exists(c, ec)) return c.lexically_normal().string();
    }
  }
  return path;  // not found: the caller's check names the key and the path as written
}

// `path` (key `key` of `m`) must be a regular file (a directory would pass fs::exists and then
// break the reader).
void require_file(const YamlMap& m, const std::string& key, const std::string& what,
                  const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return;
  m.fail(key, "an existing " + what,
         "'" + path + "'" + (fs::is_directory(path, ec) ? " (a directory)" : ""));
}

}  // namespace fedgrid::io
