// Unit tests of the decoded-IDX cache (data/cache.hpp): same data as read_idx, hits, corrupt and
// truncated entries ignored and rebuilt, changed sources missed, the cache disabled, and
// concurrent fills. Each test uses its own temporary cache folder (no warm cache needed).
#define BOOST_TEST_MODULE cache
#include <unistd.h>
#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "data/cache.hpp"
#include "data/dataset.hpp"

using namespace fedgrid;
namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

namespace {

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("fedgrid-cache-test-" + std::to_string(::getpid()));
  std::string images = (dir / "img.gz").string(), labels = (dir / "lab.gz").string();
  fs::path cache = dir / "cache";
  Fixture() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    ::setenv("FEDGRID_CACHE_DIR", cache.c_str(), 1);
    ::unsetenv("FEDGRID_CACHE");
    write(7);
  }
  ~Fixture() { fs::remove_all(dir); }

  static void put32(Bytes& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
  }
  static void gz(const std::string& path, const Bytes& b) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
    gzclose(f);
  }
  // 5 images of 3x4 (pixels from `seed`), labels 0..4.
  void write(int seed) {
    Bytes im, lb;
    put32(im, 0x803);
    put32(im, 5);
    put32(im, 3);
    put32(im, 4);
    for (int i = 0; i < 60; ++i) im.push_back(static_cast<unsigned char>((i * 37 + seed) % 256));
    put32(lb, 0x801);
    put32(lb, 5);
    for (int i = 0; i < 5; ++i) lb.push_back(static_cast<unsigned char>(i));
    gz(images, im);
    gz(labels, lb);
  }
  std::string entry() const { return data::idx_cache_file(images, labels, 10); }
};

bool same(const data::Dataset& a, const data::Dataset& b) {
  return a.x == b.x && a.y == b.y && a.height == b.height && a.width == b.width &&
         a.channels == b.channels && a.num_classes == b.num_classes && a.name == b.name;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(fills_then_hits_with_the_same_data, Fixture) {
  const data::Dataset ref = data::read_idx(images, labels);
  BOOST_TEST(data::cache_dir() == cache.string());
  BOOST_TEST(!fs::exists(entry()));
  BOOST_TEST(same(data::read_idx_cached(images, labels), ref));  // miss: fills
  BOOST_TEST_REQUIRE(fs::exists(entry()));
  const auto hit = data::load_idx_cache(entry(), images, labels, 10);
  BOOST_TEST_REQUIRE(hit.has_value());
  BOOST_TEST(same(*hit, ref));
  BOOST_TEST(same(data::read_idx_cached(images, labels), ref));
  BOOST_TEST(!data::load_idx_cache(entry(), images, labels, 5).has_value(), "other class count");
}

BOOST_FIXTURE_TEST_CASE(corrupt_or_truncated_entries_are_ignored_and_rebuilt, Fixture) {
  const data::Dataset ref = data::read_idx(images, labels);
  data::read_idx_cached(images, labels);
  const std::string file = entry();
  const auto size = fs::file_size(file);
  for (int damage = 0; damage < 3; ++damage) {
    if (damage == 0) {  // one pixel byte changed
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(std::streamoff(size - 3));
      f.put('\x5a');
    } else if (damage == 1) {
      fs::resize_file(file, size - 7);
    } else {
      std::ofstream(file, std::ios::app) << "x";  // trailing byte
    }
    BOOST_TEST(!data::load_idx_cache(file, images, labels, 10).has_value(), "damage " << damage);
    BOOST_TEST(same(data::read_idx_cached(images, labels), ref), "damage " << damage);
    BOOST_TEST(data::load_idx_cache(file, images, labels, 10).has_value(), "rebuilt " << damage);
  }
}

BOOST_FIXTURE_TEST_CASE(changed_sources_miss, Fixture) {
  data::read_idx_cached(images, labels);
  const std::string before = entry();
  write(8);  // same sizes, other pixels
  BOOST_TEST(entry() != before);
  BOOST_TEST(!data::load_idx_cache(before, images, labels, 10).has_value());
  BOOST_TEST(same(data::read_idx_cached(images, labels), data::read_idx(images, labels)));
}

BOOST_FIXTURE_TEST_CASE(can_be_disabled, Fixture) {
  ::setenv("FEDGRID_CACHE", "off", 1);
  BOOST_TEST(data::cache_dir().empty());
  BOOST_TEST(same(data::read_idx_cached(images, labels), data::read_idx(images, labels)));
  BOOST_TEST(!fs::exists(cache));
  ::unsetenv("FEDGRID_CACHE");
}

// Fills racing each other write their own temporary files and rename: every reader gets the
// right data, the entry ends valid and no temporary file is left.
BOOST_FIXTURE_TEST_CASE(concurrent_fills, Fixture) {
  const data::Dataset ref = data::read_idx(images, labels);
  std::vector<std::thread> threads;
  std::vector<char> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { ok[t] = same(data::read_idx_cached(images, labels), ref); });
  }
  for (auto& th : threads) th.join();
  for (char v : ok) BOOST_TEST(v);
  BOOST_TEST(data::load_idx_cache(entry(), images, labels, 10).has_value());
  int files = 0;
  for (const auto& e : fs::directory_iterator(cache)) files += e.is_regular_file();
  BOOST_TEST(files == 1);
}

// Errors of the sources are read_idx's: nothing is cached for a bad file.
BOOST_FIXTURE_TEST_CASE(bad_sources_are_reported_not_cached, Fixture) {
  gz(labels, Bytes{0, 0, 8, 1, 0, 0, 0, 5, 0, 1, 2, 3, 99});  // label 99 >= 10 classes
  BOOST_CHECK_THROW(data::read_idx_cached(images, labels), std::exception);
  BOOST_TEST((!fs::exists(cache) || fs::is_empty(cache)));
}
