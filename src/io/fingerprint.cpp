// Input and build fingerprints for checkpoints (see fingerprint.hpp).
#include "io/fingerprint.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "fl/registry.hpp"
#include "util/error.hpp"

#ifndef FEDGRID_BUILD_FLAGS
#define FEDGRID_BUILD_FLAGS "unknown"
#endif
#ifndef FEDGRID_VERSION  // project(... VERSION ...) in CMakeLists.txt
#define FEDGRID_VERSION "unknown"
#endif

namespace fedgrid::io {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;

uint64_t mix(uint64_t h) {
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 29;
  return h;
}

// dir/base if it exists, else dir/base.gz (the IDX reader's order).
std::string idx_file(const std::string& dir, const std::string& base) {
  std::error_code ec;
  const fs::path raw = fs::path(dir) / base;
  return fs::is_regular_file(raw, ec) ? raw.string() : raw.string() + ".gz";
}

struct Entry {
  std::string what, path, size, digest;
};

std::map<std::string, Entry> parse(const std::string& text) {
  std::map<std::string, Entry> m;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    Entry e;
    std::istringstream f(line);
    std::getline(f, e.what, '\t');
    std::getline(f, e.path, '\t');
    std::getline(f, e.size, '\t');
    std::getline(f, e.digest, '\t');
    m[e.what + "\t" + e.path] = e;
  }
  return m;
}

}  // namespace

uint64_t file_digest(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) util::throw_system_error("read", path, errno);
  std::vector<unsigned char> buf(1 << 20);
  // Four independent lanes of 8-byte words (the multiplies overlap), folded at the end.
  uint64_t h[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull,
                   0x082EFA98EC4E6C89ull};
  uint64_t total = 0;
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0;) {
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      for (int l = 0; l < 4; ++l) {
        uint64_t w;
        std::memcpy(&w, buf.data() + i + 8 * l, 8);
        h[l] = (h[l] ^ w) * kMul;
        h[l] ^= h[l] >> 32;
      }
    }
    for (; i < n; ++i) h[0] = (h[0] ^ buf[i]) * kMul;
    total += n;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) util::throw_system_error("read", path, EIO);
  return mix(mix(h[0] ^ total) ^ mix(h[1]) * 3 ^ mix(h[2]) * 5 ^ mix(h[3]) * 7);
}

std::vector<std::pair<std::string, std::string>> run_inputs(const Scenario& s) {
  std::vector<std::pair<std::string, std::string>> in{{"scenario", s.file},
                                                      {"model", s.model_file}};
  if (!s.platform.file.empty()) in.push_back({"platform", s.platform.file});
  for (const auto& p : s.platform.profile_files) in.push_back({"profile", p});
  if (!s.platform.clients_file.empty()) {
    in.push_back(
        {s.platform.fedscale ? "FedScale capacity" : "clients csv", s.platform.clients_file});
  }
  if (!s.availability.trace_file.empty() &&
      s.availability.format != platform::TraceFormat::kClientsCsv) {  // (read as the platform)
    in.push_back({s.availability.format == platform::TraceFormat::kFedscale
                      ? "FedScale behaviour trace"
                      : "outage trace",
                  s.availability.trace_file});
  }
  if (!s.speed_change.trace_file.empty()) in.push_back({"speed trace", s.speed_change.trace_file});
  if (!s.timing.samples_file.empty()) in.push_back({"stage times", s.timing.samples_file});
  // Files named by the algorithm's path parameters (e.g. adel-fl's inputs_csv).
  if (const fl::AlgorithmInfo* info = fl::find_algorithm(s.algorithm.name)) {
    for (const fl::ParamSpec& p : info->params) {
      if (p.type == fl::ParamType::kPath && !s.algorithm.params.text(p.key).empty())
        in.push_back({p.key, s.algorithm.params.text(p.key)});
    }
  }
  if (s.data.dataset == "cifar10") {
    for (int i = 1; i <= 5; ++i) {
      in.push_back(
          {"data",
           (fs::path(s.data.path) / ("data_batch_" + std::to_string(i) + ".bin")).string()});
    }
    in.push_back({"data", (fs::path(s.data.path) / "test_batch.bin").string()});
  } else if (s.data.dataset != "synthetic") {
    for (const char* base : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
      in.push_back({"data", idx_file(s.data.path, base)});
    }
  }
  return in;
}

std::string inputs_fingerprint(const Scenario& s) {
  std::string out;
  for (const auto& [what, path] : run_inputs(s)) {
    const std::string abs = fs::absolute(path).lexically_normal().string();
    std::error_code ec;
    const auto size = fs::file_size(abs, ec);
    char digest[24];
    std::snprintf(digest, sizeof digest, "%016llx",
                  static_cast<unsigned long long>(ec ? 0 : file_digest(abs)));
    out += what + "\t" + abs + "\t" + (ec ? std::string("missing") : std::to_string(size)) + "\t" +
           digest + "\n";
  }
  return out;
}

std::string build_fingerprint() {
  std::string isa;
#ifdef __AVX512F__
  isa += " avx512f";
#endif
#ifdef __AVX2__
  isa += " avx2";
#endif
#ifdef __FMA__
  isa += " fma";
#endif
#ifdef __AVX__
  isa += " avx";
#endif
#ifdef __SSE4_2__
  isa += " sse4.2";
#endif
  return std::string("fedgrid " FEDGRID_VERSION "; compiler ") + __VERSION__ + "; flags " +
         FEDGRID_BUILD_FLAGS + "; isa" + (isa.empty() ? " baseline" : isa);
}

std::string describe_changes(const std::string& then, const std::string& now) {
  const auto a = parse(then), b = parse(now);
  std::vector<std::string> changes;
  for (const auto& [key, e] : b) {
    const auto it = a.find(key);
    if (it == a.end()) {
      changes.push_back("a new " + e.what + " file " + e.path);
    } else if (it->second.size != e.size) {
      changes.push_back("the " + e.what + " file " + e.path + " (" + it->second.size + " -> " +
                        e.size + " bytes)");
    } else if (it->second.digest != e.digest) {
      changes.push_back("the " + e.what + " file " + e.path + " (same size, other bytes)");
    }
  }
  for (const auto& [key, e] : a) {
    if (!b.count(key)) changes.push_back("the " + e.what + " file " + e.path + " (no longer read)");
  }
  std::string s;
  for (std::size_t i = 0; i < changes.size() && i < 3; ++i) s += (i ? ", " : "") + changes[i];
  if (changes.size() > 3) s += " and " + std::to_string(changes.size() - 3) + " more";
  return s;
}

}  // namespace fedgrid::io
