// libFuzzer target: the scenario loader on arbitrary text (first line = a --set override).
// Any util::InputError is a correct answer; a crash, a hang or another exception is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "io/scenario.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      "/tmp/fedgrid-fuzz-scenario-" + std::to_string(getpid()) + ".yaml";
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string override_line;
  auto nl = text.find('\n');
  if (nl != std::string::npos && text.rfind("#set ", 0) == 0) {
    override_line = text.substr(5, nl - 5);
    text = text.substr(nl + 1);
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  try {
    std::vector<std::string> sets;
    if (!override_line.empty()) sets.push_back(override_line);
    fedgrid::io::load_scenario(path, sets);
  } catch (const fedgrid::util::InputError&) {
  }
  return 0;
}
