// What a run records about how it was started: manifest.json, and in its checkpoints the
// invocation (scenario, overrides, seed, SimGrid options), the resolved scenario, the input
// fingerprints and the build, which --resume reads back and checks.
#pragma once

#include <string>

#include "app/options.hpp"
#include "io/checkpoint.hpp"
#include "io/scenario.hpp"

namespace fedgrid::app {

// What a checkpoint says the run was started from (see invocation_yaml).
struct Recorded {
  std::string resolved, inputs, build;
};

// manifest.json of a run.
std::string manifest_json(const io::Scenario& s, const std::string& command_line, int threads);

// The resolved scenario as YAML text (what --resume compares).
std::string resolved_text(const io::Scenario& s);

// The build a run's results come from: version, git revision, compiler, flags, instruction set,
// SimGrid and Eigen versions.
std::string build_text();

// The invocation stored in checkpoints; `inputs` = io::inputs_fingerprint(s).
std::string invocation_yaml(const Options& o, const io::Scenario& s, const std::string& inputs);

// Turns a checkpoint's invocation back into options (for --resume); fills `then`.
Options resumed_options(const Options& given, const io::Checkpoint& c, Recorded* then);

// Throws util::InputError unless the run now is the run the checkpoint was taken in: same
// build, resolved scenario and inputs (naming what changed).
void check_same_run(const Options& o, const io::Scenario& s, const std::string& inputs,
                    const Recorded& then);

}  // namespace fedgrid::app
