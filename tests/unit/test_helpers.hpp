// Small helpers shared by the unit test suites: the message of an expected util::InputError
// (also of a model build), substring checks, temporary files, device timelines as lists.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nn/model.hpp"
#include "platform/availability.hpp"
#include "util/error.hpp"

namespace fedgrid::test {

// Runs f and returns the InputError's message, or "" when f throws nothing.
inline std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const util::InputError& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// True when f throws an InputError whose message contains `needle`.
inline bool throws_input_error_with(const std::function<void()>& f, const std::string& needle) {
  return contains(input_error_of(f), needle);
}

// All changes of a device timeline up to `horizon` as (date, on) pairs.
inline std::vector<std::pair<double, bool>> changes(platform::ClientTimeline t, double horizon) {
  std::vector<std::pair<double, bool>> out;
  double date = 0;
  bool on = true;
  while (t.next(&date, &on) && date <= horizon) out.emplace_back(date, on);
  return out;
}

// Builds `spec` and returns the InputError message ("" when the model is valid).
inline std::string build_error(const nn::ModelSpec& spec) {
  return input_error_of([&] { nn::Model::build(spec); });
}

// Writes `text` to a file named after `name` in the temporary folder; returns its path.
inline std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("fedgrid-test-" + name)).string();
  std::ofstream(path) << text;
  return path;
}

}  // namespace fedgrid::test
