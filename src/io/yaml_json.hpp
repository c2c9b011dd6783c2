// A YAML document as JSON (manifest.json's resolved_scenario): mappings -> objects, sequences ->
// arrays, scalars -> numbers, booleans, null or strings by their YAML form, and the defaults a
// loader used filled in where the document left their keys out.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/yaml_map.hpp"
#include "util/json.hpp"

namespace fedgrid::io {

// One node. Plain scalars: true/false (any YAML case) -> boolean, ~/null/empty -> null, integers
// -> integers, finite decimals -> numbers; quoted or tagged scalars, and everything else
// (.inf, .nan, 0x1F), -> strings.
util::Json yaml_to_json(const YAML::Node& node);

// `root` converted, with each default whose key is absent (or null) set at its dotted path
// (intermediate objects created as needed) and `seed` the seed in force (--seed replaces the
// file's): the JSON text, compact.
std::string resolved_json(const YAML::Node& root, const std::vector<UsedDefault>& defaults,
                          uint64_t seed);

}  // namespace fedgrid::io
