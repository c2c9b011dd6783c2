// The typed scenario (everything one `fedgrid run` needs) and its strict YAML loader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "fl/config.hpp"
#include "nn/model_spec.hpp"
#include "plan/stage_laws.hpp"
#include "platform/availability.hpp"
#include "platform/client_table.hpp"
#include "platform/platform.hpp"
#include "platform/speed_change.hpp"

namespace fedgrid::io {

struct DataConfig {
  std::string dataset;  // fashion-mnist | mnist | synthetic
  std::string path;     // folder of IDX files (resolved); empty for synthetic
  std::size_t validation = 0;
  std::size_t train_limit = 0;    // 0 = all training samples
  std::size_t test_limit = 0;     // 0 = all test samples
  std::string partition = "iid";  // iid | dirichlet
  double alpha = 0;
  std::size_t min_shard = 1;
  data::SyntheticSpec synthetic;
};

struct PlatformConfig {
  std::string file;  // given SimGrid XML (resolved path), or empty when generated
  std::optional<platform::PlatformSpec> generate;
  // clients_csv or fedscale.capacity: the file (resolved) and its table, built in place like a
  // generated platform once the model's bytes and work are known (platform::resolve).
  std::string clients_file;
  bool fedscale = false;  // clients_file is a FedScale device capacity export
  std::optional<platform::ClientTable> table;
  std::vector<std::string> profile_files;  // state/speed/... files the XML names (resolved)
};

struct TimingConfig {
  plan::StageLaw law;          // stage_time and its parameter (plan/stage_laws.hpp)
  std::string samples_file;    // empirical: the CSV the samples came from (resolved)
  bool flops_cost = false;     // stage_cost: uniform | flops
  double work_per_sample = 1;  // uniform: work of one stage per sample (flop)
  bool timing_only = false;    // skip the real math (accuracy columns empty)
};

struct EvalConfig {
  int every = 1;           // evaluate every k rounds (and after the last)
  bool validation = true;  // evaluate on the validation split too
  // summary.json's time_to_target: the first time test accuracy reaches it (none: not reported)
  std::optional<double> target_accuracy;
};

struct Scenario {
  std::string file;  // the scenario file as given
  std::string name;
  uint64_t seed = 0;
  int clients = 0;
  DataConfig data;
  std::string model_file;  // resolved
  nn::ModelSpec model;
  PlatformConfig platform;
  TimingConfig timing;
  fl::AlgorithmConfig algorithm;
  EvalConfig evaluation;
  platform::AvailabilitySpec availability;  // when client devices go off and on again
  platform::SpeedChangeSpec speed_change;   // device speeds changing during the run
  std::vector<std::string> simgrid_cfg;     // extra --cfg=... values from the scenario
  std::string resolved;  // the document after --set overrides, as YAML text (checkpoints, resume)
  // The same document as JSON (compact text) with every default the loader used filled in:
  // manifest.json's resolved_scenario, what a sweep compares its runs' manifests with.
  std::string resolved_json;
};

// Loads and validates a scenario. Overrides are applied before validation; `seed_override`
// replaces `seed`. Relative paths in the file are resolved against the scenario's folder first,
// then the current directory. Throws util::InputError on any problem.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides = {},
                       std::optional<uint64_t> seed_override = std::nullopt);

// Loads models/*.yaml into a ModelSpec.
nn::ModelSpec load_model_spec(const std::string& path);

// Resolves a relative path: against `base_dir` (the scenario's folder) if the file exists
// there, else as given if it exists (the working folder), else in each folder of FEDGRID_PATH
// (colon-separated) and then the installed share folder (<exe>/../share/fedgrid, then the
// configured one), each with the path as written and without its leading "../" parts; else as
// given (the caller's check then names the key).
std::string resolve_path(const std::string& path, const std::string& base_dir);

}  // namespace fedgrid::io
