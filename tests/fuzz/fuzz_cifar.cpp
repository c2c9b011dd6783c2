// libFuzzer target: the CIFAR-10 binary reader on arbitrary bytes. The input is split at each
// "@@@@" into data_batch_1.bin .. data_batch_5.bin and test_batch.bin (missing parts: empty files).
// Any util::InputError is a correct answer; a crash, an out-of-memory or a hang is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "data/dataset.hpp"
#include "util/error.hpp"

static void write(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    std::string d = "/tmp/fedgrid-fuzz-cifar-" + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  const char* names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                         "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  std::string in(reinterpret_cast<const char*>(data), size);
  for (const char* name : names) {
    const auto cut = in.find("@@@@");
    write(dir + "/" + name, in.substr(0, cut));
    in = cut == std::string::npos ? std::string() : in.substr(cut + 4);
  }
  try {
    fedgrid::data::read_cifar10_folder(dir);
  } catch (const fedgrid::util::InputError&) {
  }
  return 0;
}
