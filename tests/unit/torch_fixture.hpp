// PyTorch reference fixtures (tests/fixtures/torch, written by scripts/make_torch_fixtures.py):
// the file reader, error measures and the small models the fixtures describe. Shared by the
// unit suites that compare against PyTorch (test_cnn, test_train).
#pragma once

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nn/model.hpp"
#include "nn/model_spec.hpp"

namespace fedgrid::test {

using nn::Matrix;
using nn::Vector;

inline const std::string kRoot = FEDGRID_SOURCE_DIR;

// ---- fixture files: `tensor NAME NDIM D0 ..\n` + prod(D) little-endian float32 ----
struct Tensor {
  std::vector<int> dims;
  std::vector<float> v;
  Matrix matrix(Eigen::Index rows) const {  // column-major rows x (size / rows)
    return Eigen::Map<const Matrix>(v.data(), rows, Eigen::Index(v.size()) / rows);
  }
};
using Fixture = std::map<std::string, Tensor>;

inline Fixture load_fixture(const std::string& name) {
  const std::string path = kRoot + "/tests/fixtures/torch/" + name + ".bin";
  std::ifstream in(path, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "missing fixture " << path);
  Fixture f;
  for (std::string line; std::getline(in, line);) {
    std::istringstream head(line);
    std::string word, tname;
    int ndim = 0;
    head >> word >> tname >> ndim;
    BOOST_TEST_REQUIRE(word == "tensor", path << ": bad header '" << line << "'");
    Tensor t;
    std::size_t n = 1;
    for (int i = 0; i < ndim; ++i) {
      int d = 0;
      head >> d;
      t.dims.push_back(d);
      n *= std::size_t(d);
    }
    t.v.resize(n);
    in.read(reinterpret_cast<char*>(t.v.data()), std::streamsize(n * sizeof(float)));
    BOOST_TEST_REQUIRE(in.good(), path << ": truncated tensor " << tname);
    f[tname] = std::move(t);
  }
  return f;
}

// max |a - r| / max(max |r|, 1e-5): the error relative to the reference tensor's scale; a
// reference that is ~0 throughout (a conv bias before BatchNorm has an exactly zero gradient)
// is compared in absolute terms (1e-4 x 1e-5).
inline double rel_error(const float* a, const std::vector<float>& ref, double min_scale = 1e-5) {
  double diff = 0, scale = min_scale;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(double(ref[i])));
  }
  return diff / scale;
}

inline void expect_close(const float* a, const Tensor& ref, const std::string& what) {
  const double e = rel_error(a, ref.v);
  BOOST_TEST(e <= 1e-4, what << ": relative error " << e);
}

// conv3x3 pad 1 (3->4), batchnorm, relu, maxpool 2, flatten, dense 10 on 3x8x8 (the fixture's
// small_bn_net); 8 x 8 input, `grouping` stages.
inline nn::ModelSpec small_bn_spec(nn::StageGrouping grouping) {
  nn::ModelSpec s;
  s.name = "small_bn_net";
  s.input_channels = 3;
  s.input_height = s.input_width = 8;
  s.input_size = 192;
  s.stages = grouping;
  nn::LayerSpec conv{"conv2d", 0, 1};
  conv.out_channels = 4;
  conv.kernel = 3;
  conv.padding = 1;
  nn::LayerSpec pool{"maxpool", 0, 4};
  pool.kernel = 2;
  pool.stride = 2;
  s.layers = {conv, {"batchnorm", 0, 2}, {"relu", 0, 3}, pool, {"flatten", 0, 5}, {"dense", 10, 6}};
  return s;
}

// Fills the flat vector of a model with `stages: tensor` from the fixture tensors of the same
// names (conv1.weight, bn1.running_mean, ...).
inline Vector params_from_fixture(const nn::Model& model, const Fixture& f) {
  Vector p(Eigen::Index(model.num_params()));
  std::size_t filled = 0;
  for (const auto& st : model.stages()) {
    const Tensor& t = f.at(st.name);
    BOOST_TEST_REQUIRE(t.v.size() == st.size, st.name);
    for (std::size_t i = 0; i < st.size; ++i) p[Eigen::Index(st.offset + i)] = t.v[i];
    filled += st.size;
  }
  BOOST_TEST_REQUIRE(filled == model.num_params());
  return p;
}

}  // namespace fedgrid::test
