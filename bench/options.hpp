// Command-line options shared by the benchmark binaries, parsed with CLI11: --out FILE.json,
// --models a,b, --batches 16,256, --seconds S, (bench_throughput) --torch FILE.json, and a
// binary's own options added by `extra`. --help prints the description and the option table
// (exit 0); an unknown option or a bad value prints one error line and exits 2.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace fedgrid::bench {

struct Options {
  std::string out;
  std::string torch;  // only where the binary takes --torch
  std::vector<std::string> models;
  std::vector<int> batches;
  double seconds = 1.0;
};

// What the binary takes besides --out: the shared options it uses, and its own (`extra`).
struct Takes {
  bool models = true, batches = true, seconds = true, torch = false;
  std::function<void(CLI::App&)> extra;
};

// A CLI11 check: `v` is a whole positive number (an integer if `integer`).
inline CLI::Validator positive(bool integer) {
  return CLI::Validator(
      [integer](std::string& v) -> std::string {
        try {
          std::size_t pos = 0;
          const double x = integer ? static_cast<double>(std::stol(v, &pos)) : std::stod(v, &pos);
          if (pos == v.size() && x > 0) return "";
        } catch (const std::exception&) {
        }
        return std::string("expects a positive ") + (integer ? "integer" : "number") + ", found '" +
               v + "'";
      },
      "");
}

// Parses argv over `defaults` (shown in --help); exits on --help and on bad input.
inline Options parse_options(int argc, char** argv, Options defaults, const Takes& takes,
                             const std::string& name, const std::string& description) {
  Options o = std::move(defaults);
  CLI::App app(description, name);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--out", o.out, "the JSON file to write")
      ->type_name("FILE.json")
      ->capture_default_str();
  if (takes.torch) {
    app.add_option("--torch", o.torch, "PyTorch's numbers (bench/torch_throughput.py)")
        ->type_name("FILE.json")
        ->capture_default_str();
  }
  if (takes.models) {
    app.add_option("--models", o.models, "models/NAME.yaml, comma-separated")
        ->type_name("NAMES")
        ->delimiter(',')
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->capture_default_str();
  }
  if (takes.batches) {
    app.add_option("--batches", o.batches, "batch sizes, comma-separated")
        ->type_name("B1,B2")
        ->delimiter(',')
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check(positive(true))
        ->capture_default_str();
  }
  if (takes.seconds) {
    app.add_option("--seconds", o.seconds, "seconds per measurement")
        ->type_name("S")
        ->check(positive(false))
        ->capture_default_str();
  }
  if (takes.extra) takes.extra(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s (see %s --help)\n", name.c_str(), e.what(), name.c_str());
    std::exit(2);
  }
  return o;
}

}  // namespace fedgrid::bench
