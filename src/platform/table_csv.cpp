// TableCsv (see table_csv.hpp).
#include "platform/table_csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "util/error.hpp"

namespace fedgrid::platform {

namespace {

bool blank_or_comment(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  return b == std::string::npos || s[b] == '#';
}

// Splits at commas; each field trimmed of blanks, its 1-based start column recorded.
void split(const std::string& line, std::vector<std::string>& fields, std::vector<int>& starts) {
  fields.clear();
  starts.clear();
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    const std::string raw =
        line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto b = raw.find_first_not_of(" \t\r");
    const auto e = raw.find_last_not_of(" \t\r");
    fields.push_back(b == std::string::npos ? "" : raw.substr(b, e - b + 1));
    starts.push_back(static_cast<int>(start + (b == std::string::npos ? 0 : b)) + 1);
    if (comma == std::string::npos) return;
    start = comma + 1;
  }
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

bool parse_finite(const std::string& s, double* out) {
  if (s.empty()) return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end != begin + s.size() || errno == ERANGE || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

TableCsv::TableCsv(std::string path, const std::vector<std::string>& required,
                   const std::vector<std::string>& optional)
    : path_(std::move(path)), in_(util::open_input(path_, "a readable CSV file")) {
  const std::string expected = "a header line with the columns " + join(required) +
                               (optional.empty() ? "" : " (optional: " + join(optional) + ")");
  std::string raw;
  while (std::getline(in_, raw)) {
    ++line_;
    if (blank_or_comment(raw)) continue;
    split(raw, columns_, starts_);
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      const std::string& c = columns_[i];
      bool known = false;
      for (const auto& k : required) known = known || k == c;
      for (const auto& k : optional) known = known || k == c;
      const std::string at = path_ + ":" + std::to_string(line_) + ":" + std::to_string(starts_[i]);
      if (!known) throw util::InputError(at + ": expected " + expected + ", found " + quoted(c));
      for (std::size_t j = 0; j < i; ++j) {
        if (columns_[j] == c)
          throw util::InputError(at + ": expected each column once, found " + quoted(c) + " twice");
      }
    }
    for (const auto& k : required) {
      if (!has(k)) {
        util::throw_input_error(path_, line_, "", expected, "no column " + quoted(k));
      }
    }
    return;
  }
  util::throw_input_error(path_, line_, "", expected, "an empty file");
}

int TableCsv::index(const std::string& column) const {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == column) return static_cast<int>(i);
  }
  return -1;
}

bool TableCsv::next() {
  std::string raw;
  while (std::getline(in_, raw)) {
    ++line_;
    if (blank_or_comment(raw)) continue;
    split(raw, fields_, starts_);
    if (fields_.size() != columns_.size()) {
      util::throw_input_error(path_, line_, "",
                              std::to_string(columns_.size()) +
                                  " comma-separated fields (as many as the header's columns)",
                              std::to_string(fields_.size()));
    }
    return true;
  }
  return false;
}

std::string TableCsv::where() const { return path_ + ":" + std::to_string(line_); }

const std::string& TableCsv::text(const std::string& column) const {
  return fields_.at(static_cast<std::size_t>(index(column)));
}

double TableCsv::number(const std::string& column) const {
  double v = 0;
  if (!parse_finite(text(column), &v)) fail(column, "a finite number", quoted(text(column)));
  return v;
}

double TableCsv::positive(const std::string& column) const {
  const double v = number(column);
  if (!(v > 0)) fail(column, "a number > 0", quoted(text(column)));
  return v;
}

long TableCsv::integer(const std::string& column, long lo, long hi) const {
  const std::string& f = text(column);
  double v = 0;
  if (!parse_finite(f, &v) || v != std::floor(v) || v < static_cast<double>(lo) ||
      v > static_cast<double>(hi)) {
    fail(column, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
         quoted(f));
  }
  return static_cast<long>(v);
}

void TableCsv::fail(const std::string& column, const std::string& expected,
                    const std::string& found) const {
  const int i = index(column);
  const int col = i >= 0 && static_cast<std::size_t>(i) < starts_.size() ? starts_[i] : 1;
  throw util::InputError(where() + ":" + std::to_string(col) + ": column '" + column +
                         "': expected " + expected + (found.empty() ? "" : ", found " + found));
}

}  // namespace fedgrid::platform
