// Unit tests of the convolutional layers and models: PyTorch fixtures (tests/fixtures/torch, made
// by scripts/make_torch_fixtures.py), hand-computed conv/maxpool/batchnorm values, finite-
// difference gradient checks, stage tables, partial backprop, statistics and allocation-free reuse.
#define BOOST_TEST_MODULE cnn
#include <array>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/gemm.hpp"
#include "nn/gradcheck.hpp"
#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "test_helpers.hpp"
#include "torch_fixture.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

using namespace fedgrid;
using namespace fedgrid::test;
using nn::Matrix;
using nn::MatrixD;
using nn::Shape;
using nn::Vector;

#include "malloc_counter.hpp"  // defines malloc for this test executable

namespace {

// Runs a layer on a fixture: forward (training mode) and backward with dL/dout = grad_output;
// params = weight, bias (, running_mean, running_var) in the flat order of the layer.
void check_layer_fixture(const nn::Layer& layer, const std::string& name) {
  BOOST_TEST_CONTEXT(name) {
    const Fixture f = load_fixture(name);
    Vector params(Eigen::Index(layer.num_params()));
    std::size_t off = 0;
    for (const char* p : {"weight", "bias", "running_mean", "running_var"}) {
      if (!f.count(p) || off >= layer.num_params()) continue;
      for (float v : f.at(p).v) params[Eigen::Index(off++)] = v;
    }
    BOOST_TEST_REQUIRE(off == layer.num_params());
    const Matrix x = f.at("input").matrix(layer.in_size());
    const Matrix dy = f.at("grad_output").matrix(layer.out_size());
    Matrix out(layer.out_size(), x.cols()), din(layer.in_size(), x.cols());
    nn::LayerScratch own;
    nn::SharedScratch shared;
    const nn::LayerContext ctx{true, &own, &shared};
    layer.forward(params.data(), x, out, ctx);
    expect_close(out.data(), f.at("output"), "output");
    Vector grad = Vector::Zero(params.size());
    layer.backward(params.data(), x, out, dy, {true, true, true}, grad.data(), din, ctx);
    expect_close(din.data(), f.at("grad_input"), "grad_input");
    if (f.count("grad_weight")) expect_close(grad.data(), f.at("grad_weight"), "grad_weight");
    if (f.count("grad_bias")) {
      const std::size_t b = f.at("weight").v.size();
      expect_close(grad.data() + b, f.at("grad_bias"), "grad_bias");
    }
  }
}

Matrix random_matrix(Eigen::Index rows, Eigen::Index cols, util::Rng& rng, double scale = 1.0) {
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(scale * rng.normal());
  return m;
}

std::vector<int> random_labels(std::size_t n, int classes, util::Rng& rng) {
  std::vector<int> y(n);
  for (int& v : y) v = int(rng.below(uint64_t(classes)));
  return y;
}

nn::ModelSpec load_model(const std::string& file) {
  return io::load_model_spec(kRoot + "/models/" + file);
}

}  // namespace

// ---- PyTorch fixtures (float64 reference), relative error <= 1e-4 ----

BOOST_AUTO_TEST_CASE(dense_relu_flatten_match_pytorch) {
  check_layer_fixture(nn::Dense(5, 4, 0), "dense");
  check_layer_fixture(nn::Relu(Shape{2, 3, 3}), "relu");
  check_layer_fixture(nn::Flatten(Shape{3, 2, 4}), "flatten");
}

// Config (c, h, w, o, k, stride, padding) as stored by the script.
BOOST_AUTO_TEST_CASE(conv2d_variants_match_pytorch) {
  for (const char* name : {"conv_k3_s1_p0", "conv_k3_s1_p1", "conv_k3_s2_p1", "conv_k5_s2_p2",
                           "conv_k2_s3_p0", "conv_k1_s1_p0"}) {
    const std::vector<float> c = load_fixture(name).at("config").v;
    const nn::Conv2d conv(Shape{int(c[0]), int(c[1]), int(c[2])}, int(c[3]), int(c[4]), int(c[5]),
                          int(c[6]), 0);
    check_layer_fixture(conv, name);
  }
}

BOOST_AUTO_TEST_CASE(maxpool_variants_match_pytorch) {
  for (const char* name : {"maxpool_k2_s2", "maxpool_k2_s2_odd", "maxpool_k3_s2"}) {
    const std::vector<float> c = load_fixture(name).at("config").v;
    check_layer_fixture(nn::MaxPool2d(Shape{int(c[0]), int(c[1]), int(c[2])}, int(c[3]), int(c[4])),
                        name);
  }
}

// Training mode: output and gradients, and the running statistics' pseudo-gradient old - new
// against PyTorch's updated running_mean / running_var (momentum 0.1, unbiased variance).
BOOST_AUTO_TEST_CASE(batchnorm_training_matches_pytorch) {
  for (const char* name : {"batchnorm_train_2d", "batchnorm_train_1d"}) {
    const Fixture f = load_fixture(name);
    const std::vector<float> c = f.at("config").v;
    const Shape shape = c.size() == 4 ? Shape{int(c[0]), int(c[1]), int(c[2])} : Shape{int(c[0])};
    const nn::BatchNorm bn(shape, 0);
    check_layer_fixture(bn, name);
    Vector params(Eigen::Index(bn.num_params()));
    const std::size_t C = bn.channels();
    for (std::size_t i = 0; i < C; ++i) {
      params[Eigen::Index(i)] = f.at("weight").v[i];
      params[Eigen::Index(C + i)] = f.at("bias").v[i];
      params[Eigen::Index(2 * C + i)] = f.at("running_mean").v[i];
      params[Eigen::Index(3 * C + i)] = f.at("running_var").v[i];
    }
    const Matrix x = f.at("input").matrix(bn.in_size());
    Matrix out(bn.out_size(), x.cols());
    nn::LayerScratch own;
    bn.forward(params.data(), x, out, {true, &own, nullptr});
    Vector grad = Vector::Zero(params.size());
    bn.statistics_update(params.data(), own, int(x.cols()), true, true, grad.data());
    for (std::size_t i = 0; i < C; ++i) {
      const double dm = f.at("running_mean").v[i] - f.at("running_mean_new").v[i];
      const double dv = f.at("running_var").v[i] - f.at("running_var_new").v[i];
      BOOST_TEST(std::abs(grad[Eigen::Index(2 * C + i)] - dm) <= 1e-5 * (1 + std::abs(dm)));
      BOOST_TEST(std::abs(grad[Eigen::Index(3 * C + i)] - dv) <= 1e-5 * (1 + std::abs(dv)));
    }
  }
}

// Evaluation mode normalises with the running statistics.
BOOST_AUTO_TEST_CASE(batchnorm_evaluation_matches_pytorch) {
  const Fixture f = load_fixture("batchnorm_eval_2d");
  const nn::BatchNorm bn(Shape{2, 4, 4}, 0);
  Vector params(8);
  for (int i = 0; i < 2; ++i) {
    params[i] = f.at("weight").v[i];
    params[2 + i] = f.at("bias").v[i];
    params[4 + i] = f.at("running_mean").v[i];
    params[6 + i] = f.at("running_var").v[i];
  }
  const Matrix x = f.at("input").matrix(32);
  Matrix out(32, x.cols());
  bn.forward(params.data(), x, out, {false, nullptr, nullptr});
  expect_close(out.data(), f.at("output"), "eval output");
  MatrixD outd;
  bn.forward(params.cast<double>().eval().data(), x.cast<double>(), outd, false);
  expect_close(Matrix(outd.cast<float>()).data(), f.at("output"), "double eval output");
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_matches_pytorch) {
  const Fixture f = load_fixture("softmax_xent");
  const Matrix z = f.at("logits").matrix(10);
  std::vector<int> y;
  for (float v : f.at("labels").v) y.push_back(int(v));
  Matrix dz;
  Eigen::RowVectorXf m, s;
  const double loss = nn::softmax_cross_entropy<float>(z, y.data(), dz, m, s, true);
  BOOST_TEST(std::abs(loss - f.at("loss").v[0]) <= 1e-4 * std::abs(f.at("loss").v[0]));
  expect_close(dz.data(), f.at("grad_logits"), "grad_logits");
}

// Whole models (training mode): loss, every parameter gradient, logits (no BatchNorm: the same
// in evaluation mode) and, with BatchNorm, the running statistics' pseudo-gradient.
BOOST_AUTO_TEST_CASE(whole_models_match_pytorch) {
  struct Case {
    const char* fixture;
    nn::ModelSpec spec;
  };
  const std::vector<Case> cases = {{"cnn2", load_model("cnn2.yaml")},
                                   {"cnn2_cifar", load_model("cnn2-cifar.yaml")},
                                   {"small_bn_net", small_bn_spec(nn::StageGrouping::kTensor)}};
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.fixture) {
      const Fixture f = load_fixture(c.fixture);
      const nn::Model model = nn::Model::build(c.spec);
      const Vector params = params_from_fixture(model, f);
      const Matrix x = f.at("input").matrix(model.input_size());
      std::vector<int> y;
      for (float v : f.at("labels").v) y.push_back(int(v));
      nn::Workspace ws;
      Vector grad;
      const double loss = model.loss_and_gradient(params, x, y, grad, 0, ws);
      const double want = f.at("loss").v[0];
      BOOST_TEST(std::abs(loss - want) <= 1e-4 * std::abs(want), loss << " vs " << want);
      // A layer's tensors share one scale: conv1.bias before BatchNorm has an exactly zero
      // gradient, computed in float as a cancelling sum (~1e-7 of conv1.weight's scale).
      std::map<std::string, float> layer_scale;
      for (const auto& [name, t] : f) {
        if (name.rfind("grad_", 0) != 0) continue;
        const std::string layer = name.substr(5, name.find('.') - 5);
        for (float v : t.v) layer_scale[layer] = std::max(layer_scale[layer], std::abs(v));
      }
      for (const auto& st : model.stages()) {
        const bool stat = st.statistics > 0;
        std::vector<float> ref = f.at(stat ? st.name : "grad_" + st.name).v;
        double scale = 1e-5;
        if (stat) {  // old - new
          const std::vector<float>& after = f.at(st.name + "_new").v;
          for (std::size_t i = 0; i < ref.size(); ++i) ref[i] -= after[i];
        } else {
          scale = layer_scale.at(st.name.substr(0, st.name.find('.')));
        }
        const double e = rel_error(grad.data() + st.offset, ref, scale);
        BOOST_TEST(e <= 1e-4, st.name << ": relative error " << e);
      }
      if (c.spec.layers[1].kind != "batchnorm") {
        Matrix logits;
        model.forward(params, x, logits, ws);
        expect_close(logits.data(), f.at("logits"), "logits");
      }
    }
  }
}

// ---- hand-computed values ----

// x[r][c] = 4r + c + 1 on 4x4, kernel diag(1, 2, 3), bias -1:
// stride 1, pad 0: y(i,j) = x[i][j] + 2 x[i+1][j+1] + 3 x[i+2][j+2] - 1 = (45, 51; 69, 75);
// stride 2, pad 1: windows with top-left (2i-1, 2j-1), zeros outside: (19, 29; 59, 75).
// Backward (stride 1) with dY = 1: db = 4, dW[a][b] = sum of the 2x2 block at (a, b) =
// 4 (4a + b + 1) + 10, dX[r][c] = sum of K[r-oh][c-ow] over the windows covering it, e.g.
// dX[0][0] = 1, dX[1][1] = 1 + 2, dX[2][2] = 2 + 3, dX[3][3] = 3, dX[0][3] = 0.
BOOST_AUTO_TEST_CASE(conv2d_by_hand) {
  Vector params(10);
  params << 1, 0, 0, 0, 2, 0, 0, 0, 3, -1;
  Matrix x(16, 1);
  for (int i = 0; i < 16; ++i) x(i, 0) = float(i + 1);
  nn::SharedScratch shared;
  const nn::LayerContext ctx{true, nullptr, &shared};
  const nn::Conv2d conv(Shape{1, 4, 4}, 1, 3, 1, 0, 0);
  Matrix y(4, 1);
  conv.forward(params.data(), x, y, ctx);
  BOOST_TEST((y.col(0).array() == Eigen::Array4f(45, 51, 69, 75)).all(), y.transpose());
  const nn::Conv2d strided(Shape{1, 4, 4}, 1, 3, 2, 1, 0);
  BOOST_TEST(strided.out_shape().h == 2);
  BOOST_TEST(strided.out_shape().w == 2);
  strided.forward(params.data(), x, y, ctx);
  BOOST_TEST((y.col(0).array() == Eigen::Array4f(19, 29, 59, 75)).all(), y.transpose());

  Vector grad = Vector::Zero(10);
  Matrix din(16, 1);
  conv.backward(params.data(), x, y, Matrix::Ones(4, 1), {true, true, true}, grad.data(), din, ctx);
  BOOST_TEST(grad[9] == 4.0f);
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) BOOST_TEST(grad[a * 3 + b] == 4.0f * (4 * a + b + 1) + 10);
  }
  BOOST_TEST(din(0, 0) == 1.0f);
  BOOST_TEST(din(5, 0) == 3.0f);
  BOOST_TEST(din(10, 0) == 5.0f);
  BOOST_TEST(din(15, 0) == 3.0f);
  BOOST_TEST(din(3, 0) == 0.0f);
  BOOST_TEST(din.sum() == 4.0f * 6);  // every output spreads sum(K) = 6
}

// 1x4x4, kernel 2 stride 2: maxima of the quadrants; a tie (7, 7) goes to the first in
// row-major order; backward routes dY to the argmax only.
BOOST_AUTO_TEST_CASE(maxpool_by_hand) {
  Matrix x(16, 1);
  x << 1, 5, 7, 7,   //
      3, 2, 0, 1,    //
      -1, -4, 9, 2,  //
      -2, -3, 8, 9;
  const nn::MaxPool2d pool(Shape{1, 4, 4}, 2, 2);
  Matrix y(4, 1), din(16, 1);
  const nn::LayerContext ctx{};
  pool.forward(nullptr, x, y, ctx);
  BOOST_TEST((y.col(0).array() == Eigen::Array4f(5, 7, -1, 9)).all(), y.transpose());
  Matrix dy(4, 1);
  dy << 10, 20, 30, 40;
  pool.backward(nullptr, x, y, dy, {false, false, true}, nullptr, din, ctx);
  Matrix want = Matrix::Zero(16, 1);
  want(1, 0) = 10;   // 5
  want(2, 0) = 20;   // first 7
  want(8, 0) = 30;   // -1
  want(10, 0) = 40;  // first 9
  BOOST_TEST((din.array() == want.array()).all(), din.transpose());
  // Overlapping windows (kernel 3, stride 1 on 1x3x4): the shared maximum collects both.
  Matrix x2(12, 1);
  x2 << 0, 1, 2, 0, 3, 9, 4, 5, 6, 7, 8, 1;
  const nn::MaxPool2d overlap(Shape{1, 3, 4}, 3, 1);
  Matrix y2(2, 1), d2(12, 1);
  overlap.forward(nullptr, x2, y2, ctx);
  BOOST_TEST(y2(0, 0) == 9.0f);
  BOOST_TEST(y2(1, 0) == 9.0f);
  overlap.backward(nullptr, x2, y2, Matrix::Ones(2, 1), {false, false, true}, nullptr, d2, ctx);
  BOOST_TEST(d2(5, 0) == 2.0f);
  BOOST_TEST(d2.sum() == 2.0f);
}

// One feature, batch (1, 2, 3, 4): mean 2.5, biased variance 1.25; gamma 2, beta 1:
// y = 2 (x - 2.5) / sqrt(1.25 + 1e-5) + 1. Running stats (0, 1) -> pseudo-gradient
// old - new = 0.1 (old - batch): mean 0.1 (0 - 2.5) = -0.25, var 0.1 (1 - 1.25 * 4/3).
// Eval mode with running mean 1, var 4: y = 2 (x - 1) / sqrt(4 + 1e-5) + 1.
BOOST_AUTO_TEST_CASE(batchnorm_by_hand) {
  const nn::BatchNorm bn(Shape{1}, 0);
  Vector params(4);
  params << 2, 1, 0, 1;
  Matrix x(1, 4);
  x << 1, 2, 3, 4;
  Matrix y(1, 4);
  nn::LayerScratch own;
  bn.forward(params.data(), x, y, {true, &own, nullptr});
  for (int j = 0; j < 4; ++j) {
    const double want = 2 * (j + 1 - 2.5) / std::sqrt(1.25 + 1e-5) + 1;
    BOOST_TEST(std::abs(y(0, j) - want) < 1e-6);
  }
  Vector grad = Vector::Zero(4);
  bn.statistics_update(params.data(), own, 4, true, true, grad.data());
  BOOST_TEST(std::abs(grad[2] - (-0.25)) < 1e-7);
  BOOST_TEST(std::abs(grad[3] - 0.1 * (1 - 1.25 * 4 / 3)) < 1e-7);
  // dL/dy = 1 everywhere: dbeta = 4, dgamma = sum xhat = 0, dx = 0 (a shift does nothing).
  Matrix din(1, 4);
  bn.backward(params.data(), x, y, Matrix::Ones(1, 4), {true, true, true}, grad.data(), din,
              {true, &own, nullptr});
  BOOST_TEST(grad[1] == 4.0f);
  BOOST_TEST(std::abs(grad[0]) < 1e-6);
  BOOST_TEST(din.cwiseAbs().maxCoeff() < 1e-6);
  params << 2, 1, 1, 4;
  bn.forward(params.data(), x, y, {false, nullptr, nullptr});
  for (int j = 0; j < 4; ++j) {
    BOOST_TEST(std::abs(y(0, j) - (2 * (j + 1 - 1) / std::sqrt(4 + 1e-5) + 1)) < 1e-6);
  }
  params[3] = -0.5f;  // a negative running variance (a bad aggregate) counts as 0: finite output
  bn.forward(params.data(), x, y, {false, nullptr, nullptr});
  BOOST_TEST(y.allFinite());
}

// ---- finite differences ----

namespace {

// Gradient of sum(R .* layer(X)) from backward() (float) against central differences of the
// double forward (training mode), w.r.t. the trained parameters and the input. Tolerance: max
// relative error (floor 1e-3) below `tol`.
void check_layer_gradient(const nn::Layer& layer, const Matrix& x, util::Rng& rng, double tol) {
  const Eigen::Index batch = x.cols();
  const Matrix r = random_matrix(layer.out_size(), batch, rng);
  Vector params = random_matrix(Eigen::Index(layer.num_params()), 1, rng, 0.5);
  if (layer.kind() == nn::LayerKind::kBatchNorm) {  // running variance must stay positive
    params.tail(Eigen::Index(layer.num_params() / 4)).array() += 2.0f;
  }
  Matrix out(layer.out_size(), batch), din(layer.in_size(), batch);
  nn::LayerScratch own;
  nn::SharedScratch shared;
  const nn::LayerContext ctx{true, &own, &shared};
  layer.forward(params.data(), x, out, ctx);
  Vector grad = Vector::Zero(params.size());
  layer.backward(params.data(), x, out, r, {true, true, true}, grad.data(), din, ctx);
  const MatrixD rd = r.cast<double>(), xd = x.cast<double>();
  const Eigen::VectorXd pd = params.cast<double>();
  const auto f_params = [&](const Eigen::VectorXd& p) {
    MatrixD y;
    layer.forward(p.data(), xd, y, true);
    return rd.cwiseProduct(y).sum();
  };
  const auto f_input = [&](const Eigen::VectorXd& xv) {
    MatrixD y;
    layer.forward(pd.data(), Eigen::Map<const MatrixD>(xv.data(), x.rows(), batch), y, true);
    return rd.cwiseProduct(y).sum();
  };
  std::vector<Eigen::Index> trained;
  for (const auto& t : layer.tensors()) {
    for (std::size_t k = 0; k < t.size && !t.statistic; ++k)
      trained.push_back(Eigen::Index(t.offset + k));
  }
  if (!trained.empty()) {
    const Eigen::VectorXd num = nn::central_differences(f_params, pd, trained, 1e-4);
    Eigen::VectorXd ana(num.size());
    for (std::size_t k = 0; k < trained.size(); ++k) ana[Eigen::Index(k)] = grad[trained[k]];
    const double e = nn::max_relative_error(ana, num, 1e-3);
    BOOST_TEST(e < tol, "parameters: max relative error " << e);
  }
  const Eigen::VectorXd xv = Eigen::Map<const MatrixD>(xd.data(), xd.size(), 1);
  std::vector<Eigen::Index> all(std::size_t(xv.size()));
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = Eigen::Index(i);
  const Eigen::VectorXd num_x = nn::central_differences(f_input, xv, all, 1e-4);
  const Eigen::VectorXd ana_x = Eigen::Map<const Matrix>(din.data(), din.size(), 1).cast<double>();
  const double e = nn::max_relative_error(ana_x, num_x, 1e-3);
  BOOST_TEST(e < tol, "input: max relative error " << e);
}

// Distinct values 0.05 apart in random order: no max-pool ties within the difference step.
Matrix distinct_matrix(Eigen::Index rows, Eigen::Index cols, util::Rng& rng) {
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = 0.05f * float(i) - 1.0123f;
  for (Eigen::Index i = m.size() - 1; i > 0; --i) {
    std::swap(m.data()[i], m.data()[Eigen::Index(rng.below(uint64_t(i + 1)))]);
  }
  return m;
}

}  // namespace

// Conv is linear in weights and input: differences exact up to rounding, tolerance 1e-3.
BOOST_AUTO_TEST_CASE(conv2d_gradient_matches_finite_differences) {
  util::Rng rng(21);
  struct C {
    Shape in;
    int o, k, s, p;
  };
  for (const C& c : {C{{2, 5, 5}, 3, 3, 1, 0}, C{{2, 5, 6}, 3, 3, 1, 1}, C{{3, 7, 6}, 2, 3, 2, 1},
                     C{{1, 6, 6}, 2, 4, 3, 2}, C{{3, 4, 4}, 2, 1, 1, 0}}) {
    BOOST_TEST_CONTEXT("conv " << c.in.c << "x" << c.in.h << "x" << c.in.w << " k" << c.k << " s"
                               << c.s << " p" << c.p) {
      const nn::Conv2d conv(c.in, c.o, c.k, c.s, c.p, 0);
      check_layer_gradient(conv, random_matrix(c.in.size(), 3, rng), rng, 1e-3);
    }
  }
}

BOOST_AUTO_TEST_CASE(maxpool_flatten_relu_gradients_match_finite_differences) {
  util::Rng rng(22);
  check_layer_gradient(nn::MaxPool2d(Shape{2, 6, 6}, 2, 2), distinct_matrix(72, 2, rng), rng, 1e-3);
  check_layer_gradient(nn::MaxPool2d(Shape{1, 7, 5}, 3, 2), distinct_matrix(35, 2, rng), rng, 1e-3);
  check_layer_gradient(nn::Flatten(Shape{2, 2, 3}), random_matrix(12, 3, rng), rng, 1e-4);
  check_layer_gradient(nn::Relu(Shape{2, 2, 2}), distinct_matrix(8, 4, rng), rng, 1e-4);
}

// BatchNorm in training mode is non-linear in its input (batch statistics): step 1e-4 on values
// of order 1 gives a truncation error ~1e-8, tolerance 1e-3.
BOOST_AUTO_TEST_CASE(batchnorm_gradient_matches_finite_differences) {
  util::Rng rng(23);
  check_layer_gradient(nn::BatchNorm(Shape{3, 2, 3}, 0), random_matrix(18, 4, rng), rng, 1e-3);
  check_layer_gradient(nn::BatchNorm(Shape{5}, 0), random_matrix(5, 6, rng), rng, 1e-3);
}

// Whole models (float analytic vs double differences of the loss): CNN2 with 30 sampled entries
// per stage, and the BatchNorm net in every stage grouping with every trained entry.
BOOST_AUTO_TEST_CASE(cnn_model_gradients_match_finite_differences) {
  util::Rng rng(24);
  const nn::Model cnn2 = nn::Model::build(load_model("cnn2.yaml"));
  Vector params;
  cnn2.init_params(params, 3);
  nn::GradCheckOptions opts;
  opts.per_stage = 30;
  opts.eps = 1e-6;  // the loss is in double: a small step keeps ReLU/max kinks out of reach
  const nn::GradCheckResult r = nn::check_model_gradient(cnn2, params, random_matrix(784, 3, rng),
                                                         random_labels(3, 10, rng), opts);
  BOOST_TEST_MESSAGE("cnn2: max rel error " << r.max_rel_error << ", abs " << r.max_abs_error);
  BOOST_TEST(r.max_rel_error < 1e-3,
             "max rel error " << r.max_rel_error << " at " << r.worst_index);
  for (auto g :
       {nn::StageGrouping::kTensor, nn::StageGrouping::kLayer, nn::StageGrouping::kBlock}) {
    const nn::Model bn = nn::Model::build(small_bn_spec(g));
    bn.init_params(params, 4);
    opts.per_stage = 0;
    const nn::GradCheckResult rb = nn::check_model_gradient(bn, params, random_matrix(192, 5, rng),
                                                            random_labels(5, 10, rng), opts);
    BOOST_TEST(rb.checked == bn.num_params() - 8);  // all but 2 x 4 running statistics
    BOOST_TEST_MESSAGE("small_bn_net: max rel error " << rb.max_rel_error << " at "
                                                      << rb.worst_index);
    BOOST_TEST(rb.max_rel_error < 1e-3, "max rel error " << rb.max_rel_error);
  }
}

// ---- models: stage tables, FLOPs, partial backprop, statistics in SGD ----

// CNN2 on 1x28x28 (spec 6.2): 6,422 parameters, 8 tensor stages. Backward FLOPs per sample (the
// convention of Model::stage_flops): conv1: P = 576, K = 25, O = 6; conv2: P = 64, K = 150;
//   conv1.weight 2*25*6*576 = 172800 (no input delta), conv1.bias 6*576 + relu1 3456 + pool1
//   4*864 = 10368, conv2.weight 2 * 2*150*6*64 = 230400, conv2.bias 384 + relu 384 + pool 384 =
//   1152, fc1.weight 2 * 2*96*50 = 19200, fc1.bias 50 + relu 50, fc2.weight 2 * 2*50*10,
//   fc2.bias 10.
// Forward: conv 176256 + 115584, relu 3456 + 384 + 50, pool 3456 + 384, fc 9650 + 1010.
BOOST_AUTO_TEST_CASE(cnn2_stage_table_and_flops) {
  const nn::Model m = nn::Model::build(load_model("cnn2.yaml"));
  BOOST_TEST(m.num_params() == 6422u);
  BOOST_TEST(m.input_size() == 784);
  BOOST_TEST(m.input_channels() == 1);
  BOOST_TEST(m.num_classes() == 10);
  BOOST_TEST(m.forward_flops() == 176256.0 + 115584 + 3456 + 384 + 50 + 3456 + 384 + 9650 + 1010);
  const std::vector<std::string> names = {"conv1.weight", "conv1.bias", "conv2.weight",
                                          "conv2.bias",   "fc1.weight", "fc1.bias",
                                          "fc2.weight",   "fc2.bias"};
  const std::vector<std::size_t> sizes = {150, 6, 900, 6, 4800, 50, 500, 10};
  const std::vector<double> flops = {172800, 10368, 230400, 1152, 19200, 100, 2000, 10};
  BOOST_TEST_REQUIRE(m.num_stages() == 8);
  std::size_t offset = 0;
  for (std::size_t s = 0; s < 8; ++s) {
    BOOST_TEST(m.stages()[s].name == names[s]);
    BOOST_TEST(m.stages()[s].size == sizes[s]);
    BOOST_TEST(m.stages()[s].offset == offset);
    BOOST_TEST(m.stages()[s].backward_flops == flops[s], names[s]);
    BOOST_TEST(m.stages()[s].statistics == 0u);
    offset += sizes[s];
  }
  nn::ModelSpec by_layer = load_model("cnn2.yaml");
  by_layer.stages = nn::StageGrouping::kLayer;
  const nn::Model l = nn::Model::build(by_layer);
  BOOST_TEST_REQUIRE(l.num_stages() == 4);
  BOOST_TEST(l.stages()[1].name == "conv2");
  BOOST_TEST(l.stages()[1].size == 906u);
  BOOST_TEST(l.stages()[1].backward_flops == 230400.0 + 1152);
  const nn::Model cifar = nn::Model::build(load_model("cnn2-cifar.yaml"));
  BOOST_TEST(cifar.num_params() == 9422u);
  BOOST_TEST(cifar.stages()[4].size == 7500u);  // fc1: 150 -> 50
}

// VGG11/13 (kuangliu): trained parameters as PyTorch counts them plus 2 x channels running
// statistics per BatchNorm; L per grouping (block: conv+BN blocks + classifier).
BOOST_AUTO_TEST_CASE(vgg_stage_counts_and_parameters) {
  struct C {
    const char* file;
    std::size_t trained, stats;
    int blocks;
  };
  for (const C& c : {C{"vgg11.yaml", 9231114, 5504, 8}, C{"vgg13.yaml", 9416010, 5888, 10}}) {
    BOOST_TEST_CONTEXT(c.file) {
      nn::ModelSpec spec = load_model(c.file);
      BOOST_TEST((spec.stages == nn::StageGrouping::kBlock));
      const nn::Model block = nn::Model::build(spec);
      BOOST_TEST(block.num_params() == c.trained + c.stats);
      BOOST_TEST(block.num_stages() == c.blocks + 1);
      BOOST_TEST(block.stages()[0].name == "conv1+bn1");
      BOOST_TEST(block.stages()[0].size == 3u * 64 * 9 + 64 + 4 * 64);
      BOOST_TEST(block.stages()[0].statistics == 128u);
      BOOST_TEST(block.stages().back().name == "fc1");
      std::size_t stats = 0;
      for (const auto& st : block.stages()) stats += st.statistics;
      BOOST_TEST(stats == c.stats);
      spec.stages = nn::StageGrouping::kTensor;
      const nn::Model tensor = nn::Model::build(spec);
      BOOST_TEST(tensor.num_stages() == 6 * c.blocks + 2);
      BOOST_TEST(tensor.stages()[4].name == "bn1.running_mean");
      BOOST_TEST(tensor.stages()[4].statistics == 64u);
      spec.stages = nn::StageGrouping::kLayer;
      const nn::Model layer = nn::Model::build(spec);
      BOOST_TEST(layer.num_stages() == 2 * c.blocks + 1);
      BOOST_TEST(layer.stages()[1].name == "bn1");
      BOOST_TEST(layer.stages()[1].statistics == 128u);
      // The classifier stage is charged its gradient and input delta: 2 * 2 * 512 * 10 + 10.
      BOOST_TEST(block.stages().back().backward_flops == 20480.0 + 10);
    }
  }
}

// Explicit stage maps (stage_map): the ADEL-FL authors' VGG11 with L = 11 (the 8 blocks, 2 stages
// without parameters, the classifier); on the small BatchNorm net, a map with empty stages gives
// for every first_stage exactly the gradient of the grouping it regroups; bad maps are refused
// with the model file named.
BOOST_AUTO_TEST_CASE(stage_maps_regroup_stages) {
  const nn::ModelSpec paper = load_model("vgg11-paper.yaml");
  const nn::Model m = nn::Model::build(paper);
  const nn::Model block = nn::Model::build(load_model("vgg11.yaml"));
  BOOST_TEST_REQUIRE(m.num_stages() == 11);
  BOOST_TEST(m.num_params() == block.num_params());
  for (int s = 0; s < 8; ++s) {
    BOOST_TEST(m.stages()[s].name == block.stages()[s].name);
    BOOST_TEST(m.stages()[s].size == block.stages()[s].size);
    BOOST_TEST(m.stages()[s].statistics == block.stages()[s].statistics);
  }
  for (int s : {8, 9}) {
    BOOST_TEST(m.stages()[s].size == 0u);
    BOOST_TEST(m.stages()[s].offset == block.stages()[8].offset);
    BOOST_TEST(m.stages()[s].backward_flops == 0.0);
  }
  BOOST_TEST(m.stages()[10].name == "fc1");
  BOOST_TEST(m.stages()[10].backward_flops == block.stages()[8].backward_flops);

  // conv1+bn1 | (empty) | (empty) | fc1 against conv1+bn1 | fc1: first_stage 1..3 of the map
  // is first_stage 1 of the grouping.
  nn::ModelSpec spec = small_bn_spec(nn::StageGrouping::kBlock);
  const nn::Model two = nn::Model::build(spec);
  spec.stage_map = {1, 0, 0, 1};
  const nn::Model four = nn::Model::build(spec);
  BOOST_TEST_REQUIRE(four.num_stages() == 4);
  BOOST_TEST(four.stages()[0].statistics == two.stages()[0].statistics);
  util::Rng rng(31);
  const Matrix x = random_matrix(192, 5, rng);
  const auto y = random_labels(5, 10, rng);
  Vector params, a, b;
  two.init_params(params, 12);
  nn::Workspace ws;
  const int grouping_first[5] = {0, 1, 1, 1, 2};
  for (int k = 0; k <= 4; ++k) {
    four.loss_and_gradient(params, x, y, a, k, ws);
    two.loss_and_gradient(params, x, y, b, grouping_first[k], ws);
    BOOST_TEST((a.array() == b.array()).all(), "first_stage " << k);
  }
  // By tensor: the BatchNorm's two running-statistics tensors may share a stage (statistics
  // stay trailing), a trained tensor after them may not.
  spec.stages = nn::StageGrouping::kTensor;
  spec.stage_map = {2, 2, 2, 2};
  const nn::Model t = nn::Model::build(spec);
  BOOST_TEST(t.stages()[2].name == "bn1.running_mean+bn1.running_var");
  BOOST_TEST(t.stages()[2].statistics == t.stages()[2].size);
  spec.file = "m.yaml";
  spec.stage_map_line = 7;
  for (const std::vector<int>& bad : {std::vector<int>{2, 2, 2}, std::vector<int>{5, 3}}) {
    spec.stage_map = bad;
    try {
      (void)nn::Model::build(spec);
      BOOST_FAIL("stage map accepted");
    } catch (const util::InputError& e) {
      BOOST_TEST(std::string(e.what()).find("m.yaml:7: key 'stage_map'") != std::string::npos,
                 e.what());
    }
  }
}

// first_stage = k: stages >= k bit-identical to the full gradient, earlier ones exactly zero,
// and only the layers down to the one owning stage k are back-propagated (CNN2 by tensor:
// 10 layers conv1 relu pool conv2 relu pool flatten fc1 relu fc2).
BOOST_AUTO_TEST_CASE(partial_backprop_keeps_a_suffix_on_cnns) {
  util::Rng rng(25);
  const Matrix x = random_matrix(192, 6, rng);
  const auto y = random_labels(6, 10, rng);
  for (auto g :
       {nn::StageGrouping::kTensor, nn::StageGrouping::kLayer, nn::StageGrouping::kBlock}) {
    const nn::Model model = nn::Model::build(small_bn_spec(g));
    Vector params, full, part;
    model.init_params(params, 9);
    params.tail(10).setConstant(0.1f);  // fc1.bias: nonzero gradients everywhere
    nn::Workspace ws;
    const double loss = model.loss_and_gradient(params, x, y, full, 0, ws);
    for (int k = 0; k <= model.num_stages(); ++k) {
      BOOST_TEST(model.loss_and_gradient(params, x, y, part, k, ws) == loss);
      for (int s = 0; s < model.num_stages(); ++s) {
        const auto& st = model.stages()[std::size_t(s)];
        const auto seg = part.segment(Eigen::Index(st.offset), Eigen::Index(st.size));
        if (s >= k) {
          BOOST_TEST(
              (seg.array() == full.segment(Eigen::Index(st.offset), seg.size()).array()).all());
          BOOST_TEST((seg.array() != 0.0f).any(), "stage " << st.name << " all zero");
        } else {
          BOOST_TEST((seg.array() == 0.0f).all(), "stage " << st.name << " with k = " << k);
        }
      }
    }
  }
  const nn::Model cnn2 = nn::Model::build(load_model("cnn2.yaml"));
  Vector params, grad;
  cnn2.init_params(params, 10);
  const Matrix xm = random_matrix(784, 4, rng);
  const auto ym = random_labels(4, 10, rng);
  nn::Workspace ws;
  const std::vector<int> layers = {10, 10, 7, 7, 3, 3, 1, 1, 0};  // per first_stage 0..8
  for (int k = 0; k <= 8; ++k) {
    cnn2.loss_and_gradient(params, xm, ym, grad, k, ws);
    BOOST_TEST(ws.backward_layers == layers[std::size_t(k)], "first_stage " << k);
  }
}

// Stage "s" = 2 trained entries + 1 statistic: v = mu v + g and w -= lr v on the trained part,
// w -= g on the statistic (no lr, no momentum; its velocity stays 0).
BOOST_AUTO_TEST_CASE(sgd_applies_statistics_without_lr_or_momentum) {
  std::vector<nn::Stage> stages = {{"s", 0, 3, 0, 1}, {"t", 3, 2, 0, 2}};
  nn::Sgd sgd(5, 0.5f);
  Vector w(5), g(5);
  w << 1, 2, 10, 4, 5;
  g << 1, -2, 3, -1, 0.5;
  sgd.step(w, g, 0.1f, stages, {1, 1});
  sgd.step(w, g, 0.1f, stages, {1, 1});
  // trained: v1 = g, v2 = 1.5 g; w = w0 - 0.1 * 2.5 g; statistics: w = w0 - 2 g.
  BOOST_TEST(std::abs(w[0] - (1 - 0.25f)) < 1e-6f);
  BOOST_TEST(std::abs(w[1] - (2 + 0.5f)) < 1e-6f);
  BOOST_TEST(w[2] == 10 - 6.0f);
  BOOST_TEST(w[3] == 4 + 2.0f);
  BOOST_TEST(w[4] == 5 - 1.0f);
  BOOST_TEST(sgd.velocity()[2] == 0.0f);
  BOOST_TEST(sgd.velocity()[4] == 0.0f);
}

// The statistics' pseudo-gradient makes aggregation a mean of new values: two "clients" with
// batches of different means; params - mean(old - new_u) = mean(new_u) for the running mean.
BOOST_AUTO_TEST_CASE(running_statistics_average_like_weights) {
  const nn::Model model = nn::Model::build(small_bn_spec(nn::StageGrouping::kTensor));
  Vector params, g1, g2;
  model.init_params(params, 11);
  util::Rng rng(26);
  Matrix x1 = random_matrix(192, 8, rng), x2 = random_matrix(192, 8, rng);
  x2.array() += 3.0f;
  const auto y = random_labels(8, 10, rng);
  nn::Workspace ws;
  model.loss_and_gradient(params, x1, y, g1, 0, ws);
  model.loss_and_gradient(params, x2, y, g2, 0, ws);
  const auto& mean_stage = model.stages()[4];  // bn1.running_mean
  BOOST_TEST_REQUIRE(mean_stage.name == "bn1.running_mean");
  const auto off = Eigen::Index(mean_stage.offset);
  const Vector new1 = params.segment(off, 4) - g1.segment(off, 4);
  const Vector new2 = params.segment(off, 4) - g2.segment(off, 4);
  nn::Sgd sgd(model.num_params(), 0.9f);
  const Vector avg = (g1 + g2) / 2;
  sgd.step(params, avg, 0.05f, model.stages(),
           std::vector<char>(std::size_t(model.num_stages()), 1));
  BOOST_TEST(((params.segment(off, 4) - (new1 + new2) / 2).cwiseAbs().array() < 1e-6f).all());
  // Client 2's batch is shifted by +3, so its conv outputs and new running means differ.
  BOOST_TEST((new1 - new2).cwiseAbs().maxCoeff() > 1e-3f);
}

// ---- specs, training, allocation ----

using fedgrid::test::build_error;
using fedgrid::test::contains;

// small_bn_spec numbers its layers from line 1; spec.file is empty, so messages name the model.
BOOST_AUTO_TEST_CASE(build_rejects_invalid_cnn_specs) {
  nn::ModelSpec s = small_bn_spec(nn::StageGrouping::kTensor);
  s.layers.erase(s.layers.begin() + 4);  // no flatten before dense
  std::string e = build_error(s);
  BOOST_TEST(contains(e, "small_bn_net:6: key 'layers[4].kind'"), e);
  BOOST_TEST(contains(e, "add a flatten layer"), e);
  BOOST_TEST(contains(e, "4x4x4"), e);

  s = small_bn_spec(nn::StageGrouping::kTensor);
  s.layers[0].kernel = 11;  // 8 + 2 * 1 = 10 < 11
  e = build_error(s);
  BOOST_TEST(contains(e, "small_bn_net:1: key 'layers[0].kernel'"), e);
  BOOST_TEST(contains(e, "found 11"), e);

  s = small_bn_spec(nn::StageGrouping::kTensor);
  s.input_channels = s.input_height = s.input_width = 0;  // flat input: no conv
  e = build_error(s);
  BOOST_TEST(contains(e, "key 'layers[0].kind'"), e);
  BOOST_TEST(contains(e, "a flat input of 192 features"), e);

  s = small_bn_spec(nn::StageGrouping::kTensor);
  s.input_size = 100;  // 3 x 8 x 8 = 192
  e = build_error(s);
  BOOST_TEST(contains(e, "key 'input'"), e);
  BOOST_TEST(contains(e, "[3, 8, 8]"), e);

  s = small_bn_spec(nn::StageGrouping::kTensor);
  s.layers[0].out_channels = 0;
  BOOST_TEST(contains(build_error(s), "layers[0].out_channels"));
  s = small_bn_spec(nn::StageGrouping::kTensor);
  s.layers[3].kernel = 0;
  BOOST_TEST(contains(build_error(s), "layers[3].kernel"));
  s = small_bn_spec(nn::StageGrouping::kTensor);
  s.layers[3].kind = "avgpool";
  BOOST_TEST(contains(build_error(s), "one of: dense, relu, conv2d, maxpool, flatten, batchnorm"));
  s = small_bn_spec(nn::StageGrouping::kTensor);
  s.layers.insert(s.layers.begin() + 5, s.layers[0]);  // conv after flatten
  BOOST_TEST(contains(build_error(s), "before any flatten or dense layer"));
}

// A 4-class image task (class c: a bright 2x2 patch in quadrant c of an 8x8 3-channel image plus
// noise): the BatchNorm CNN trained with SGD (lr 0.05, momentum 0.9, batch 16, 150 steps)
// must reach >= 95% training accuracy in evaluation mode (running statistics, which follow the
// batches through Sgd's statistics rule).
BOOST_AUTO_TEST_CASE(bn_cnn_learns_an_image_task) {
  util::Rng rng(27);
  const int n = 128;
  Matrix x = random_matrix(192, n, rng, 0.3);
  std::vector<int> y(n);
  for (int j = 0; j < n; ++j) {
    const int c = j % 4, r0 = 1 + 4 * (c / 2), c0 = 1 + 4 * (c % 2);
    y[std::size_t(j)] = c;
    for (int ch = 0; ch < 3; ++ch) {
      for (int r = r0; r < r0 + 2; ++r) {
        for (int q = c0; q < c0 + 2; ++q) x(ch * 64 + r * 8 + q, j) += 2.0f;
      }
    }
  }
  nn::ModelSpec spec = small_bn_spec(nn::StageGrouping::kBlock);
  spec.layers.back().units = 4;
  const nn::Model model = nn::Model::build(spec);
  Vector params, grad;
  model.init_params(params, 5);
  const double before = model.evaluate(params, x, y).loss;
  nn::Sgd sgd(model.num_params(), 0.9f);
  const std::vector<char> active(std::size_t(model.num_stages()), 1);
  nn::Workspace ws;
  Matrix xb(192, 16);
  std::vector<int> yb(16);
  for (int step = 0; step < 150; ++step) {
    for (int j = 0; j < 16; ++j) {
      const auto k = Eigen::Index(rng.below(n));
      xb.col(j) = x.col(k);
      yb[std::size_t(j)] = y[std::size_t(k)];
    }
    model.loss_and_gradient(params, xb, yb, grad, 0, ws);
    sgd.step(params, grad, 0.05f, model.stages(), active);
  }
  const nn::EvalResult after = model.evaluate(params, x, y, 50);
  BOOST_TEST_MESSAGE("loss " << before << " -> " << after.loss << ", accuracy "
                             << after.accuracy());
  BOOST_TEST(after.accuracy() >= 0.95);
  BOOST_TEST(after.loss < before / 4);
}

// Reusing a Workspace with the same batch size: no allocation at all (malloc is counted), also
// for large batches: Conv2d's products take their packing buffers from the workspace
// (nn/gemm.hpp) and the dense layers of these models stay under Eigen's 128 KiB stack blocks.
// Malloc counting needs glibc's hooks, absent in sanitizer builds: there the case does not exist.
#ifdef FEDGRID_COUNT_MALLOC
BOOST_AUTO_TEST_CASE(steady_state_cnn_calls_do_not_allocate) {
  util::Rng rng(28);
  for (const char* file : {"cnn2.yaml", "small"}) {
    const nn::Model model =
        nn::Model::build(std::string(file) == "small" ? small_bn_spec(nn::StageGrouping::kTensor)
                                                      : load_model(file));
    Vector params, grad;
    model.init_params(params, 2);
    for (int batch : {1, 16, 300}) {
      const Matrix x = random_matrix(model.input_size(), batch, rng);
      const auto y = random_labels(std::size_t(batch), 10, rng);
      nn::Workspace ws;
      Matrix logits;
      model.loss_and_gradient(params, x, y, grad, 0, ws);  // warm-up sizes the buffers
      model.forward(params, x, logits, ws);
      std::vector<long> per_call;
      for (int k = 0; k < 3; ++k) {
        per_call.push_back(mallocs_during([&] {
          model.loss_and_gradient(params, x, y, grad, k, ws);
          model.forward(params, x, logits, ws);
        }));
      }
      BOOST_TEST(per_call[0] + per_call[1] + per_call[2] == 0,
                 file << " batch " << batch << ": " << per_call[0] << " mallocs");
    }
  }
}
#endif  // FEDGRID_COUNT_MALLOC

// nn::gemm (Conv2d's products with workspace packing buffers) against Eigen's operator*, for the
// four operand layouts, with and without accumulation, on shapes larger than one block.
BOOST_AUTO_TEST_CASE(gemm_matches_eigen_products) {
  util::Rng rng(29);
  nn::GemmPacking packing;
  for (const auto& [m, n, k] : {std::array<int, 3>{700, 37, 300}, std::array<int, 3>{5, 3, 2},
                                std::array<int, 3>{64, 600, 1100}}) {
    const Matrix a = random_matrix(m, k, rng), b = random_matrix(k, n, rng);
    const nn::RowMajorMatrix<float> ar = a, br = b;
    const Matrix want = a * b;
    const Matrix c0 = random_matrix(m, n, rng);
    for (int layout = 0; layout < 4; ++layout) {
      const bool arow = layout & 1, brow = layout & 2;
      const nn::GemmOperand ga{arow ? ar.data() : a.data(), arow ? k : m, arow};
      const nn::GemmOperand gb{brow ? br.data() : b.data(), brow ? n : k, brow};
      Matrix c = c0;
      nn::gemm(m, n, k, ga, gb, c.data(), m, false, packing);
      BOOST_TEST((c - want).cwiseAbs().maxCoeff() <= 1e-4f * want.cwiseAbs().maxCoeff());
      c = c0;
      nn::gemm(m, n, k, ga, gb, c.data(), m, true, packing);
      BOOST_TEST((c - c0 - want).cwiseAbs().maxCoeff() <= 1e-4f * want.cwiseAbs().maxCoeff());
    }
  }
}

// The summary names the model, its shape, counts and every stage.
BOOST_AUTO_TEST_CASE(summary_lists_the_stages) {
  const std::string s = nn::Model::build(load_model("cnn2.yaml")).summary();
  BOOST_TEST(contains(s, "model cnn2: input 1x28x28, 6422 parameters (0 running statistics)"), s);
  BOOST_TEST(contains(s, "L = 8 stages by tensor"), s);
  BOOST_TEST(contains(s, "conv2.weight"), s);
  BOOST_TEST(contains(s, "230400"), s);
  const std::string v = nn::Model::build(load_model("vgg11.yaml")).summary();
  BOOST_TEST(contains(v, "9236618 parameters (5504 running statistics)"), v);
  BOOST_TEST(contains(v, "L = 9 stages by block"), v);
  BOOST_TEST(contains(v, "conv8+bn8"), v);
}
