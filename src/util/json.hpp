// JSON files FedGrid writes and reads (nlohmann-json): keys in the order written, two-space
// indentation, and reading errors as util::InputError naming the file and what was expected.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace fedgrid::util {

using Json = nlohmann::ordered_json;

// The text of a JSON file: dump(2) and a final newline (invalid UTF-8 replaced by U+FFFD).
std::string json_text(const Json& j);

// v rounded to `digits` significant digits: the double that printf("%.<digits>g") text reads
// back as (v itself when NaN or infinite).
double significant(double v, int digits);

// A number, or null when it is NaN or infinite (JSON has neither).
Json number_or_null(double v);

// Parses `path`; util::InputError "PATH: expected <expected>, found ..." when it is missing, a
// folder or not JSON.
Json read_json_file(const std::string& path, const std::string& expected);

// The value of `key` in object `j` as a number; `missing` when the key is absent or null;
// InputError naming `path` and the key when it holds something else.
double json_number_at(const Json& j, const std::string& key, const std::string& path,
                      double missing);

}  // namespace fedgrid::util
