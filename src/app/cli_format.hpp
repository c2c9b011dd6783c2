// Help texts generated from the CLI11 definitions of the fedgrid commands: each command's usage
// synopsis, description, option table (within 100 columns) and notes, and the overview that
// `fedgrid --help` prints (every command with all its options).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace fedgrid::app {

constexpr std::size_t kHelpWidth = 100;

// Option groups that the synopsis renders specially (by the end of their names):
// options of a new run, absent from the `--resume DIR` form of the command...
constexpr const char* kNewRunOnly = "(not with --resume)";
// ...and options that exclude each other: [--a | --b X | --c].
constexpr const char* kAtMostOne = "(at most one)";

bool ends_with(const std::string& s, const std::string& tail);

// Each line of `text` reflowed to at most `width` columns (longer words stay whole).
std::string wrap(const std::string& text, std::size_t width);

// The forms of command `cmd`, each "LEAD ARG [-o DIR] [--set KEY=VALUE]... [--quiet]" wrapped at
// kHelpWidth, continuation lines indented by `indent`: one form, or two for a command with
// --resume (the second without the options of a new run).
std::vector<std::string> synopses(const CLI::App& cmd, const std::string& lead, std::size_t indent);

class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter();
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override;
  std::string make_option_name(const CLI::Option* opt, bool positional) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;

 private:
  std::string command_help(const CLI::App& cmd) const;
  std::string overview(const CLI::App& root) const;
  std::string option_tables(const CLI::App& app) const;
};

}  // namespace fedgrid::app
