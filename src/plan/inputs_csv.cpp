// Reader for the planner's per-client CSV (client,P_u,B_u,sigma_u) with file:line errors.
#include "plan/inputs_csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "util/error.hpp"

namespace fedgrid::plan {
namespace {

const char* const kHeader = "client,P_u,B_u,sigma_u";
const char* const kColumns[] = {"client", "P_u", "B_u", "sigma_u"};

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string::npos) return fields;
    start = comma + 1;
  }
}

// Parses the whole field as a finite double or throws with file:line and the column name.
double parse_number(const std::string& path, int line, int column, const std::string& field) {
  const char* begin = field.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (field.empty() || end != begin + field.size() || errno == ERANGE || !std::isfinite(v)) {
    util::throw_input_error(path, line, kColumns[column], "a finite number", "'" + field + "'");
  }
  return v;
}

}  // namespace

ClientInputs read_client_inputs_csv(const std::string& path) {
  std::ifstream file(path);
  if (!file) util::throw_input_error(path, 0, "", "a readable CSV file", "cannot open it");
  ClientInputs out;
  std::string raw;
  int line = 0;
  bool header_seen = false;
  while (std::getline(file, raw)) {
    ++line;
    const std::string text = trim(raw);
    if (text.empty()) continue;
    if (!header_seen) {
      if (text != kHeader) {
        util::throw_input_error(path, line, "", std::string("header '") + kHeader + "'",
                                "'" + text + "'");
      }
      header_seen = true;
      continue;
    }
    const auto fields = split(text);
    if (fields.size() != 4) {
      util::throw_input_error(path, line, "", "4 comma-separated fields",
                              std::to_string(fields.size()));
    }
    const double id = parse_number(path, line, 0, fields[0]);
    if (id != static_cast<double>(out.P.size())) {
      util::throw_input_error(path, line, kColumns[0],
                              "client id " + std::to_string(out.P.size()) + " (ids in order)",
                              fields[0]);
    }
    const double p = parse_number(path, line, 1, fields[1]);
    const double b = parse_number(path, line, 2, fields[2]);
    const double s = parse_number(path, line, 3, fields[3]);
    if (!(p > 0.0)) util::throw_input_error(path, line, kColumns[1], "a value > 0", fields[1]);
    if (!(b >= 0.0)) util::throw_input_error(path, line, kColumns[2], "a value >= 0", fields[2]);
    if (!(s >= 0.0)) util::throw_input_error(path, line, kColumns[3], "a value >= 0", fields[3]);
    out.P.push_back(p);
    out.B.push_back(b);
    out.sigma.push_back(s);
  }
  if (!header_seen) {
    util::throw_input_error(path, line, "", std::string("header '") + kHeader + "'",
                            "an empty file");
  }
  if (out.P.empty()) util::throw_input_error(path, line, "", "at least one client row", "none");
  return out;
}

}  // namespace fedgrid::plan
