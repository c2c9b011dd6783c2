// CIFAR-10 binary-format reader (data_batch_1..5.bin, test_batch.bin): records of 1 label byte +
// 3072 pixel bytes (R, G, B planes of 32x32, row-major), i.e. a C, H, W column per sample.
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "data/dataset.hpp"
#include "util/error.hpp"

namespace fedgrid::data {

namespace {

constexpr std::size_t kPixels = 3 * 32 * 32;
constexpr std::size_t kRecord = 1 + kPixels;

std::string where_to_get(const std::string& dir) {
  return "download the CIFAR-10 binary version (cifar-10-binary.tar.gz from "
         "https://www.cs.toronto.edu/~kriz/cifar.html) and put its data_batch_1.bin ... "
         "data_batch_5.bin and test_batch.bin into " +
         dir + " (or set data.path)";
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

void require_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    util::throw_input_error(path, 0, "", "a CIFAR-10 binary batch file",
                            "no such file; " + where_to_get(fs::path(path).parent_path().string()));
  }
}

// Reads up to `limit` records (0 = all) of `path` into `bytes`; returns how many.
std::size_t read_batch(const std::string& path, std::size_t limit, std::vector<uint8_t>& bytes) {
  require_file(path);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) util::throw_input_error(path, 0, "", "a readable CIFAR-10 batch file", ec.message());
  if (size == 0 || size % kRecord != 0) {
    util::throw_input_error(path, 0, "",
                            "a size that is a positive multiple of 3073 bytes (1 label byte + "
                            "3072 pixel bytes per image)",
                            std::to_string(size) + " bytes");
  }
  std::size_t n = size / kRecord;
  if (limit > 0 && limit < n) n = limit;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  bytes.resize(n * kRecord);
  if (!f || std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    util::throw_input_error(path, 0, "", "a readable CIFAR-10 binary batch file",
                            "a read error after " + std::to_string(size) + " bytes announced");
  }
  return n;
}

Dataset read_files(const std::vector<std::string>& files, std::size_t limit) {
  std::array<float, 256> table;  // v in 0..255 -> (v/255 - 0.5)/0.5
  for (int v = 0; v < 256; ++v) table[v] = (static_cast<float>(v) / 255.0f - 0.5f) / 0.5f;
  std::vector<std::vector<uint8_t>> contents(files.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (limit > 0 && total >= limit) break;
    total += read_batch(files[i], limit > 0 ? limit - total : 0, contents[i]);
  }
  Dataset d;
  d.name = "cifar10";
  d.channels = 3;
  d.height = 32;
  d.width = 32;
  d.num_classes = 10;
  d.x.resize(static_cast<Eigen::Index>(kPixels), static_cast<Eigen::Index>(total));
  d.y.resize(total);
  std::size_t j = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::vector<uint8_t>& b = contents[i];
    for (std::size_t r = 0; r * kRecord < b.size(); ++r, ++j) {
      const uint8_t* rec = b.data() + r * kRecord;
      if (rec[0] > 9) {
        util::throw_input_error(files[i], 0, "",
                                "labels in 0..9 (record " + std::to_string(r) + ", byte offset " +
                                    std::to_string(r * kRecord) + ")",
                                std::to_string(rec[0]));
      }
      d.y[j] = rec[0];
      float* col = d.x.col(static_cast<Eigen::Index>(j)).data();
      for (std::size_t p = 0; p < kPixels; ++p) col[p] = table[rec[1 + p]];
    }
  }
  return d;
}

}  // namespace

TrainTest read_cifar10_folder(const std::string& dir, std::size_t max_train, std::size_t max_test) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    util::throw_input_error(dir, 0, "", "a folder with the CIFAR-10 binary files",
                            "no such folder; " + where_to_get(dir));
  }
  std::vector<std::string> train;
  for (int i = 1; i <= 5; ++i) {
    train.push_back((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string());
  }
  // Check every file is there before reading any (one message naming the first missing file).
  const std::string test = (fs::path(dir) / "test_batch.bin").string();
  for (const auto& path : train) require_file(path);
  require_file(test);
  return TrainTest{read_files(train, max_train), read_files({test}, max_test)};
}

}  // namespace fedgrid::data
