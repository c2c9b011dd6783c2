// Decoded-IDX cache: one file per (images, labels, classes) source pair, named after the sources'
// keys: an 80-byte header (magic, both keys, shape, content CRC-32), the labels and the pixels
// (one byte each). Written to a unique temporary name and renamed; checked fully on load.
#include "data/cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace fedgrid::data {

namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'F', 'G', 'I', 'D', 'X', 'C', 0, 1};  // format version 1

// Size and digests of a source file's bytes (as stored on disk: the gzip file itself).
struct SourceKey {
  uint64_t size = 0, crc = 0, adler = 0;
};

struct Header {
  char magic[8];
  SourceKey images, labels;
  uint32_t count, rows, cols, classes;
  uint32_t content_crc, reserved;
};
static_assert(sizeof(Header) == 80, "packed layout");

bool key_of(const std::string& path, SourceKey& k) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::vector<unsigned char> buf(1u << 20);
  uLong crc = crc32_z(0, Z_NULL, 0), adler = adler32_z(0, Z_NULL, 0);
  k.size = 0;
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0;) {
    crc = crc32_z(crc, buf.data(), n);
    adler = adler32_z(adler, buf.data(), n);
    k.size += n;
  }
  const bool ok = !std::ferror(f);
  std::fclose(f);
  k.crc = crc;
  k.adler = adler;
  return ok;
}

std::string hex(uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

std::string file_name(const SourceKey& im, const SourceKey& lb, int classes) {
  auto part = [](const SourceKey& k) {
    return hex(k.size, 1) + "-" + hex(k.crc, 8) + hex(k.adler, 8);
  };
  return "idx-" + part(im) + "-" + part(lb) + "-c" + std::to_string(classes) + ".bin";
}

const std::array<float, 256>& pixel_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int v = 0; v < 256; ++v) t[v] = (static_cast<float>(v) / 255.0f - 0.5f) / 0.5f;
    return t;
  }();
  return table;
}

// A read-only mapping of a whole file (MAP_POPULATE: the page cache's pages mapped in bulk).
class Mapping {
 public:
  explicit Mapping(const std::string& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      void* p =
          ::mmap(nullptr, std::size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const unsigned char*>(p);
        size_ = std::size_t(st.st_size);
      }
    }
    ::close(fd);
  }
  ~Mapping() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// The entry if its header matches the sources and its size and content CRC are right.
std::optional<Dataset> load(const std::string& file, const SourceKey& im, const SourceKey& lb,
                            int classes, const std::string& images_path) {
  const Mapping map(file);
  Header h{};
  if (map.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, map.data(), sizeof h);
  const bool ok = std::memcmp(h.magic, kMagic, 8) == 0 &&
                  std::memcmp(&h.images, &im, sizeof im) == 0 &&
                  std::memcmp(&h.labels, &lb, sizeof lb) == 0 && int(h.classes) == classes &&
                  h.count > 0 && h.rows > 0 && h.cols > 0;
  const uint64_t features = uint64_t{h.rows} * h.cols;
  if (!ok || map.size() != sizeof h + h.count * (1 + features)) return std::nullopt;
  const unsigned char* labels = map.data() + sizeof h;
  const unsigned char* px = labels + h.count;
  Dataset d;
  d.y.resize(h.count);
  for (uint32_t i = 0; i < h.count; ++i) {
    if (labels[i] >= classes) return std::nullopt;
    d.y[i] = labels[i];
  }
  d.x.resize(Eigen::Index(features), Eigen::Index(h.count));
#ifdef MADV_HUGEPAGE  // first-touch page faults dominate filling ~188 MB (as in idx.cpp)
  constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
  const auto begin = reinterpret_cast<std::uintptr_t>(d.x.data());
  const std::uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t last = (begin + d.x.size() * sizeof(float)) & ~(kHuge - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#endif
  // The content CRC and the conversion in one pass over 64 KiB blocks (still in cache).
  uLong crc = crc32_z(0, labels, h.count);
  const auto& table = pixel_table();
  const uint64_t total = features * h.count;
  for (uint64_t at = 0; at < total; at += 65536) {
    const uint64_t n = std::min<uint64_t>(65536, total - at);
    crc = crc32_z(crc, px + at, n);
    float* dst = d.x.data() + at;
    for (uint64_t i = 0; i < n; ++i) dst[i] = table[px[at + i]];
  }
  if (crc != h.content_crc) return std::nullopt;
  fs::path stem(images_path);
  if (stem.extension() == ".gz") stem = stem.stem();
  d.name = stem.filename().string();  // as read_idx names it
  d.channels = 1;
  d.height = int(h.rows);
  d.width = int(h.cols);
  d.num_classes = classes;
  return d;
}

// Writes the entry (best effort): the pixels back to bytes (exact: the table is injective).
void store(const std::string& file, const SourceKey& im, const SourceKey& lb, const Dataset& d) {
  const uint64_t features = uint64_t(d.x.rows()), count = d.size();
  std::vector<unsigned char> body(count * (1 + features));
  for (uint64_t i = 0; i < count; ++i) body[i] = static_cast<unsigned char>(d.y[i]);
  const auto& table = pixel_table();
  for (uint64_t i = 0; i < features * count; ++i) {
    const float v = d.x.data()[i];
    const float u = (v + 1.0f) * 127.5f + 0.5f;  // table[b] = 2b/255 - 1
    if (!(u >= 0.0f && u < 256.0f)) return;      // not IDX pixels (NaN too): no entry
    const auto b = static_cast<std::size_t>(u);
    if (table[b] != v) return;
    body[count + i] = static_cast<unsigned char>(b);
  }
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.images = im;
  h.labels = lb;
  h.count = uint32_t(count);
  h.rows = uint32_t(d.height);
  h.cols = uint32_t(d.width);
  h.classes = uint32_t(d.num_classes);
  h.content_crc = uint32_t(crc32_z(0, body.data(), body.size()));
  static std::atomic<int> serial{0};
  const std::string tmp =
      file + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(serial.fetch_add(1));
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return;
  bool ok = std::fwrite(&h, sizeof h, 1, f) == 1 &&
            std::fwrite(body.data(), 1, body.size(), f) == body.size();
  ok = (std::fclose(f) == 0) && ok;
  std::error_code ec;
  if (ok) fs::rename(tmp, file, ec);
  if (!ok || ec) fs::remove(tmp, ec);
}

}  // namespace

std::string cache_dir() {
  const char* off = std::getenv("FEDGRID_CACHE");
  if (off && (std::strcmp(off, "0") == 0 || std::strcmp(off, "off") == 0)) return "";
  if (const char* d = std::getenv("FEDGRID_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/fedgrid";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/fedgrid";
  }
  return "";
}

std::string idx_cache_file(const std::string& images_path, const std::string& labels_path,
                           int num_classes) {
  const std::string dir = cache_dir();
  SourceKey im, lb;
  if (dir.empty() || !key_of(images_path, im) || !key_of(labels_path, lb)) return "";
  return dir + "/" + file_name(im, lb, num_classes);
}

std::optional<Dataset> load_idx_cache(const std::string& file, const std::string& images_path,
                                      const std::string& labels_path, int num_classes) {
  SourceKey im, lb;
  if (!key_of(images_path, im) || !key_of(labels_path, lb)) return std::nullopt;
  return load(file, im, lb, num_classes, images_path);
}

Dataset read_idx_cached(const std::string& images_path, const std::string& labels_path,
                        int num_classes) {
  const std::string dir = cache_dir();
  SourceKey im, lb;
  if (dir.empty() || !key_of(images_path, im) || !key_of(labels_path, lb)) {
    return read_idx(images_path, labels_path, num_classes);
  }
  const std::string file = dir + "/" + file_name(im, lb, num_classes);
  if (auto d = load(file, im, lb, num_classes, images_path)) return std::move(*d);
  Dataset d = read_idx(images_path, labels_path, num_classes);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) store(file, im, lb, d);
  return d;
}

}  // namespace fedgrid::data
