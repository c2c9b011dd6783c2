// libFuzzer target: the files a stopped run is resumed from and the availability traces. The
// first byte picks the reader (even: DIR/checkpoint, odd: an outage trace CSV for 50 clients),
// the rest is the file. Any util::InputError is a correct answer; a crash, an out-of-memory or
// a hang is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "io/checkpoint.hpp"
#include "platform/availability.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    std::string d = "/tmp/fedgrid-fuzz-resume-" + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  if (size == 0) return 0;
  const bool trace = data[0] & 1;
  const std::string path = dir + (trace ? "/trace.csv" : "/checkpoint");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  try {
    if (trace) {
      fedgrid::platform::read_outage_trace(path, 50);
    } else {
      fedgrid::io::read_checkpoint(dir);
    }
  } catch (const fedgrid::util::InputError&) {
  }
  return 0;
}
