// Datasets in memory (column-per-sample float features, int labels), readers, splits, partitions.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

namespace fedgrid::data {

struct Dataset {
  std::string name;
  Eigen::MatrixXf x;   // features x samples, normalised ((v/255 - 0.5) / 0.5 for images)
  std::vector<int> y;  // labels in [0, num_classes)
  int channels = 1, height = 0, width = 0;  // image shape (features = c*h*w); 0 for tabular
  int num_classes = 0;
  std::size_t size() const { return y.size(); }
  int features() const { return static_cast<int>(x.rows()); }
};

// Reads an IDX image file (magic 0x00000803, u8 pixels) and label file (0x00000801); gzipped or
// not (detected from the content). Pixels are normalised to (v/255 - 0.5)/0.5. Throws
// util::InputError naming the file and what is wrong (magic, sizes, truncation, label range,
// count mismatch between the two files). max_samples > 0 keeps only the first max_samples.
Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int num_classes = 10, std::size_t max_samples = 0);

// The four standard files of an MNIST-like folder: {train,t10k}-{images-idx3,labels-idx1}-ubyte
// with or without .gz. Throws util::InputError telling which file is missing and where.
struct TrainTest {
  Dataset train;
  Dataset test;
};
TrainTest read_idx_folder(const std::string& dir, const std::string& dataset_name);

// CIFAR-10, binary version: dir/data_batch_{1..5}.bin (train, in that order) and
// dir/test_batch.bin, each a sequence of 3073-byte records (label byte 0..9, then 3072 pixels:
// R, G, B planes of 32x32 row-major = one C, H, W column). Pixels are normalised to
// (v/255 - 0.5)/0.5 (every channel); the datasets are 3x32x32, 10 classes, named "cifar10".
// max_train / max_test > 0 keep only the first samples (files are read no further). Throws
// util::InputError naming the missing file (and where to get it), a size that is not a multiple
// of 3073 bytes, or a label outside 0..9 (with its record).
TrainTest read_cifar10_folder(const std::string& dir, std::size_t max_train = 0,
                              std::size_t max_test = 0);

// A seeded synthetic classification set: `classes` Gaussian clusters in `features` dimensions
// (class means drawn N(0, separation^2), unit noise), so small models learn it quickly.
struct SyntheticSpec {
  std::size_t train = 2000;
  std::size_t test = 500;
  int features = 20;
  int classes = 4;
  double separation = 2.0;
};
TrainTest make_synthetic(const SyntheticSpec& spec, uint64_t seed);

// Samples `indices` of `src` into a new dataset (same shape, name and classes).
Dataset subset(const Dataset& src, const std::vector<std::size_t>& indices);

// Keeps the samples `ascending` (strictly increasing indices) of `d`, in that order, without a
// second copy of the data (columns move forward in place). Throws std::invalid_argument otherwise.
void keep_in_place(Dataset& d, const std::vector<std::size_t>& ascending);

// Randomly moves `n` samples of `train` into a validation set (seeded); train keeps the rest in
// its original order. Throws util::InputError if n >= train.size().
Dataset split_validation(Dataset& train, std::size_t n, uint64_t seed);

// Client shards: indices into the training set, one vector per client, each sorted ascending.
using Partition = std::vector<std::vector<std::size_t>>;

// Random permutation cut into `clients` equal shards of floor(n/clients) (the rest unused).
Partition iid_partition(std::size_t n, int clients, uint64_t seed);

// Label skew: for each class, Dirichlet(alpha * 1) proportions over clients split that class's
// indices. Redraws (up to 100 times, seeded) until every client has >= min_size samples; throws
// util::InputError if that is impossible.
Partition dirichlet_partition(const std::vector<int>& labels, int num_classes, int clients,
                              double alpha, uint64_t seed, std::size_t min_size = 1);

// Per-client label histogram (clients x classes).
std::vector<std::vector<std::size_t>> label_histogram(const Partition& p,
                                                      const std::vector<int>& labels,
                                                      int num_classes);

}  // namespace fedgrid::data
