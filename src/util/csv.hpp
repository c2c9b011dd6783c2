// A reader for the small CSV inputs (planner inputs, availability traces): a fixed header line,
// comma-separated fields, blank lines skipped, and every error as file:line with the column.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace fedgrid::util {

class CsvReader {
 public:
  // Opens `path` and checks that its first non-blank line is the columns joined by commas.
  // Throws InputError if the file cannot be read or the header differs.
  CsvReader(std::string path, std::vector<std::string> columns);

  // Advances to the next data row; false at the end of the file. Throws InputError for a row
  // whose number of fields differs from the header's.
  bool next();
  int line() const { return line_; }
  const std::string& path() const { return path_; }
  const std::string& field(int column) const { return fields_.at(column); }
  // The field as a finite number; throws InputError naming the column otherwise.
  double number(int column) const;
  [[noreturn]] void fail(int column, const std::string& expected, const std::string& found) const;

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::ifstream in_;
  int line_ = 0;
  std::vector<std::string> fields_;
};

}  // namespace fedgrid::util
