// libFuzzer target: FedGrid's platform file checker (XML reader, units, routes) on arbitrary
// text, for a run of 2 clients. Any util::InputError is a correct answer; a crash, an
// out-of-memory or a hang is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "platform/xml_check.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/fedgrid-fuzz-platform-" + std::to_string(getpid()) + ".xml";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    fedgrid::platform::check_platform_file(path, 2, size % 2 == 0);
  } catch (const fedgrid::util::InputError&) {
  }
  return 0;
}
