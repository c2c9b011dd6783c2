// IDX (MNIST-format) reader: raw or gzipped image/label files, fully validated, converted to a
// column-per-sample Dataset with pixels mapped to [-1, 1].
#include <sys/mman.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "data/cache.hpp"
#include "data/dataset.hpp"
#include "util/error.hpp"

namespace fedgrid::data {
namespace {

using util::throw_input_error;
using Bytes = std::vector<uint8_t>;

constexpr uint32_t kImageMagic = 0x00000803;  // u8 data, 3 dimensions (n, rows, cols)
constexpr uint32_t kLabelMagic = 0x00000801;  // u8 data, 1 dimension (n)

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

uint32_t be32(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

// Sequential reader of a raw or gzipped file (zlib's gzread detects the 1f 8b magic and reads
// other files transparently). Streaming avoids holding the compressed and decompressed copies.
class IdxStream {
 public:
  explicit IdxStream(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec)) {
      throw_input_error(path_, 0, "", "an IDX file", "a directory");
    }
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
      throw_input_error(path_, 0, "", "a readable IDX file",
                        errno != 0 ? std::strerror(errno) : "an unopenable file");
    }
    gzbuffer(file_, 1u << 18);
    file_size_ = std::filesystem::file_size(path_, ec);
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;
  ~IdxStream() { gzclose(file_); }

  const std::string& path() const { return path_; }
  std::size_t consumed() const { return consumed_; }

  // Reads up to n bytes; fewer only at the end of the data. Corrupt gzip data throws.
  std::size_t read(uint8_t* dst, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
      const int r = gzread(file_, dst + got, want);
      if (r < 0) fail();
      got += static_cast<std::size_t>(r);
      if (static_cast<unsigned>(r) < want) {
        int err = Z_OK;
        gzerror(file_, &err);
        if (err != Z_OK) fail();
        break;
      }
    }
    consumed_ += got;
    return got;
  }

  // Checks, before anything of that size is allocated, that the file can hold `want` bytes:
  // a raw file its own size, a gzip stream at most 1032x (deflate's maximum ratio) + 1 KiB.
  void expect_possible(uint64_t want, const std::string& what) const {
    const bool raw = gzdirect(file_);
    if (want <= (raw ? file_size_ : 1032 * file_size_ + 1024)) return;
    throw_input_error(path_, 0, "", std::to_string(want) + " bytes (" + what + ")",
                      raw ? std::to_string(file_size_) + " bytes (truncated?)"
                          : "a gzip file of " + std::to_string(file_size_) +
                                " bytes, which cannot hold them (truncated or corrupt header?)");
  }

  // Truncation / trailing data against the size the header announces.
  void expect_total(uint64_t want, const std::string& what) {
    const std::string gz = gzdirect(file_) ? "" : " after decompression";
    if (consumed_ < want) {
      throw_input_error(path_, 0, "", std::to_string(want) + " bytes (" + what + ")",
                        std::to_string(consumed_) + " bytes" + gz + " (truncated?)");
    }
    // One byte more tells trailing data (and makes zlib check the gzip trailer, CRC and size):
    // the rest is never inflated, so a small file cannot expand far beyond what the header
    // claims (a gzip bomb after a modest header was inflated in full before this check).
    uint8_t extra[1];
    if (read(extra, sizeof extra) > 0) {
      throw_input_error(
          path_, 0, "", std::to_string(want) + " bytes (" + what + ")",
          "at least " + std::to_string(consumed_) + " bytes" + gz + " (trailing data)");
    }
  }

 private:
  [[noreturn]] void fail() {
    int err = Z_OK;
    const char* msg = gzerror(file_, &err);
    if (err == Z_BUF_ERROR) {
      throw_input_error(path_, 0, "", "a complete gzip stream",
                        "a truncated one after " + std::to_string(consumed_) + " bytes");
    }
    std::string why = msg != nullptr ? msg : "unknown";
    if (why.rfind(path_ + ": ", 0) == 0) why.erase(0, path_.size() + 2);  // zlib prefixes the path
    throw_input_error(path_, 0, "", "valid gzip data", "zlib error: " + why);
  }

  std::string path_;
  gzFile file_ = nullptr;
  std::size_t consumed_ = 0;
  uint64_t file_size_ = 0;
};

// Asks Linux to back a large fresh buffer with transparent huge pages: first-touch page faults
// dominate the cost of filling 188 MB of floats (60,000 images), and 2 MiB pages need 512x fewer.
void advise_huge_pages(void* data, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(kHuge - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

// Reads the fixed-size header; a short file is reported as a truncated header.
void read_header(IdxStream& in, uint8_t* hdr, std::size_t n, const char* what) {
  const std::size_t got = in.read(hdr, n);
  if (got < 4) {
    throw_input_error(in.path(), 0, "", std::string("an IDX header (") + what + ")",
                      std::to_string(got) + " bytes");
  }
}

void check_magic(const uint8_t* hdr, const std::string& path, uint32_t want, const char* what) {
  const uint32_t magic = be32(hdr);
  if (magic != want) {
    std::string found = hex32(magic);
    if (magic == kImageMagic) found += " (an IDX image file)";
    if (magic == kLabelMagic) found += " (an IDX label file)";
    throw_input_error(path, 0, "", std::string("magic number ") + hex32(want) + " (" + what + ")",
                      found);
  }
}

struct ImageHeader {
  uint32_t count = 0, rows = 0, cols = 0;
};

ImageHeader read_image_header(IdxStream& in) {
  uint8_t hdr[16];
  read_header(in, hdr, 16, "IDX images");
  check_magic(hdr, in.path(), kImageMagic, "IDX images");
  if (in.consumed() < 16) {
    throw_input_error(in.path(), 0, "", "a 16-byte IDX image header",
                      std::to_string(in.consumed()) + " bytes (truncated?)");
  }
  ImageHeader h{be32(hdr + 4), be32(hdr + 8), be32(hdr + 12)};
  if (h.count == 0) throw_input_error(in.path(), 0, "", "at least one image", "0 images");
  if (h.rows == 0 || h.cols == 0) {
    throw_input_error(in.path(), 0, "", "image dimensions > 0",
                      std::to_string(h.rows) + "x" + std::to_string(h.cols));
  }
  return h;
}

// The whole label file (small), validated: magic, count > 0, size, every label < num_classes.
std::vector<int> read_labels(const std::string& path, int num_classes) {
  IdxStream in(path);
  uint8_t hdr[8];
  read_header(in, hdr, 8, "IDX labels");
  check_magic(hdr, path, kLabelMagic, "IDX labels");
  if (in.consumed() < 8) {
    throw_input_error(path, 0, "", "an 8-byte IDX label header",
                      std::to_string(in.consumed()) + " bytes (truncated?)");
  }
  const uint32_t count = be32(hdr + 4);
  if (count == 0) throw_input_error(path, 0, "", "at least one label", "0 labels");
  const std::string what = "8-byte header + " + std::to_string(count) + " labels";
  in.expect_possible(8 + uint64_t{count}, what);
  Bytes raw(count);
  in.read(raw.data(), raw.size());
  in.expect_total(8 + uint64_t{count}, what);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] >= num_classes) {
      throw_input_error(path, 0, "", "labels in [0, " + std::to_string(num_classes) + ")",
                        std::to_string(raw[i]) + " at label index " + std::to_string(i));
    }
  }
  return std::vector<int>(raw.begin(), raw.end());
}

// Streams `total` pixel bytes; the first `keep` go through `table` into dst, the rest are only
// read (to validate the file's size).
void read_pixels(IdxStream& in, uint64_t total, uint64_t keep, float* dst,
                 const std::array<float, 256>& table) {
  Bytes chunk(1u << 20);
  for (uint64_t done = 0; done < total;) {
    const auto want = static_cast<std::size_t>(std::min<uint64_t>(chunk.size(), total - done));
    const std::size_t got = in.read(chunk.data(), want);
    const uint64_t use = done < keep ? std::min<uint64_t>(got, keep - done) : 0;
    for (std::size_t i = 0; i < use; ++i) dst[done + i] = table[chunk[i]];
    done += got;
    if (got < want) break;  // truncated: expect_total reports it
  }
}

std::string stem_of(const std::string& path) {
  std::filesystem::path p(path);
  if (p.extension() == ".gz") p = p.stem();
  return p.filename().string();
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path, int num_classes,
                 std::size_t max_samples) {
  if (num_classes < 1 || num_classes > 256) {
    throw_input_error(labels_path, 0, "num_classes", "a class count in [1, 256]",
                      std::to_string(num_classes));
  }
  IdxStream images(images_path);
  const ImageHeader h = read_image_header(images);
  std::vector<int> labels = read_labels(labels_path, num_classes);
  if (labels.size() != h.count) {
    throw_input_error(
        images_path, 0, "",
        "as many images as labels in " + labels_path + " (" + std::to_string(labels.size()) + ")",
        std::to_string(h.count) + " images");
  }
  std::size_t n = h.count;
  if (max_samples > 0 && max_samples < n) n = max_samples;
  const uint64_t features = uint64_t{h.rows} * h.cols;

  // v in 0..255 -> (v/255 - 0.5)/0.5 in [-1, 1], via a 256-entry table (column j contiguous).
  std::array<float, 256> table;
  for (int v = 0; v < 256; ++v) table[v] = (static_cast<float>(v) / 255.0f - 0.5f) / 0.5f;
  const uint64_t total = features * h.count;
  const std::string what = "16-byte header + " + std::to_string(h.count) + " images of " +
                           std::to_string(h.rows) + "x" + std::to_string(h.cols);
  images.expect_possible(16 + total, what);
  Dataset d;
  d.name = stem_of(images_path);
  d.x.resize(static_cast<Eigen::Index>(features), static_cast<Eigen::Index>(n));
  advise_huge_pages(d.x.data(), static_cast<std::size_t>(d.x.size()) * sizeof(float));
  read_pixels(images, total, features * n, d.x.data(), table);
  images.expect_total(16 + total, what);
  labels.resize(n);
  d.y = std::move(labels);
  d.height = static_cast<int>(h.rows);
  d.width = static_cast<int>(h.cols);
  d.channels = 1;
  d.num_classes = num_classes;
  return d;
}

namespace {

// dir/base, else dir/base.gz; otherwise an InputError naming both paths (and how to get the data).
std::string find_idx(const std::string& dir, const std::string& base, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path raw = fs::path(dir) / base;
  const fs::path gz = fs::path(dir) / (base + ".gz");
  std::error_code ec;
  if (fs::is_regular_file(raw, ec)) return raw.string();
  if (fs::is_regular_file(gz, ec)) return gz.string();
  std::string found = "no such file";
  if (!fs::is_directory(dir, ec)) found += " (directory " + dir + " does not exist)";
  std::string norm = fs::path(dir).lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  if (norm == "/usr/share/datasets/fashion-mnist") {
    found += "; install Fashion-MNIST with `apt-get install dataset-fashion-mnist`";
  } else if (name == "mnist") {
    found += "; create the MNIST files with scripts/fetch_mnist.sh " + dir;
  }
  throw_input_error(raw.string() + "[.gz]", 0, "",
                    "the " + name + " IDX file " + raw.string() + " or " + gz.string(), found);
}

}  // namespace

TrainTest read_idx_folder(const std::string& dir, const std::string& dataset_name) {
  const std::string train_images = find_idx(dir, "train-images-idx3-ubyte", dataset_name);
  const std::string train_labels = find_idx(dir, "train-labels-idx1-ubyte", dataset_name);
  const std::string test_images = find_idx(dir, "t10k-images-idx3-ubyte", dataset_name);
  const std::string test_labels = find_idx(dir, "t10k-labels-idx1-ubyte", dataset_name);
  // Through the decoded cache (data/cache.hpp): read_idx on a miss.
  TrainTest tt{read_idx_cached(train_images, train_labels),
               read_idx_cached(test_images, test_labels)};
  if (tt.test.height != tt.train.height || tt.test.width != tt.train.width) {
    throw_input_error(test_images, 0, "",
                      "the image size of " + train_images + " (" + std::to_string(tt.train.height) +
                          "x" + std::to_string(tt.train.width) + ")",
                      std::to_string(tt.test.height) + "x" + std::to_string(tt.test.width));
  }
  tt.train.name = dataset_name;
  tt.test.name = dataset_name;
  return tt;
}

}  // namespace fedgrid::data
