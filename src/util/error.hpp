// Error types. InputError = bad user input (exit code 2); everything else is an internal error.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>

namespace fedgrid::util {

// Bad input from the user: a scenario/model/platform file, a data file or a command-line value.
// The message is complete and ready to print ("FILE:LINE: key 'k': expected X, found Y").
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// The machine failed an operation that should work (a full disk, an I/O error, a file-size
// limit): not the user's input, not FedGrid's bug. Exit code 1, the message printed as it is.
class SystemError : public std::runtime_error {
 public:
  explicit SystemError(const std::string& message) : std::runtime_error(message) {}
};

// Throws SystemError "cannot <action> <path>: <strerror(err)><context>".
[[noreturn]] void throw_system_error(const std::string& action, const std::string& path, int err,
                                     const std::string& context = "");

// Builds the canonical message. line <= 0 means "no line" (e.g. a binary data file).
std::string format_input_error(const std::string& file, int line, const std::string& key,
                               const std::string& expected, const std::string& found);

// A number for messages: 8 significant digits ("173.4", "1e-06").
std::string short_number(double v);

// Opens `path` for reading (binary); throws InputError "PATH: expected <expected>, found no such
// file | a directory" otherwise (a directory opens fine but fails on the first read).
std::ifstream open_input(const std::string& path, const std::string& expected);

[[noreturn]] inline void throw_input_error(const std::string& file, int line,
                                           const std::string& key, const std::string& expected,
                                           const std::string& found) {
  throw InputError(format_input_error(file, line, key, expected, found));
}

}  // namespace fedgrid::util
