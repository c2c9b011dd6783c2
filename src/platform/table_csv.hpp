// A reader for per-client tables (clients_csv, FedScale exports): a header that names the
// columns in any order, `#` comment lines and blank lines skipped, and every error as
// FILE:LINE:COLUMN (the character where the field starts) with the column's name, what was
// expected and what was found.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace fedgrid::platform {

class TableCsv {
 public:
  // Opens `path` and reads its header: every `required` column must be there, others must be
  // among `optional`, none twice. Throws util::InputError otherwise.
  TableCsv(std::string path, const std::vector<std::string>& required,
           const std::vector<std::string>& optional);

  bool has(const std::string& column) const { return index(column) >= 0; }
  // Advances to the next row; false at the end. Throws for a row with another number of fields.
  bool next();
  int line() const { return line_; }
  const std::string& path() const { return path_; }
  // "FILE:LINE" of the current row.
  std::string where() const;
  const std::string& text(const std::string& column) const;
  // The field as a finite number (NaN, inf and empty fields are refused).
  double number(const std::string& column) const;
  // The field as a finite number > 0.
  double positive(const std::string& column) const;
  // The field as an integer in [lo, hi].
  long integer(const std::string& column, long lo, long hi) const;
  [[noreturn]] void fail(const std::string& column, const std::string& expected,
                         const std::string& found) const;

 private:
  int index(const std::string& column) const;
  std::string path_;
  std::ifstream in_;
  std::vector<std::string> columns_;
  int line_ = 0;
  std::vector<std::string> fields_;
  std::vector<int> starts_;  // 1-based character column of each field
};

// Parses a whole string as a number (strtod); false for anything else or a non-finite value.
bool parse_finite(const std::string& s, double* out);

}  // namespace fedgrid::platform
