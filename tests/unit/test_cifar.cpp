// CIFAR-10 binary reader on small files written here in the official format, image-model YAML
// loading (input shapes, conv/pool/batchnorm keys, file:line errors) and the data/model shape
// check of prepare_experiment.
#define BOOST_TEST_MODULE cifar
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "io/experiment.hpp"
#include "io/scenario.hpp"
#include "test_helpers.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using namespace fedgrid;

namespace {

const std::string kRoot = FEDGRID_SOURCE_DIR;

// A fresh temporary folder, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("fedgrid_test_cifar_" + std::to_string(getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Pixel byte of record `r` at (channel, row, col): a deterministic pattern.
uint8_t pixel(int r, int c, int row, int col) {
  return uint8_t((r * 37 + c * 85 + row * 7 + col) % 256);
}

// Writes `labels.size()` records: label byte, then the R, G, B planes (32x32, row-major).
void write_batch(const std::string& path, const std::vector<int>& labels, int first_record) {
  std::ofstream out(path, std::ios::binary);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out.put(char(labels[i]));
    for (int c = 0; c < 3; ++c) {
      for (int row = 0; row < 32; ++row) {
        for (int col = 0; col < 32; ++col) out.put(char(pixel(first_record + int(i), c, row, col)));
      }
    }
  }
}

// data_batch_1..5 with 3, 2, 1, 1, 1 records (labels 0..7) and test_batch with 2 (labels 9, 8).
void write_folder(const TempDir& d) {
  const std::vector<std::vector<int>> train = {{0, 1, 2}, {3, 4}, {5}, {6}, {7}};
  int record = 0;
  for (std::size_t b = 0; b < train.size(); ++b) {
    write_batch(d.file("data_batch_" + std::to_string(b + 1) + ".bin"), train[b], record);
    record += int(train[b].size());
  }
  write_batch(d.file("test_batch.bin"), {9, 8}, 100);
}

using fedgrid::test::contains;
std::string error_of(const std::function<void()>& f) { return fedgrid::test::input_error_of(f); }

}  // namespace

// Train = the five batches in order; pixels (v/255 - 0.5)/0.5 in C, H, W order per column.
BOOST_AUTO_TEST_CASE(reads_the_binary_format) {
  TempDir d;
  write_folder(d);
  const data::TrainTest tt = data::read_cifar10_folder(d.path.string());
  BOOST_TEST(tt.train.size() == 8u);
  BOOST_TEST(tt.test.size() == 2u);
  BOOST_TEST(tt.train.features() == 3072);
  BOOST_TEST(tt.train.channels == 3);
  BOOST_TEST(tt.train.height == 32);
  BOOST_TEST(tt.train.width == 32);
  BOOST_TEST(tt.train.num_classes == 10);
  BOOST_TEST(tt.train.name == "cifar10");
  for (int j = 0; j < 8; ++j) BOOST_TEST(tt.train.y[std::size_t(j)] == j);
  BOOST_TEST(tt.test.y[0] == 9);
  BOOST_TEST(tt.test.y[1] == 8);
  for (int j : {0, 4, 7}) {
    for (int c = 0; c < 3; ++c) {
      for (int row : {0, 13, 31}) {
        for (int col : {0, 5, 31}) {
          const double want = (pixel(j, c, row, col) / 255.0 - 0.5) / 0.5;
          BOOST_TEST(std::abs(tt.train.x(c * 1024 + row * 32 + col, j) - want) < 1e-6);
        }
      }
    }
  }
  BOOST_TEST(std::abs(tt.test.x(1024 + 32 + 1, 1) - ((pixel(101, 1, 1, 1) / 255.0 - 0.5) / 0.5)) <
             1e-6);
  BOOST_TEST(tt.train.x.minCoeff() >= -1.0f);
  BOOST_TEST(tt.train.x.maxCoeff() <= 1.0f);
  // Limits keep the first samples (across files) and read no further.
  const data::TrainTest small = data::read_cifar10_folder(d.path.string(), 4, 1);
  BOOST_TEST(small.train.size() == 4u);
  BOOST_TEST(small.test.size() == 1u);
  BOOST_TEST(small.train.y[3] == 3);
  BOOST_TEST((small.train.x.col(3).array() == tt.train.x.col(3).array()).all());
}

BOOST_AUTO_TEST_CASE(bad_files_name_the_file_and_the_problem) {
  TempDir d;
  write_folder(d);
  fs::remove(d.file("data_batch_3.bin"));
  std::string e = error_of([&] { data::read_cifar10_folder(d.path.string()); });
  BOOST_TEST(contains(e, d.file("data_batch_3.bin")), e);
  BOOST_TEST(contains(e, "no such file"), e);
  BOOST_TEST(contains(e, "cifar-10-binary.tar.gz"), e);
  BOOST_TEST(contains(e, "https://www.cs.toronto.edu/~kriz/cifar.html"), e);
  BOOST_TEST(contains(e, "test_batch.bin into " + d.path.string()), e);

  write_folder(d);
  fs::remove(d.file("test_batch.bin"));
  BOOST_TEST(contains(error_of([&] { data::read_cifar10_folder(d.path.string()); }),
                      d.file("test_batch.bin")));

  e = error_of([&] { data::read_cifar10_folder(d.file("nowhere")); });
  BOOST_TEST(contains(e, "nowhere"), e);
  BOOST_TEST(contains(e, "a folder with the CIFAR-10 binary files"), e);

  write_folder(d);
  { std::ofstream(d.file("data_batch_2.bin"), std::ios::app | std::ios::binary).put('x'); }
  e = error_of([&] { data::read_cifar10_folder(d.path.string()); });
  BOOST_TEST(contains(e, d.file("data_batch_2.bin")), e);
  BOOST_TEST(contains(e, "multiple of 3073 bytes"), e);
  BOOST_TEST(contains(e, "found 6147 bytes"), e);

  write_folder(d);
  write_batch(d.file("data_batch_4.bin"), {2, 10, 3}, 0);
  e = error_of([&] { data::read_cifar10_folder(d.path.string()); });
  BOOST_TEST(contains(e, d.file("data_batch_4.bin")), e);
  BOOST_TEST(contains(e, "labels in 0..9 (record 1, byte offset 3073)"), e);
  BOOST_TEST(contains(e, "found 10"), e);

  write_folder(d);
  { std::ofstream(d.file("data_batch_5.bin"), std::ios::trunc | std::ios::binary); }
  BOOST_TEST(
      contains(error_of([&] { data::read_cifar10_folder(d.path.string()); }), "found 0 bytes"));
}

namespace {
// Writes a model file and returns the loader's error ("" if it loaded).
std::string model_error(const TempDir& d, const std::string& text) {
  const std::string path = d.file("m.yaml");
  std::ofstream(path) << text;
  return error_of([&] { io::load_model_spec(path); });
}
}  // namespace

BOOST_AUTO_TEST_CASE(image_model_yaml) {
  const nn::ModelSpec cnn2 = io::load_model_spec(kRoot + "/models/cnn2.yaml");
  BOOST_TEST(cnn2.input_size == 784);
  BOOST_TEST(cnn2.input_channels == 1);
  BOOST_TEST(cnn2.input_height == 28);
  BOOST_TEST(cnn2.input_width == 28);
  BOOST_TEST(cnn2.layers.size() == 10u);
  BOOST_TEST(cnn2.layers[0].kind == "conv2d");
  BOOST_TEST(cnn2.layers[0].out_channels == 6);
  BOOST_TEST(cnn2.layers[0].kernel == 5);
  BOOST_TEST(cnn2.layers[0].stride == 1);
  BOOST_TEST(cnn2.layers[0].padding == 0);
  BOOST_TEST(cnn2.layers[2].kind == "maxpool");
  BOOST_TEST(cnn2.layers[2].stride == 2);  // default: the kernel
  const nn::ModelSpec vgg = io::load_model_spec(kRoot + "/models/vgg11.yaml");
  BOOST_TEST(vgg.layers[0].padding == 1);
  BOOST_TEST(vgg.layers[1].kind == "batchnorm");
  BOOST_TEST((vgg.stages == nn::StageGrouping::kBlock));

  TempDir d;
  const std::string head = "name: m\n";
  std::string e = model_error(d, head + "input: [3, 32]\nlayers:\n  - {kind: dense, units: 2}\n");
  BOOST_TEST(contains(e, "m.yaml:2: key 'input'"), e);
  BOOST_TEST(contains(e, "found a list of 2"), e);
  e = model_error(d, head + "input: [3, 0, 32]\nlayers:\n  - {kind: dense, units: 2}\n");
  BOOST_TEST(contains(e, "m.yaml:2: key 'input'"), e);
  BOOST_TEST(contains(e, "'0' at position 1"), e);
  e = model_error(d, head +
                         "input: [1, 8, 8]\nlayers:\n  - {kind: flatten}\n"
                         "  - {kind: conv2d, out_channels: 2}\n");
  BOOST_TEST(contains(e, "m.yaml:5: key 'layers[1].kernel': expected a value"), e);
  e = model_error(d, head +
                         "input: [1, 8, 8]\nlayers:\n  - {kind: maxpool, kernel: 2, "
                         "padding: 1}\n");
  BOOST_TEST(contains(e, "m.yaml:4: key 'layers[0].padding'"), e);
  BOOST_TEST(contains(e, "no 'padding' for a maxpool layer (it takes: kernel, stride)"), e);
  e = model_error(d, head + "input: [1, 8, 8]\nlayers:\n  - {kind: flatten, units: 3}\n");
  BOOST_TEST(contains(e, "key 'layers[0].units'"), e);
  BOOST_TEST(contains(e, "(it takes no options)"), e);
  e = model_error(d, head +
                         "input: [1, 8, 8]\nlayers:\n  - {kind: conv2d, out_channels: 2, "
                         "kernel: 3, stride: 0}\n");
  BOOST_TEST(contains(e, "key 'layers[0].stride': expected an integer in [1, 100000], found 0"), e);
  e = model_error(d, head + "input: 8\nstages: blocks\nlayers:\n  - {kind: dense, units: 2}\n");
  BOOST_TEST(contains(e, "m.yaml:3: key 'stages': expected one of tensor | layer | block"), e);
  e = model_error(d, head + "input: [1, 8, 8]\nlayers:\n  - {kind: batchnorm, kernel: 1}\n");
  BOOST_TEST(contains(e, "no 'kernel' for a batchnorm layer"), e);
}

namespace {
std::string scenario_text(const std::string& data_dir, const std::string& model) {
  return "seed: 1\nclients: 2\ndata: {dataset: cifar10, path: " + data_dir + "}\nmodel: " + model +
         "\nplatform:\n  generate:\n    speed: {dist: constant, value: 100}\n"
         "    bandwidth: {dist: constant, value: 1.0e9}\n    latency: {dist: constant, value: 0}\n"
         "algorithm: {name: fedavg, rounds: 1}\ntraining: {lr: 0.1, batch: 2}\n";
}
}  // namespace

// prepare_experiment: a [3, 32, 32] model on CIFAR files works; [1, 28, 28] is rejected naming
// the model file and both shapes; a missing folder is a data.path error with the download hint.
BOOST_AUTO_TEST_CASE(experiment_checks_the_image_shape) {
  TempDir d;
  write_folder(d);
  const std::string scen = d.file("s.yaml");
  std::ofstream(scen) << scenario_text(d.path.string(), kRoot + "/models/cnn2-cifar.yaml");
  const io::Experiment e = io::prepare_experiment(io::load_scenario(scen));
  BOOST_TEST(e.train.size() == 8u);
  BOOST_TEST(e.shards.size() == 2u);
  BOOST_TEST(e.model.num_params() == 9422u);

  std::ofstream(scen) << scenario_text(d.path.string(), kRoot + "/models/cnn2.yaml");
  std::string err = error_of([&] { io::prepare_experiment(io::load_scenario(scen)); });
  BOOST_TEST(contains(err, "cnn2.yaml:6: key 'input'"), err);
  BOOST_TEST(contains(err, "expected [3, 32, 32] (the image shape of cifar10 samples)"), err);
  BOOST_TEST(contains(err, "found [1, 28, 28]"), err);

  std::ofstream(scen) << scenario_text(d.file("absent"), kRoot + "/models/cnn2-cifar.yaml");
  err = error_of([&] { io::load_scenario(scen); });
  BOOST_TEST(contains(err, "key 'data.path'"), err);
  BOOST_TEST(contains(err, "CIFAR-10 binary files"), err);
}
