// Unit tests of the lane-layout kernels (nn/lanes.hpp) against the column path they replace:
// direct and GEMM convolutions (forward, dW, db, dX) over random shapes with padding, stride,
// odd sizes, batch 1 and channel counts that are not multiples of the vector width; max pooling
// with ties and NaN; BatchNorm; whole models with lanes on and off.
#define BOOST_TEST_MODULE lanes
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/lanes.hpp"
#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "util/rng.hpp"

using namespace fedgrid;
using nn::Matrix;
using nn::Shape;

namespace {

Matrix random_matrix(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  util::Rng rng(seed, "lanes-test");
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(rng.normal());
  return m;
}

Matrix to_lanes(const Matrix& cols, Shape s) {
  const int B = int(cols.cols());
  Matrix out(s.size(), nn::lanes::padded(B));
  out.setConstant(7.0f);  // to_lanes must write every entry, padding lanes included
  nn::lanes::to_lanes(cols.data(), std::size_t(cols.rows()), s.c, s.plane(), B, out.data());
  return out;
}

Matrix from_lanes(const Matrix& lanes, Shape s, int batch) {
  Matrix out(s.size(), batch);
  nn::lanes::from_lanes(lanes.data(), s.c, s.plane(), batch, out.data());
  return out;
}

// max |a - b| / max(1, max |b|)
double rel_diff(const Matrix& a, const Matrix& b) {
  BOOST_TEST_REQUIRE(a.rows() == b.rows());
  BOOST_TEST_REQUIRE(a.cols() == b.cols());
  return double((a - b).cwiseAbs().maxCoeff()) / std::max(1.0, double(b.cwiseAbs().maxCoeff()));
}

struct ConvCase {
  int c, h, w, o, k, s, p, batch;
};

}  // namespace

BOOST_AUTO_TEST_CASE(layout_round_trip_pads_with_zeros) {
  const Shape s{3, 5, 7};
  for (int batch : {1, 16, 17, 40}) {
    const Matrix x = random_matrix(s.size(), batch, 1);
    const Matrix l = to_lanes(x, s);
    BOOST_TEST(bool(from_lanes(l, s, batch) == x));
    // value (sample j, channel c, pixel p) at ((c*G + g)*P + p)*16 + lane
    const int G = nn::lanes::groups(batch), j = batch - 1, c = 2, p = 11;
    const std::size_t at = (std::size_t(c * G + j / 16) * s.plane() + p) * 16 + j % 16;
    BOOST_TEST(l.data()[at] == x(c * s.plane() + p, j));
    for (int lane = batch % 16 ? batch % 16 : 16; lane < 16; ++lane) {
      BOOST_TEST(l.data()[(std::size_t(c * G + G - 1) * s.plane() + p) * 16 + lane] == 0.0f);
    }
  }
}

// Every policy (by shape, direct, GEMM) against the column path (im2col + GEMM per sample column).
BOOST_AUTO_TEST_CASE(convolutions_match_the_column_path) {
  const ConvCase cases[] = {
      {1, 28, 28, 6, 5, 1, 0, 3},
      {6, 12, 12, 6, 5, 1, 0, 17},
      {3, 7, 9, 5, 3, 1, 1, 1},
      {4, 8, 8, 7, 3, 2, 1, 16},
      {2, 6, 5, 3, 2, 2, 0, 33},
      {5, 5, 5, 17, 3, 1, 2, 2},
      {3, 9, 9, 20, 3, 1, 1, 20},
      {19, 4, 6, 9, 1, 1, 0, 5},
      {2, 11, 3, 13, 3, 3, 2, 31},
      // filter banks > 1024 weights: by shape (policy 0), direct forward and input gradient with
      // a GEMM weight gradient, or GEMM everywhere at 3-pixel rows
      {32, 6, 6, 40, 3, 1, 1, 17},
      {40, 3, 3, 30, 3, 1, 1, 5}};
  uint64_t seed = 10;
  for (const ConvCase& t : cases) {
    const nn::Conv2d conv(Shape{t.c, t.h, t.w}, t.o, t.k, t.s, t.p, 3);
    const Shape is = conv.in_shape(), os = conv.out_shape();
    const nn::Vector params = random_matrix(Eigen::Index(conv.num_params() + 3), 1, ++seed);
    const Matrix x = random_matrix(is.size(), t.batch, ++seed);
    const Matrix dy = random_matrix(os.size(), t.batch, ++seed);
    nn::SharedScratch shared;
    Matrix y_ref(os.size(), t.batch), dx_ref(is.size(), t.batch);
    nn::Vector g_ref = nn::Vector::Zero(params.size());
    const nn::BackwardNeeds all{true, true, true};
    conv.forward(params.data(), x, y_ref, nn::LayerContext{false, nullptr, &shared});
    conv.backward(params.data(), x, y_ref, dy, all, g_ref.data(), dx_ref,
                  nn::LayerContext{true, nullptr, &shared});
    for (int policy : {0, 1, 2}) {
      nn::lanes::set_conv_policy(policy);
      const int bp = nn::lanes::padded(t.batch);
      const Matrix xl = to_lanes(x, is), dyl = to_lanes(dy, os);
      Matrix yl(os.size(), bp), dxl(is.size(), bp);
      nn::Vector g = nn::Vector::Zero(params.size());
      nn::LayerContext ctx{true, nullptr, &shared, t.batch};
      conv.forward(params.data(), xl, yl, ctx);
      conv.backward(params.data(), xl, yl, dyl, all, g.data(), dxl, ctx);
      const std::string what = "conv " + std::to_string(t.c) + "x" + std::to_string(t.h) + "x" +
                               std::to_string(t.w) + " -> " + std::to_string(t.o) + " k" +
                               std::to_string(t.k) + " s" + std::to_string(t.s) + " p" +
                               std::to_string(t.p) + " batch " + std::to_string(t.batch) +
                               " policy " + std::to_string(policy);
      BOOST_TEST(rel_diff(from_lanes(yl, os, t.batch), y_ref) < 1e-5, what << " forward");
      BOOST_TEST(rel_diff(g, g_ref) < 1e-5, what << " dW, db");
      BOOST_TEST(rel_diff(from_lanes(dxl, is, t.batch), dx_ref) < 1e-5, what << " dX");
      BOOST_TEST(g.head(3).isZero(), what << ": wrote outside its slice");
      // padding lanes of dX stay zero (they feed the weight gradient of the layer before)
      const Matrix back = to_lanes(from_lanes(dxl, is, t.batch), is);
      BOOST_TEST(bool(dxl == back), what << " dX padding");
    }
  }
  nn::lanes::set_conv_policy(0);
}

// The rule by shape (bench/README.md): small banks direct; larger ones direct for the forward
// and the input gradient while rows have >= 4 pixels, the GEMM otherwise and for dW.
BOOST_AUTO_TEST_CASE(convolution_kernel_by_shape_and_pass) {
  using nn::lanes::ConvAlgo;
  using nn::lanes::ConvPass;
  nn::lanes::set_conv_policy(0);
  const nn::lanes::ConvGeom cnn2{6, 12, 12, 6, 8, 8, 5, 1, 0}, vgg{128, 8, 8, 256, 8, 8, 3, 1, 1},
      vgg_2x2{512, 2, 2, 512, 2, 2, 3, 1, 1};
  for (ConvPass p : {ConvPass::kForward, ConvPass::kWeightGrad, ConvPass::kInputGrad}) {
    BOOST_TEST((nn::lanes::choose(cnn2, p) == ConvAlgo::kDirect));
    BOOST_TEST((nn::lanes::choose(vgg_2x2, p) == ConvAlgo::kGemm));
  }
  BOOST_TEST((nn::lanes::choose(vgg, ConvPass::kForward) == ConvAlgo::kDirect));
  BOOST_TEST((nn::lanes::choose(vgg, ConvPass::kInputGrad) == ConvAlgo::kDirect));
  BOOST_TEST((nn::lanes::choose(vgg, ConvPass::kWeightGrad) == ConvAlgo::kGemm));
}

// Ties everywhere (small integers) and NaN: the first maximum in row-major order wins.
BOOST_AUTO_TEST_CASE(pooling_matches_the_column_path) {
  struct Case {
    int c, h, w, k, s, batch;
  };
  util::Rng rng(5, "pool");
  for (const Case& t : {Case{3, 9, 9, 3, 2, 18}, Case{2, 8, 8, 2, 2, 1}, Case{1, 5, 7, 2, 1, 33},
                        Case{4, 6, 6, 3, 3, 16}}) {
    const nn::MaxPool2d pool(Shape{t.c, t.h, t.w}, t.k, t.s);
    const Shape is = pool.in_shape(), os = pool.out_shape();
    Matrix x(is.size(), t.batch);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = float(rng.below(4));
    x(0, 0) = std::numeric_limits<float>::quiet_NaN();
    x(is.size() - 1, t.batch - 1) = std::numeric_limits<float>::quiet_NaN();
    const Matrix dy = random_matrix(os.size(), t.batch, 9);
    Matrix y_ref(os.size(), t.batch), dx_ref(is.size(), t.batch);
    nn::LayerScratch own;
    const nn::BackwardNeeds in{false, false, true};
    pool.forward(nullptr, x, y_ref, nn::LayerContext{true, &own, nullptr});
    pool.backward(nullptr, x, y_ref, dy, in, nullptr, dx_ref,
                  nn::LayerContext{true, &own, nullptr});
    const int bp = nn::lanes::padded(t.batch);
    const Matrix xl = to_lanes(x, is);
    Matrix yl(os.size(), bp), dxl(is.size(), bp);
    const nn::LayerContext ctx{true, nullptr, nullptr, t.batch};
    pool.forward(nullptr, xl, yl, ctx);
    pool.backward(nullptr, xl, yl, to_lanes(dy, os), in, nullptr, dxl, ctx);
    const Matrix y = from_lanes(yl, os, t.batch);
    BOOST_TEST((y.array().isNaN() == y_ref.array().isNaN()).all());
    BOOST_TEST((y.array().isNaN() || y.array() == y_ref.array()).all());
    BOOST_TEST(bool(from_lanes(dxl, is, t.batch) == dx_ref));
  }
}

BOOST_AUTO_TEST_CASE(batchnorm_matches_the_column_path) {
  const Shape s{5, 3, 4};
  const nn::BatchNorm bn(s, 2);
  for (int batch : {1, 19, 32}) {
    for (bool training : {true, false}) {
      nn::Vector params = random_matrix(Eigen::Index(bn.num_params() + 2), 1, 3);
      params.tail(5) = params.tail(5).cwiseAbs();  // running variance >= 0
      const Matrix x = random_matrix(s.size(), batch, 4), dy = random_matrix(s.size(), batch, 5);
      nn::LayerScratch own_ref, own;
      Matrix y_ref(s.size(), batch), dx_ref(s.size(), batch);
      nn::Vector g_ref = nn::Vector::Zero(params.size()), g = g_ref;
      const nn::BackwardNeeds all{true, true, true};
      bn.forward(params.data(), x, y_ref, nn::LayerContext{training, &own_ref, nullptr});
      const int bp = nn::lanes::padded(batch);
      const Matrix xl = to_lanes(x, s);
      Matrix yl(s.size(), bp), dxl(s.size(), bp);
      bn.forward(params.data(), xl, yl, nn::LayerContext{training, &own, nullptr, batch});
      BOOST_TEST(rel_diff(from_lanes(yl, s, batch), y_ref) < 1e-5);
      if (!training) continue;
      BOOST_TEST(rel_diff(own.mean, own_ref.mean) < 1e-6);
      BOOST_TEST(rel_diff(own.var, own_ref.var) < 1e-5);
      bn.backward(params.data(), x, y_ref, dy, all, g_ref.data(), dx_ref,
                  nn::LayerContext{true, &own_ref, nullptr});
      bn.backward(params.data(), xl, yl, to_lanes(dy, s), all, g.data(), dxl,
                  nn::LayerContext{true, &own, nullptr, batch});
      BOOST_TEST(rel_diff(g, g_ref) < 1e-5);
      BOOST_TEST(rel_diff(from_lanes(dxl, s, batch), dx_ref) < 1e-5);
      BOOST_TEST(bool(dxl == to_lanes(from_lanes(dxl, s, batch), s)), "padding lanes of dX are 0");
    }
  }
}

// CNN2 and a conv+BatchNorm net: loss, gradients (full and partial) and logits agree.
BOOST_AUTO_TEST_CASE(models_give_the_same_results_in_lanes) {
  nn::ModelSpec bn_net;
  bn_net.name = "bn_net";
  bn_net.input_channels = 3;
  bn_net.input_height = bn_net.input_width = 10;
  bn_net.input_size = 300;
  nn::LayerSpec conv{"conv2d", 0, 1};
  conv.out_channels = 70;
  conv.kernel = 3;
  conv.padding = 1;
  nn::LayerSpec pool{"maxpool", 0, 4};
  pool.kernel = 2;
  pool.stride = 0;
  bn_net.layers = {conv, {"batchnorm", 0, 2}, {"relu", 0, 3},
                   pool, {"flatten", 0, 5},   {"dense", 10, 6}};
  const nn::ModelSpec specs[] = {
      io::load_model_spec(std::string(FEDGRID_SOURCE_DIR) + "/models/cnn2.yaml"), bn_net};
  for (const nn::ModelSpec& spec : specs) {
    nn::Model model = nn::Model::build(spec);
    BOOST_TEST(model.lanes_layers() > 0, spec.name);
    nn::Vector params;
    model.init_params(params, 3);
    for (int batch : {1, 5, 37}) {
      const Matrix x = random_matrix(model.input_size(), batch, 8);
      std::vector<int> y(static_cast<std::size_t>(batch));
      for (int j = 0; j < batch; ++j) y[std::size_t(j)] = j % 10;
      for (int first : {0, model.num_stages() - 3}) {
        nn::Vector g_ref, g;
        nn::Workspace ws_ref, ws;
        model.use_lanes(false);
        const double loss_ref = model.loss_and_gradient(params, x, y, g_ref, first, ws_ref);
        Matrix logits_ref, logits;
        model.forward(params, x, logits_ref, ws_ref);
        model.use_lanes(true);
        const double loss = model.loss_and_gradient(params, x, y, g, first, ws);
        model.forward(params, x, logits, ws);
        BOOST_TEST(std::abs(loss - loss_ref) < 1e-5 * std::max(1.0, loss_ref), spec.name);
        BOOST_TEST(rel_diff(g, g_ref) < 1e-4, spec.name << " batch " << batch);
        BOOST_TEST(rel_diff(logits, logits_ref) < 1e-5, spec.name << " batch " << batch);
      }
    }
  }
}
