// Limits checked on a YAML text before any node is built (every FedGrid loader goes through
// load_yaml_text): aliases count as the nodes they stand for, so a "billion laughs" document of
// a few hundred bytes is refused instead of taking minutes to copy, and a mapping may not hold
// the same key twice (yaml-cpp would silently keep the first).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>

namespace fedgrid::io {

// Most nodes a document may hold with its aliases expanded (a large sweep grid is ~10^3).
constexpr std::size_t kYamlNodeBudget = 100000;

// Parses `text` (the first document) and throws util::InputError "SOURCE:LINE: ..." for a
// syntax error, a duplicate key (naming both lines) or more than `budget` expanded nodes.
void check_yaml_text(const std::string& text, const std::string& source,
                     std::size_t budget = kYamlNodeBudget);

// check_yaml_text, then YAML::Load. `source` names the text in messages (a file, "--set k=v").
YAML::Node load_yaml_text(const std::string& text, const std::string& source);

}  // namespace fedgrid::io
