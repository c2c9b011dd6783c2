// CsvReader (see csv.hpp).
#include "util/csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "util/error.hpp"

namespace fedgrid::util {

namespace {

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

}  // namespace

CsvReader::CsvReader(std::string path, std::vector<std::string> columns)
    : path_(std::move(path)),
      columns_(std::move(columns)),
      in_(open_input(path_, "a readable CSV file")) {
  std::string header;
  for (const auto& c : columns_) header += (header.empty() ? "" : ",") + c;
  std::string raw;
  while (std::getline(in_, raw)) {
    ++line_;
    const std::string text = trim(raw);
    if (text.empty()) continue;
    if (text != header)
      throw_input_error(path_, line_, "", "header '" + header + "'", "'" + text + "'");
    return;
  }
  throw_input_error(path_, line_, "", "header '" + header + "'", "an empty file");
}

bool CsvReader::next() {
  std::string raw;
  while (std::getline(in_, raw)) {
    ++line_;
    const std::string text = trim(raw);
    if (text.empty()) continue;
    fields_ = split(text);
    if (fields_.size() != columns_.size()) {
      throw_input_error(path_, line_, "",
                        std::to_string(columns_.size()) + " comma-separated fields",
                        std::to_string(fields_.size()));
    }
    return true;
  }
  return false;
}

double CsvReader::number(int column) const {
  const std::string& f = field(column);
  const char* begin = f.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (f.empty() || end != begin + f.size() || errno == ERANGE || !std::isfinite(v)) {
    fail(column, "a finite number", "'" + f + "'");
  }
  return v;
}

void CsvReader::fail(int column, const std::string& expected, const std::string& found) const {
  throw_input_error(path_, line_, columns_.at(column), expected, found);
}

}  // namespace fedgrid::util
