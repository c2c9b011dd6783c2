// Internal to the scenario loader (scenario*.cpp): the sections' loaders
// and the shared file check. Not for other folders: they get a typed io::Scenario.
#pragma once

#include <string>
#include <utility>

#include "fl/registry.hpp"
#include "io/scenario.hpp"
#include "io/yaml_map.hpp"

namespace fedgrid::io {

// `path` (key `key` of `m`) must be a regular file (a directory would pass fs::exists and then
// break the reader).
void require_file(const YamlMap& m, const std::string& key, const std::string& what,
                  const std::string& path);

// The `platform` section (scenario_platform.cpp): exactly one of file, generate, clients_csv,
// fedscale; per-client files are read (and checked) now.
PlatformConfig load_platform(YamlMap m, int clients, const std::string& base);

// The `availability` section (scenario_platform.cpp): when each client's device is on.
platform::AvailabilitySpec load_availability(YamlMap m, const std::string& base, int clients);

// The `timing` section (stage-time law and its parameter, stage costs, timing-only mode).
TimingConfig load_timing(YamlMap m, const std::string& base);

// The `speed_change` section (device speeds changing during the run).
platform::SpeedChangeSpec load_speed_change(YamlMap m, const std::string& base, int clients);

// The `algorithm` section; returns its config and the registry entry of the algorithm.
std::pair<fl::AlgorithmConfig, const fl::AlgorithmInfo*> load_algorithm(YamlMap m,
                                                                        const std::string& base,
                                                                        int clients);
// The `training` section, checked against what the algorithm allows.
void load_training(YamlMap m, const fl::AlgorithmInfo& info, fl::TrainingConfig& t);

}  // namespace fedgrid::io
