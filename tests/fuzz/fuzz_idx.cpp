// libFuzzer target: the IDX reader (images + labels, raw or gzipped) on arbitrary bytes. The input
// is split at its first "@@@@" into the images file and the labels file.
// Any util::InputError is a correct answer; a crash, an out-of-memory or a hang is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "data/dataset.hpp"
#include "util/error.hpp"

static void write(const std::string& path, const char* p, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(p, 1, n, f);
  std::fclose(f);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string base = "/tmp/fedgrid-fuzz-idx-" + std::to_string(getpid());
  std::string in(reinterpret_cast<const char*>(data), size);
  auto cut = in.find("@@@@");
  std::string images = cut == std::string::npos ? in : in.substr(0, cut);
  std::string labels = cut == std::string::npos ? std::string() : in.substr(cut + 4);
  write(base + "-images", images.data(), images.size());
  write(base + "-labels", labels.data(), labels.size());
  try {
    fedgrid::data::read_idx(base + "-images", base + "-labels", 10);
  } catch (const fedgrid::util::InputError&) {
  }
  return 0;
}
