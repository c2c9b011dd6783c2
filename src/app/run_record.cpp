// Manifest, checkpoint invocation and the --resume identity checks (see run_record.hpp).
#include "app/run_record.hpp"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "io/fingerprint.hpp"
#include "io/simgrid_cfg.hpp"
#include "io/yaml_guard.hpp"
#include "sim/run.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

#ifndef FEDGRID_GIT_REVISION
#define FEDGRID_GIT_REVISION "unknown"
#endif
#ifndef FEDGRID_VERSION  // project(... VERSION ...) in CMakeLists.txt
#define FEDGRID_VERSION "unknown"
#endif

namespace fedgrid::app {

namespace fs = std::filesystem;

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      return line.substr(line.find(':') + 2);
    }
  }
  return "unknown";
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

bool portable_build() { return io::build_fingerprint().find("portable=ON") != std::string::npos; }

std::string version_text() {
  return std::string("fedgrid " FEDGRID_VERSION " (git ") + FEDGRID_GIT_REVISION +
         ")\nbuild: " + build_text() +
         "\nresults: byte-identical for the same scenario and seed on " +
         (portable_build() ? "any x86-64 CPU (portable build)"
                           : "CPUs with this instruction set (native build; configure with "
                             "-DFEDGRID_PORTABLE=ON for any x86-64)") +
         "\n";
}

std::string manifest_json(const io::Scenario& s, const std::string& command_line, int threads) {
  util::Json j;
  j["fedgrid_version"] = FEDGRID_VERSION;
  j["git_revision"] = FEDGRID_GIT_REVISION;
  j["simgrid_version"] = sim::simgrid_version();
  j["eigen_version"] = std::to_string(EIGEN_WORLD_VERSION) + "." +
                       std::to_string(EIGEN_MAJOR_VERSION) + "." +
                       std::to_string(EIGEN_MINOR_VERSION);
  j["command"] = command_line;
  j["scenario_file"] = s.file;
  j["model_file"] = s.model_file;
  j["seed"] = s.seed;
  j["threads"] = threads;
  // Where and with what the bytes were made: a native build's (-march=native) results are
  // reproducible on CPUs with the same instruction set, a portable build's on any x86-64.
  j["build"] = build_text();
  j["portable"] = portable_build();
  j["cpu"] = cpu_model();
  j["host"] = host_name();
  j["started"] = utc_now();
  // The scenario after --set overrides, with the defaults the loader used (an object).
  j["resolved_scenario"] = util::Json::parse(s.resolved_json);
  return util::json_text(j);
}

// How to start a run again: its scenario (absolute path), overrides, seed and SimGrid options,
// and the resolved scenario to detect a changed file (stored in checkpoints).
std::string resolved_text(const io::Scenario& s) { return s.resolved; }

// The build a run's results come from (they may differ in the last bits across builds).
std::string build_text() {
  return io::build_fingerprint() + "; git " + FEDGRID_GIT_REVISION + "; simgrid " +
         sim::simgrid_version() + "; eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
         std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION);
}

std::string invocation_yaml(const Options& o, const io::Scenario& s, const std::string& inputs) {
  YAML::Node n;
  n["scenario"] = fs::absolute(o.scenario).lexically_normal().string();
  for (const auto& v : o.sets) n["set"].push_back(v);
  if (o.seed) n["seed"] = std::to_string(*o.seed);
  for (const auto& v : o.engine_args) n["engine_args"].push_back(v);
  n["resolved"] = resolved_text(s);
  n["inputs"] = inputs;  // every file read, by size and digest (io/fingerprint.hpp)
  n["build"] = build_text();
  YAML::Emitter em;
  em << n;
  return std::string(em.c_str()) + "\n";
}

// Turns the checkpoint's invocation back into options (for --resume).
Options resumed_options(const Options& given, const io::Checkpoint& c, Recorded* then) {
  const std::string where = given.resume + "/checkpoint";
  Options o = given;
  try {
    YAML::Node n = io::load_yaml_text(c.invocation, where);
    o.scenario = n["scenario"].as<std::string>();
    o.out = given.resume;
    for (const auto& v : n["set"]) o.sets.push_back(v.as<std::string>());
    if (n["seed"]) o.seed = std::stoull(n["seed"].as<std::string>());
    o.engine_args.clear();  // the run's own (those given now are added for this run only)
    for (const auto& v : n["engine_args"]) {
      o.engine_args.push_back(v.as<std::string>());
      io::check_engine_argument(o.engine_args.back());
    }
    then->resolved = n["resolved"].as<std::string>();
    then->inputs = n["inputs"].as<std::string>();
    then->build = n["build"].as<std::string>();
  } catch (const std::exception& e) {
    throw util::InputError(where + ": expected the run's invocation, found an unreadable one (" +
                           e.what() + ")");
  }
  return o;
}

// A resumed run must be the run its checkpoint was taken in: same build, scenario and inputs.
void check_same_run(const Options& o, const io::Scenario& s, const std::string& inputs,
                    const Recorded& then) {
  const std::string where = o.resume + "/checkpoint";
  if (build_text() != then.build) {
    throw util::InputError(where + ": expected the FedGrid build the run started with (" +
                           then.build + "), found another one (" + build_text() +
                           "): results would differ; start the run again or use that build");
  }
  if (resolved_text(s) != then.resolved) {
    throw util::InputError(o.scenario + ": expected the scenario the checkpoint in " + o.resume +
                           " was taken with, found a changed file (start a new run instead)");
  }
  const std::string changes = io::describe_changes(then.inputs, inputs);
  if (!changes.empty()) {
    throw util::InputError(where +
                           ": expected the inputs the run started with, found a change in " +
                           changes + " (start a new run instead)");
  }
}

}  // namespace fedgrid::app
