// Unit tests of the data layer: IDX reading (raw, gzip, corrupt files, real Fashion-MNIST),
// synthetic data, subsets, validation split, IID and Dirichlet partitions, label histograms.
#define BOOST_TEST_MODULE data
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>

#include "data/dataset.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using fedgrid::data::Dataset;
using fedgrid::data::Partition;
using fedgrid::util::InputError;
using Bytes = std::vector<uint8_t>;

namespace {

// A fresh temporary directory per test case, removed afterwards.
struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("fedgrid_test_data_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

Bytes idx_images(uint32_t n, uint32_t rows, uint32_t cols, const Bytes& pixels,
                 uint32_t magic = 0x00000803) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

Bytes idx_labels(const Bytes& labels, uint32_t magic = 0x00000801) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

std::string write_raw(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return path;
}

std::string write_gz(const std::string& path, const Bytes& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  BOOST_REQUIRE(f != nullptr);
  BOOST_REQUIRE_EQUAL(gzwrite(f, b.data(), static_cast<unsigned>(b.size())),
                      static_cast<int>(b.size()));
  BOOST_REQUIRE_EQUAL(gzclose(f), Z_OK);
  return path;
}

float norm(int v) { return (static_cast<float>(v) / 255.0f - 0.5f) / 0.5f; }

// Min / max over all coefficients. (Not Eigen's minCoeff/maxCoeff: with -march=native on AVX-512
// GCC 12 raises a false -Wmaybe-uninitialized inside Eigen's reduction, which -Werror rejects.)
float min_of(const Eigen::MatrixXf& m) { return *std::min_element(m.data(), m.data() + m.size()); }
float max_of(const Eigen::MatrixXf& m) { return *std::max_element(m.data(), m.data() + m.size()); }

// 3 images of 2x3 pixels (row-major in the file) and their labels.
const Bytes kPixels = {0,   255, 128, 1,  2,  3,   //
                       10,  20,  30,  40, 50, 60,  //
                       254, 0,   0,   0,  0,  7};
const Bytes kLabels = {2, 0, 9};

void check_small(const Dataset& d) {
  BOOST_TEST(d.size() == 3u);
  BOOST_TEST(d.features() == 6);
  BOOST_TEST(d.x.cols() == 3);
  BOOST_TEST(d.channels == 1);
  BOOST_TEST(d.height == 2);
  BOOST_TEST(d.width == 3);
  BOOST_TEST(d.num_classes == 10);
  BOOST_TEST(d.y == std::vector<int>({2, 0, 9}), boost::test_tools::per_element());
  for (int j = 0; j < 3; ++j)
    for (int f = 0; f < 6; ++f) BOOST_TEST(d.x(f, j) == norm(kPixels[j * 6 + f]));
  // Hand-computed values: 0 -> -1, 255 -> 1, 128 -> 1/255, 10 -> -235/255.
  BOOST_TEST(d.x(0, 0) == -1.0f);
  BOOST_TEST(d.x(1, 0) == 1.0f);
  BOOST_TEST(std::abs(d.x(2, 0) - 1.0f / 255.0f) < 1e-6f);  // absolute: 128/255 - 0.5 cancels
  BOOST_TEST(std::abs(d.x(0, 1) + 235.0f / 255.0f) < 1e-6f);
}

// Asserts that fn throws InputError whose message contains every string in `parts`.
void expect_input_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    BOOST_ERROR("expected InputError, nothing thrown");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    BOOST_TEST_MESSAGE("InputError: " << msg);
    for (const auto& p : parts) BOOST_TEST(msg.find(p) != std::string::npos, msg << " lacks " << p);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(idx_raw_and_gzip_read_back_exactly) {
  TempDir t;
  const Bytes im = idx_images(3, 2, 3, kPixels), lb = idx_labels(kLabels);
  check_small(fedgrid::data::read_idx(write_raw(t.path("i"), im), write_raw(t.path("l"), lb)));
  check_small(fedgrid::data::read_idx(write_gz(t.path("i.gz"), im), write_gz(t.path("l.gz"), lb)));
  // gzip is detected from the content, not the name; mixed raw/gzip pairs work.
  check_small(fedgrid::data::read_idx(write_gz(t.path("i.raw"), im), t.path("l")));
  Dataset two = fedgrid::data::read_idx(t.path("i"), t.path("l.gz"), 10, 2);
  BOOST_TEST(two.size() == 2u);
  BOOST_TEST(two.x.cols() == 2);
  BOOST_TEST(two.x(5, 1) == norm(60));
}

BOOST_AUTO_TEST_CASE(idx_folder_finds_raw_and_gz_files) {
  TempDir t;
  const Bytes im = idx_images(3, 2, 3, kPixels), lb = idx_labels(kLabels);
  write_gz(t.path("train-images-idx3-ubyte.gz"), im);
  write_gz(t.path("train-labels-idx1-ubyte.gz"), lb);
  write_raw(t.path("t10k-images-idx3-ubyte"), idx_images(1, 2, 3, Bytes(6, 255)));
  write_raw(t.path("t10k-labels-idx1-ubyte"), idx_labels({4}));
  auto tt = fedgrid::data::read_idx_folder(t.dir.string(), "tiny");
  check_small(tt.train);
  BOOST_TEST(tt.train.name == "tiny");
  BOOST_TEST(tt.test.size() == 1u);
  BOOST_TEST(tt.test.y[0] == 4);
  BOOST_TEST(min_of(tt.test.x) == 1.0f);

  // Test images of another size than the train images: dims mismatch names both.
  write_raw(t.path("t10k-images-idx3-ubyte"), idx_images(1, 3, 2, Bytes(6, 255)));
  expect_input_error(
      [&] { fedgrid::data::read_idx_folder(t.dir.string(), "tiny"); },
      {t.path("t10k-images-idx3-ubyte"), "train-images-idx3-ubyte.gz", "2x3", "3x2"});

  // A missing file names the full path tried.
  fs::remove(t.path("t10k-labels-idx1-ubyte"));
  expect_input_error([&] { fedgrid::data::read_idx_folder(t.dir.string(), "tiny"); },
                     {t.path("t10k-labels-idx1-ubyte"), "t10k-labels-idx1-ubyte.gz"});
  expect_input_error([&] { fedgrid::data::read_idx_folder(t.path("nope"), "tiny"); },
                     {t.path("nope/train-images-idx3-ubyte"), "does not exist"});
  const std::string fashion = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fashion + "/train-images-idx3-ubyte.gz")) {
    expect_input_error([&] { fedgrid::data::read_idx_folder(fashion, "fashion-mnist"); },
                       {"apt-get install dataset-fashion-mnist"});
  }
}

BOOST_AUTO_TEST_CASE(idx_corrupt_files_throw_input_error_naming_the_file) {
  using fedgrid::data::read_idx;
  TempDir t;
  const std::string im = write_raw(t.path("im"), idx_images(3, 2, 3, kPixels));
  const std::string lb = write_raw(t.path("lb"), idx_labels(kLabels));
  // Bad magic: a label file given as images and vice versa.
  expect_input_error([&] { read_idx(lb, lb); }, {lb, "0x00000803", "found 0x00000801"});
  expect_input_error([&] { read_idx(im, im); }, {im, "0x00000801", "found 0x00000803"});
  const std::string junk = write_raw(t.path("junk"), idx_images(3, 2, 3, kPixels, 0x12345678));
  expect_input_error([&] { read_idx(junk, lb); }, {junk, "0x00000803", "0x12345678"});
  // Truncated pixels (raw and gzip) and truncated labels: expected vs found byte counts.
  Bytes cut = idx_images(3, 2, 3, kPixels);
  cut.resize(cut.size() - 5);
  const std::string tr = write_raw(t.path("trunc"), cut);
  expect_input_error([&] { read_idx(tr, lb); }, {tr, "expected 34 bytes", "found 29 bytes"});
  const std::string trgz = write_gz(t.path("trunc.gz"), cut);
  expect_input_error([&] { read_idx(trgz, lb); }, {trgz, "expected 34 bytes", "29 bytes"});
  const std::string hdr = write_raw(t.path("hdr"), Bytes{0, 0, 8, 3, 0, 0});
  expect_input_error([&] { read_idx(hdr, lb); }, {hdr, "header"});
  const std::string lcut = write_raw(t.path("lcut"), Bytes{0, 0, 8, 1, 0, 0, 0, 3, 1});
  expect_input_error([&] { read_idx(im, lcut); }, {lcut, "expected 11 bytes", "found 9 bytes"});
  // A gzip stream cut in the middle.
  Bytes gz;
  {
    std::ifstream f(write_gz(t.path("full.gz"), idx_images(3, 2, 3, kPixels)), std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(f), {});
  }
  gz.resize(gz.size() / 2);
  const std::string gzcut = write_raw(t.path("cut.gz"), gz);
  expect_input_error([&] { read_idx(gzcut, lb); }, {gzcut, "truncated"});
  // A corrupted gzip trailer (CRC-32 = bytes -8..-5).
  {
    std::ifstream f(t.path("full.gz"), std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(f), {});
  }
  gz[gz.size() - 6] ^= 0x5a;
  const std::string crc = write_raw(t.path("crc.gz"), gz);
  expect_input_error([&] { read_idx(crc, lb); }, {crc, "zlib error"});
  // Label out of range [0, num_classes).
  const std::string big = write_raw(t.path("big"), idx_labels({2, 10, 1}));
  expect_input_error([&] { read_idx(im, big); }, {big, "[0, 10)", "found 10 at label index 1"});
  expect_input_error([&] { read_idx(im, lb, 5); }, {lb, "[0, 5)", "found 9 at label index 2"});
  // Image count != label count names both files.
  const std::string two = write_raw(t.path("two"), idx_labels({1, 2}));
  expect_input_error([&] { read_idx(im, two); }, {im, two, "(2)", "3 images"});
  // Zero images, zero-sized images, trailing data, missing file, directory.
  const std::string zero = write_raw(t.path("zero"), idx_images(0, 2, 3, {}));
  expect_input_error([&] { read_idx(zero, lb); }, {zero, "0 images"});
  const std::string flat = write_raw(t.path("flat"), idx_images(3, 0, 3, {}));
  expect_input_error([&] { read_idx(flat, lb); }, {flat, "0x3"});
  Bytes longer = idx_images(3, 2, 3, kPixels);
  longer.push_back(0);
  const std::string tail = write_raw(t.path("tail"), longer);
  expect_input_error([&] { read_idx(tail, lb); }, {tail, "35 bytes (trailing data)"});
  expect_input_error([&] { read_idx(t.path("missing"), lb); }, {t.path("missing")});
  expect_input_error([&] { read_idx(im, t.path("missing-l")); }, {t.path("missing-l")});
  expect_input_error([&] { read_idx(t.dir.string(), lb); }, {t.dir.string(), "directory"});
  // Headers announcing far more data than the file holds are refused before any allocation (a
  // fuzzer found 3 images of 258 x 43183 pixels in a 34-byte file: tests/fuzz/regressions/).
  const std::string huge = write_raw(t.path("huge"), idx_images(3, 258, 43183, kPixels));
  expect_input_error([&] { read_idx(huge, lb); }, {huge, "found 34 bytes (truncated?)"});
  const std::string hugegz = write_gz(t.path("huge.gz"), idx_images(3, 258, 43183, kPixels));
  expect_input_error([&] { read_idx(hugegz, lb); }, {hugegz, "cannot hold"});
  const std::string many = write_raw(t.path("many"), idx_labels({1, 2}));
  Bytes many_hdr = idx_labels({});
  many_hdr[4] = 0x7f;  // 2 billion labels announced
  write_raw(many, many_hdr);
  expect_input_error([&] { read_idx(im, many); }, {many, "found 8 bytes (truncated?)"});
}

BOOST_AUTO_TEST_CASE(real_fashion_mnist_if_installed) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) {
    BOOST_TEST_MESSAGE("skipped: " << dir
                                   << " not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto tt = fedgrid::data::read_idx_folder(dir, "fashion-mnist");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE("read Fashion-MNIST (70,000 images) in " << secs << " s");
  BOOST_TEST(secs < 5.0);  // ~0.4 s here; generous bound for a loaded 2-core machine
  BOOST_TEST(tt.train.size() == 60000u);
  BOOST_TEST(tt.test.size() == 10000u);
  for (const Dataset* d : {&tt.train, &tt.test}) {
    BOOST_TEST(d->features() == 784);
    BOOST_TEST(d->height == 28);
    BOOST_TEST(d->width == 28);
    BOOST_TEST(d->name == "fashion-mnist");
    BOOST_TEST(min_of(d->x) == -1.0f);
    BOOST_TEST(max_of(d->x) == 1.0f);
    std::vector<std::size_t> hist(10, 0);
    for (int y : d->y) ++hist.at(static_cast<std::size_t>(y));
    const std::size_t per_class = d->size() / 10;  // exactly 6000 / 1000 per class
    for (std::size_t c = 0; c < 10; ++c) BOOST_TEST(hist[c] == per_class);
  }
}

BOOST_AUTO_TEST_CASE(synthetic_is_deterministic_and_shares_class_means) {
  fedgrid::data::SyntheticSpec spec;  // 2000 train, 500 test, 20 features, 4 classes
  auto a = fedgrid::data::make_synthetic(spec, 7);
  auto b = fedgrid::data::make_synthetic(spec, 7);
  auto c = fedgrid::data::make_synthetic(spec, 8);
  BOOST_TEST(a.train.size() == 2000u);
  BOOST_TEST(a.test.size() == 500u);
  BOOST_TEST(a.train.features() == 20);
  BOOST_TEST(a.train.name == "synthetic");
  BOOST_TEST(a.train.num_classes == 4);
  BOOST_TEST((a.train.height == 0 && a.train.width == 0 && a.train.channels == 1));
  BOOST_TEST((a.train.x == b.train.x));
  BOOST_TEST((a.test.x == b.test.x));
  BOOST_TEST(a.train.y == b.train.y, boost::test_tools::per_element());
  BOOST_TEST((a.train.x != c.train.x));
  BOOST_TEST((a.train.y != c.train.y));
  // Labels are balanced (500 per class), and per-class means agree between train and test:
  // each estimate has std 1/sqrt(n_c) per coordinate, so the difference has std
  // sqrt(1/500 + 1/125) = 0.1; we allow 0.5 (5 sigma). Means themselves have std 2.
  Eigen::MatrixXf mtr = Eigen::MatrixXf::Zero(20, 4), mte = Eigen::MatrixXf::Zero(20, 4);
  std::vector<int> ntr(4, 0), nte(4, 0);
  for (std::size_t j = 0; j < a.train.size(); ++j) {
    mtr.col(a.train.y[j]) += a.train.x.col(static_cast<Eigen::Index>(j));
    ++ntr[static_cast<std::size_t>(a.train.y[j])];
  }
  for (std::size_t j = 0; j < a.test.size(); ++j) {
    mte.col(a.test.y[j]) += a.test.x.col(static_cast<Eigen::Index>(j));
    ++nte[static_cast<std::size_t>(a.test.y[j])];
  }
  for (int k = 0; k < 4; ++k) {
    BOOST_TEST(ntr[static_cast<std::size_t>(k)] == 500);
    BOOST_TEST(nte[static_cast<std::size_t>(k)] == 125);
    mtr.col(k) /= static_cast<float>(ntr[static_cast<std::size_t>(k)]);
    mte.col(k) /= static_cast<float>(nte[static_cast<std::size_t>(k)]);
  }
  BOOST_TEST(max_of((mtr - mte).cwiseAbs()) < 0.5f);
  BOOST_TEST(max_of(mtr.cwiseAbs()) > 1.0f);  // the classes are actually separated
  spec.classes = 1;
  expect_input_error([&] { fedgrid::data::make_synthetic(spec, 1); }, {"classes", "found 1"});
}

namespace {

// n samples, one feature holding the sample's original index; labels j % classes.
Dataset indexed(std::size_t n, int classes) {
  Dataset d;
  d.name = "idx";
  d.num_classes = classes;
  d.x.resize(1, static_cast<Eigen::Index>(n));
  for (std::size_t j = 0; j < n; ++j) {
    d.x(0, static_cast<Eigen::Index>(j)) = static_cast<float>(j);
    d.y.push_back(static_cast<int>(j % static_cast<std::size_t>(classes)));
  }
  return d;
}

// Every index appears at most once across all clients; returns the union.
std::set<std::size_t> check_disjoint_sorted(const Partition& p) {
  std::set<std::size_t> all;
  std::size_t total = 0;
  for (const auto& c : p) {
    BOOST_TEST(std::is_sorted(c.begin(), c.end()));
    all.insert(c.begin(), c.end());
    total += c.size();
  }
  BOOST_TEST(all.size() == total);
  return all;
}

}  // namespace

BOOST_AUTO_TEST_CASE(subset_and_split_validation) {
  Dataset d = indexed(100, 3);
  Dataset s = fedgrid::data::subset(d, {5, 0, 99});
  BOOST_TEST(s.size() == 3u);
  BOOST_TEST(s.x(0, 0) == 5.0f);
  BOOST_TEST(s.x(0, 2) == 99.0f);
  BOOST_TEST(s.y == std::vector<int>({2, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(s.name == "idx");

  Dataset d2 = d;
  Dataset val = fedgrid::data::split_validation(d, 30, 11);
  Dataset val2 = fedgrid::data::split_validation(d2, 30, 11);
  BOOST_TEST(val.size() == 30u);
  BOOST_TEST(d.size() == 70u);
  BOOST_TEST((val.x == val2.x));  // seeded
  BOOST_TEST((d.x == d2.x));
  std::set<float> seen;
  for (Eigen::Index j = 0; j < 70; ++j) {
    seen.insert(d.x(0, j));
    BOOST_TEST(d.y[static_cast<std::size_t>(j)] == static_cast<int>(d.x(0, j)) % 3);  // y moved too
    if (j > 0) BOOST_TEST(d.x(0, j) > d.x(0, j - 1));  // original order kept
  }
  for (Eigen::Index j = 0; j < 30; ++j) seen.insert(val.x(0, j));
  BOOST_TEST(seen.size() == 100u);                 // disjoint and complete
  BOOST_TEST(val.x(0, 29) - val.x(0, 0) > 40.0f);  // not simply the first or last 30
  Dataset d3 = indexed(100, 3);
  BOOST_TEST((fedgrid::data::split_validation(d3, 30, 12).x != val.x));
  expect_input_error([&] { fedgrid::data::split_validation(d3, 70, 1); }, {"70"});
}

// keep_in_place (used instead of copies when loading) gives exactly subset's samples and refuses
// indices that are not strictly increasing or out of range.
BOOST_AUTO_TEST_CASE(keep_in_place_equals_subset) {
  const std::vector<std::size_t> keep = {0, 2, 3, 50, 98, 99};
  Dataset d = indexed(100, 3);
  const Dataset expected = fedgrid::data::subset(d, keep);
  fedgrid::data::keep_in_place(d, keep);
  BOOST_TEST(d.size() == keep.size());
  BOOST_TEST(d.x.cols() == Eigen::Index(keep.size()));
  BOOST_TEST((d.x == expected.x));
  BOOST_TEST(d.y == expected.y, boost::test_tools::per_element());
  Dataset all = indexed(10, 3);
  const Dataset before = all;
  fedgrid::data::keep_in_place(all, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // nothing moves
  BOOST_TEST((all.x == before.x));
  Dataset bad = indexed(10, 3);
  BOOST_CHECK_THROW(fedgrid::data::keep_in_place(bad, {3, 2}), std::invalid_argument);
  BOOST_CHECK_THROW(fedgrid::data::keep_in_place(bad, {1, 1}), std::invalid_argument);
  BOOST_CHECK_THROW(fedgrid::data::keep_in_place(bad, {10}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(iid_partition_equal_disjoint_sorted_deterministic) {
  Partition p = fedgrid::data::iid_partition(103, 10, 5);
  BOOST_TEST(p.size() == 10u);
  for (const auto& c : p) BOOST_TEST(c.size() == 10u);  // floor(103 / 10), 3 unused
  auto all = check_disjoint_sorted(p);
  BOOST_TEST(all.size() == 100u);
  BOOST_TEST(*all.rbegin() < 103u);
  BOOST_TEST((p == fedgrid::data::iid_partition(103, 10, 5)));
  BOOST_TEST((p != fedgrid::data::iid_partition(103, 10, 6)));
  BOOST_TEST((p[0] != std::vector<std::size_t>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9})));  // shuffled
  expect_input_error([] { fedgrid::data::iid_partition(5, 6, 1); },
                     {"at least as many samples (5) as clients (6)"});
  expect_input_error([] { fedgrid::data::iid_partition(5, 0, 1); }, {"clients", "found 0"});
}

namespace {

// Mean over clients of (largest class count / client size): 1/classes = perfectly mixed,
// 1 = every client holds a single class.
double mean_max_class_fraction(const Partition& p, const std::vector<int>& labels, int classes) {
  auto h = fedgrid::data::label_histogram(p, labels, classes);
  double sum = 0.0;
  for (std::size_t k = 0; k < h.size(); ++k) {
    const double top = static_cast<double>(*std::max_element(h[k].begin(), h[k].end()));
    sum += top / static_cast<double>(p[k].size());
  }
  return sum / static_cast<double>(h.size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(dirichlet_partition_properties_and_skew) {
  const std::vector<int> labels = indexed(5000, 10).y;  // 500 per class
  using fedgrid::data::dirichlet_partition;
  Partition p = dirichlet_partition(labels, 10, 10, 0.5, 3, 20);
  BOOST_TEST(p.size() == 10u);
  auto all = check_disjoint_sorted(p);
  BOOST_TEST(all.size() == 5000u);  // every sample is assigned exactly once
  for (const auto& c : p) BOOST_TEST(c.size() >= 20u);
  BOOST_TEST((p == dirichlet_partition(labels, 10, 10, 0.5, 3, 20)));
  BOOST_TEST((p != dirichlet_partition(labels, 10, 10, 0.5, 4, 20)));

  // Skew over 5 seeds, 20 clients: alpha = 0.1 concentrates each client on ~1-2 classes (mean
  // max-class fraction 0.63 here), alpha = 100 is nearly IID (0.12; the IID floor is 0.1).
  // Thresholds 0.5 / 0.2 leave > 5 standard errors of the 100-client means.
  double skew_small = 0.0, skew_large = 0.0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    skew_small +=
        mean_max_class_fraction(dirichlet_partition(labels, 10, 20, 0.1, seed), labels, 10);
    skew_large +=
        mean_max_class_fraction(dirichlet_partition(labels, 10, 20, 100, seed), labels, 10);
  }
  skew_small /= 5;
  skew_large /= 5;
  BOOST_TEST_MESSAGE("mean max-class fraction: alpha 0.1 -> " << skew_small << ", alpha 100 -> "
                                                              << skew_large);
  BOOST_TEST(skew_small > 0.5);
  BOOST_TEST(skew_large < 0.2);

  // Impossible requests.
  expect_input_error([&] { dirichlet_partition(labels, 10, 10, 0.0, 1); }, {"partition", "alpha"});
  expect_input_error([&] { dirichlet_partition(labels, 10, 0, 1.0, 1); }, {"partition", "clients"});
  expect_input_error([&] { dirichlet_partition(labels, 10, 10, 1.0, 1, 501); }, {"min_size"});
  expect_input_error(
      [&] {
        dirichlet_partition({0, 1, 1}, 2, 4, 1.0, 1);
      },
      {"partition: expected at least as many samples (3) as clients (4)"});
  expect_input_error([&] { dirichlet_partition({0, 1, 7}, 2, 2, 1.0, 1); }, {"found 7 at index 2"});
  // 20 samples, 10 clients, each needs exactly 2: alpha 0.01 cannot hit that in 100 draws.
  const std::vector<int> tiny = indexed(20, 2).y;
  expect_input_error([&] { dirichlet_partition(tiny, 2, 10, 0.01, 1, 2); }, {"100 draws"});
}

BOOST_AUTO_TEST_CASE(label_histogram_counts) {
  const std::vector<int> labels = {0, 1, 1, 2, 2, 2, 0};
  const Partition p = {{0, 1, 2}, {3, 4, 5, 6}, {}};
  auto h = fedgrid::data::label_histogram(p, labels, 3);
  BOOST_TEST(h.size() == 3u);
  BOOST_TEST(h[0] == std::vector<std::size_t>({1, 2, 0}), boost::test_tools::per_element());
  BOOST_TEST(h[1] == std::vector<std::size_t>({1, 0, 3}), boost::test_tools::per_element());
  BOOST_TEST(h[2] == std::vector<std::size_t>({0, 0, 0}), boost::test_tools::per_element());
  // On a real partition each row sums to the client's size.
  const std::vector<int> many = indexed(1000, 7).y;
  const Partition q = fedgrid::data::iid_partition(1000, 6, 9);
  auto hq = fedgrid::data::label_histogram(q, many, 7);
  std::size_t total = 0;
  for (std::size_t k = 0; k < q.size(); ++k) {
    const std::size_t row = std::accumulate(hq[k].begin(), hq[k].end(), std::size_t{0});
    BOOST_TEST(row == q[k].size());
    total += row;
  }
  BOOST_TEST(total == 6u * 166u);
  BOOST_CHECK_THROW(fedgrid::data::label_histogram({{7}}, labels, 3), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(mnist_from_fetch_script_if_present) {
  const std::string dir = std::string(FEDGRID_SOURCE_DIR) + "/data/mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) {
    BOOST_TEST_MESSAGE("skipped: " << dir << " absent (create it with scripts/fetch_mnist.sh)");
    return;
  }
  auto tt = fedgrid::data::read_idx_folder(dir, "mnist");
  // scripts/mnist_to_idx.js: 8,000 / 2,000 digits, stratified and interleaved 0, 1, ..., 9, 0.
  BOOST_TEST(tt.train.size() == 8000u);
  BOOST_TEST(tt.test.size() == 2000u);
  BOOST_TEST(tt.train.features() == 784);
  for (int i = 0; i < 10; ++i) BOOST_TEST(tt.train.y[static_cast<std::size_t>(i)] == i);
  BOOST_TEST(min_of(tt.train.x) == -1.0f);
  BOOST_TEST(max_of(tt.train.x) == 1.0f);
}
