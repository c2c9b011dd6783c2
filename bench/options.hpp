// Command-line options shared by the benchmark binaries: --out FILE.json, --models a,b,
// --batches 16,256, --seconds S and (bench_throughput) --torch FILE.json; anything else prints
// the binary's usage text and exits (0 for --help, 2 otherwise).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fedgrid::bench {

struct Options {
  std::string out;
  std::string torch;  // only where the usage allows it
  std::vector<std::string> models;
  std::vector<int> batches;
  double seconds = 1.0;
};

inline std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// Parses argv over `defaults`; `with_torch` accepts --torch.
inline Options parse_options(int argc, char** argv, Options defaults, bool with_torch,
                             const char* usage) {
  Options o = std::move(defaults);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument("missing value after " + a);
      return argv[++i];
    };
    if (a == "--out") {
      o.out = value();
    } else if (a == "--torch" && with_torch) {
      o.torch = value();
    } else if (a == "--models") {
      o.models = split_commas(value());
    } else if (a == "--batches") {
      o.batches.clear();
      for (const auto& b : split_commas(value())) o.batches.push_back(std::stoi(b));
    } else if (a == "--seconds") {
      o.seconds = std::stod(value());
    } else {
      std::fputs(usage, stdout);
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

}  // namespace fedgrid::bench
