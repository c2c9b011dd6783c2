// Formatting of user-input error messages (file:line: key: expected ..., found ...).
#include "util/error.hpp"

#include <cstring>
#include <filesystem>
#include <sstream>

namespace fedgrid::util {

std::string format_input_error(const std::string& file, int line, const std::string& key,
                               const std::string& expected, const std::string& found) {
  std::string msg = file;
  if (line > 0) msg += ":" + std::to_string(line);
  msg += ": ";
  if (!key.empty()) msg += "key '" + key + "': ";
  msg += "expected " + expected;
  if (!found.empty()) msg += ", found " + found;
  return msg;
}

std::ifstream open_input(const std::string& path, const std::string& expected) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw_input_error(path, 0, "", expected, "a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_input_error(path, 0, "", expected, "no such file");
  return in;
}

void throw_system_error(const std::string& action, const std::string& path, int err,
                        const std::string& context) {
  throw SystemError("cannot " + action + " " + path + ": " + std::strerror(err) + context);
}

std::string short_number(double v) {
  std::ostringstream os;
  os.precision(8);
  os << v;
  return os.str();
}

}  // namespace fedgrid::util
