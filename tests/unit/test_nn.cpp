// Unit tests of src/nn: layer and model gradient checks, hand-computed forward/backward, partial
// backprop, stage tables, spec errors, SGD, training sanity, determinism, allocation-free reuse.
#define BOOST_TEST_MODULE nn
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "nn/gradcheck.hpp"
#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "test_helpers.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

using namespace fedgrid;
using nn::Matrix;
using nn::MatrixD;
using nn::Vector;

#include "malloc_counter.hpp"  // defines malloc for this test executable

namespace {

nn::ModelSpec make_spec(int input, const std::vector<std::pair<std::string, int>>& layers,
                        nn::StageGrouping grouping = nn::StageGrouping::kTensor) {
  nn::ModelSpec spec;
  spec.name = "test";
  spec.file = "models/test.yaml";
  spec.input_size = input;
  spec.stages = grouping;
  int line = 5;
  for (const auto& [kind, units] : layers) spec.layers.push_back({kind, units, line++});
  return spec;
}

nn::ModelSpec mlp_spec(nn::StageGrouping grouping = nn::StageGrouping::kTensor) {
  return make_spec(784, {{"dense", 32}, {"relu", 0}, {"dense", 16}, {"relu", 0}, {"dense", 10}},
                   grouping);
}

Matrix random_matrix(Eigen::Index rows, Eigen::Index cols, util::Rng& rng, double scale = 1.0) {
  Matrix m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = static_cast<float>(scale * rng.normal());
  }
  return m;
}

std::vector<int> random_labels(std::size_t n, int classes, util::Rng& rng) {
  std::vector<int> y(n);
  for (int& v : y) v = static_cast<int>(rng.below(static_cast<uint64_t>(classes)));
  return y;
}

std::vector<Eigen::Index> all_indices(Eigen::Index n) {
  std::vector<Eigen::Index> idx(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  return idx;
}

// Gradient of sum(R .* layer(X)) in float via backward(), compared with central differences of
// the double forward, w.r.t. the parameters and the input.
void check_layer(const nn::Layer& layer, std::size_t total_params, Eigen::Index batch,
                 const Matrix& x, util::Rng& rng, double tol) {
  const Matrix r = random_matrix(layer.out_size(), batch, rng);
  Vector params = random_matrix(Eigen::Index(total_params), 1, rng, 0.5);
  Matrix out(layer.out_size(), batch);
  nn::LayerScratch scratch;
  nn::SharedScratch shared;
  const nn::LayerContext ctx{true, &scratch, &shared};
  layer.forward(params.data(), x, out, ctx);
  Vector grad = Vector::Constant(Eigen::Index(total_params), 7.0f);
  Matrix din(layer.in_size(), batch);
  nn::BackwardNeeds all{true, true, true};
  layer.backward(params.data(), x, out, r, all, grad.data(), din, ctx);

  const MatrixD rd = r.cast<double>();
  const MatrixD xd = x.cast<double>();
  const auto f_params = [&](const Eigen::VectorXd& p) {
    MatrixD y;
    layer.forward(p.data(), xd, y, true);
    return rd.cwiseProduct(y).sum();
  };
  const auto f_input = [&](const Eigen::VectorXd& xv) {
    MatrixD y;
    layer.forward(params.cast<double>().eval().data(),
                  Eigen::Map<const MatrixD>(xv.data(), x.rows(), batch), y, true);
    return rd.cwiseProduct(y).sum();
  };
  std::vector<Eigen::Index> own;
  for (std::size_t k = 0; k < layer.num_params(); ++k)
    own.push_back(Eigen::Index(layer.param_offset() + k));
  if (!own.empty()) {
    const Eigen::VectorXd num = nn::central_differences(f_params, params.cast<double>(), own, 1e-4);
    Eigen::VectorXd ana(num.size());
    for (std::size_t k = 0; k < own.size(); ++k) ana[Eigen::Index(k)] = grad[own[k]];
    BOOST_TEST(nn::max_relative_error(ana, num, 1e-3) < tol);
  }
  for (std::size_t k = 0; k < layer.param_offset(); ++k) BOOST_TEST(grad[Eigen::Index(k)] == 7.0f);
  const Eigen::VectorXd xv = Eigen::Map<const MatrixD>(xd.data(), xd.size(), 1);
  const Eigen::VectorXd num_x = nn::central_differences(f_input, xv, all_indices(xv.size()), 1e-4);
  const Eigen::VectorXd ana_x = Eigen::Map<const Matrix>(din.data(), din.size(), 1).cast<double>();
  BOOST_TEST(nn::max_relative_error(ana_x, num_x, 1e-3) < tol);
}

}  // namespace

// Dense: y = W x + b. Linear in every argument, so differences are exact up to rounding; the
// float analytic gradient agrees to ~1e-6 relative: tolerance 1e-4.
BOOST_AUTO_TEST_CASE(dense_layer_gradient_matches_finite_differences) {
  util::Rng rng(11);
  const nn::Dense dense(5, 4, 3);  // offset 3: the slice must be honoured, [0, 3) untouched
  const Matrix x = random_matrix(5, 6, rng);
  check_layer(dense, 3 + dense.num_params(), 6, x, rng, 1e-4);
}

// ReLU away from the kink (|x| >= 0.1 >> eps): piecewise linear, same tolerance.
BOOST_AUTO_TEST_CASE(relu_layer_gradient_matches_finite_differences) {
  util::Rng rng(12);
  const nn::Relu relu(7);
  Matrix x(7, 5);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double mag = rng.uniform(0.1, 1.0);
    x.data()[i] = static_cast<float>(rng.uniform01() < 0.5 ? -mag : mag);
  }
  check_layer(relu, 0, 5, x, rng, 1e-4);
}

// Softmax cross-entropy: dL/dZ from the float path vs differences of the double loss; a column
// shifted by +1000 must neither overflow nor change that column's loss (shift invariance).
BOOST_AUTO_TEST_CASE(softmax_cross_entropy_gradient_and_stability) {
  util::Rng rng(13);
  Matrix z = random_matrix(5, 4, rng, 2.0);
  const std::vector<int> y = {0, 3, 4, 1};
  Matrix dz;
  Eigen::RowVectorXf m, s;
  const double loss = nn::softmax_cross_entropy<float>(z, y.data(), dz, m, s, true);
  const auto f = [&](const Eigen::VectorXd& v) {
    MatrixD p;
    Eigen::RowVectorXd md, sd;
    return nn::softmax_cross_entropy<double>(Eigen::Map<const MatrixD>(v.data(), 5, 4), y.data(), p,
                                             md, sd, false);
  };
  const Eigen::VectorXd zv = Eigen::Map<const Matrix>(z.data(), 20, 1).cast<double>();
  const Eigen::VectorXd num = nn::central_differences(f, zv, all_indices(20), 1e-5);
  const Eigen::VectorXd ana = Eigen::Map<const Matrix>(dz.data(), 20, 1).cast<double>();
  BOOST_TEST(nn::max_relative_error(ana, num, 1e-4) < 1e-4);
  BOOST_TEST(std::abs(f(zv) - loss) < 1e-5);
  z.col(2).array() += 1000.0f;  // 1000 and its neighbours are exact in float: same differences
  Matrix p2;
  const double shifted = nn::softmax_cross_entropy<float>(z, y.data(), p2, m, s, false);
  BOOST_TEST(std::isfinite(shifted));
  BOOST_TEST(std::abs(shifted - loss) < 1e-3);
  BOOST_TEST((p2.colwise().maxCoeff().array() == 1.0f).all());  // exp(z - max z), unnormalised
}

// The error measure itself: |a-n| / max(|a|, |n|, floor) on hand-picked entries.
BOOST_AUTO_TEST_CASE(max_relative_error_by_hand) {
  Eigen::VectorXd a(3), n(3);
  a << 1.0, 0.0, 2e-5;
  n << 1.1, 0.0, 0.0;
  Eigen::Index worst = -1;
  const double e = nn::max_relative_error(a, n, 1e-4, &worst);
  BOOST_TEST(std::abs(e - 0.2) < 1e-12);  // entry 2: 2e-5 / floor 1e-4 beats 0.1 / 1.1
  BOOST_TEST(worst == 2);
  BOOST_TEST(std::abs(nn::max_relative_error(a, n, 1e-3) - 0.1 / 1.1) < 1e-12);
}

// Whole models, every parameter: float analytic vs double central differences (eps 1e-4).
// Tolerance: max relative error < 1e-3 with denominators floored at 1e-4.
BOOST_AUTO_TEST_CASE(model_gradient_matches_finite_differences) {
  util::Rng rng(14);
  for (auto grouping : {nn::StageGrouping::kTensor, nn::StageGrouping::kLayer}) {
    const nn::Model model = nn::Model::build(make_spec(
        6, {{"dense", 5}, {"relu", 0}, {"dense", 4}, {"relu", 0}, {"relu", 0}, {"dense", 3}},
        grouping));
    Vector params;
    model.init_params(params, 3);
    const Matrix x = random_matrix(6, 7, rng);
    const auto y = random_labels(7, 3, rng);
    const nn::GradCheckResult r = nn::check_model_gradient(model, params, x, y);
    BOOST_TEST(r.checked == model.num_params());
    BOOST_TEST_MESSAGE("small model: max rel error " << r.max_rel_error << ", abs "
                                                     << r.max_abs_error);
    BOOST_TEST(r.max_rel_error < 1e-3,
               "max rel error " << r.max_rel_error << " at " << r.worst_index);
  }
  // The paper's MLP: 40 sampled parameters per stage, batch 8.
  const nn::Model mlp = nn::Model::build(mlp_spec());
  Vector params;
  mlp.init_params(params, 5);
  const Matrix x = random_matrix(784, 8, rng);
  const auto y = random_labels(8, 10, rng);
  nn::GradCheckOptions opts;
  opts.per_stage = 40;
  const nn::GradCheckResult r = nn::check_model_gradient(mlp, params, x, y, opts);
  BOOST_TEST(r.checked == 3u * 40u + 32u + 16u + 10u);  // biases (<= 40 entries) fully
  BOOST_TEST_MESSAGE("mlp: max rel error " << r.max_rel_error << ", abs " << r.max_abs_error);
  BOOST_TEST(r.max_rel_error < 1e-3, "max rel error " << r.max_rel_error);
}

// 2-2-2 network by hand. W1 = [[1,-1],[0.5,2]], b1 = [0,-1], W2 = [[1,0],[-1,1]], b2 = [0.5,0];
// x1 = (1,2), y1 = 0: pre = (-1, 3.5), h = (0, 3.5), z = (0.5, 3.5), loss1 = 3 + log(1+e^-3);
// x2 = (0,1), y2 = 1: pre = (-1, 1), h = (0, 1), z = (0.5, 1), loss2 = log(1+e^-0.5).
// With a = sigmoid(3), c = sigmoid(-0.5): dz1 = (-a, a), dz2 = (c, -c); averaged over B = 2:
// db2 = ((c-a)/2, (a-c)/2), dW2 = [[0, (c-3.5a)/2], [0, (3.5a-c)/2]],
// dh1 = W2^T dz1 = (-2a, a) -> masked (0, a); dh2 = (2c, -c) -> (0, -c);
// db1 = (0, (a-c)/2), dW1 = [[0, 0], [a/2, (2a-c)/2]].
BOOST_AUTO_TEST_CASE(hand_computed_two_two_two_network) {
  const nn::Model model = nn::Model::build(make_spec(2, {{"dense", 2}, {"relu", 0}, {"dense", 2}}));
  BOOST_TEST(model.num_params() == 12u);
  Vector params(12);
  params << 1, -1, 0.5, 2, 0, -1, 1, 0, -1, 1, 0.5, 0;  // W1 row-major, b1, W2 row-major, b2
  Matrix x(2, 2);
  x << 1, 0, 2, 1;  // columns (1,2) and (0,1)
  const std::vector<int> y = {0, 1};
  nn::Workspace ws;
  Matrix logits;
  model.forward(params, x, logits, ws);
  Matrix expected_logits(2, 2);
  expected_logits << 0.5, 0.5, 3.5, 1.0;
  BOOST_TEST((logits - expected_logits).cwiseAbs().maxCoeff() < 1e-6f);

  const double a = 1.0 / (1.0 + std::exp(-3.0)), c = 1.0 / (1.0 + std::exp(0.5));
  const double loss1 = 3.0 + std::log1p(std::exp(-3.0)), loss2 = std::log1p(std::exp(-0.5));
  Vector grad;
  const double loss = model.loss_and_gradient(params, x, y, grad, 0, ws);
  BOOST_TEST(std::abs(loss - (loss1 + loss2) / 2) < 1e-6);
  const std::vector<double> expected = {0,           0,
                                        a / 2,       (2 * a - c) / 2,
                                        0,           (a - c) / 2,
                                        0,           (c - 3.5 * a) / 2,
                                        0,           (3.5 * a - c) / 2,
                                        (c - a) / 2, (a - c) / 2};
  for (Eigen::Index i = 0; i < 12; ++i) {
    BOOST_TEST(std::abs(grad[i] - expected[std::size_t(i)]) < 1e-6, "grad[" << i << "]");
  }
  // Sample 1 is predicted as class 1 (wrong), sample 2 as class 1 (right).
  for (int chunk : {1, 2, 1024}) {
    const nn::EvalResult ev = model.evaluate(params, x, y, chunk);
    BOOST_TEST(ev.count == 2u);
    BOOST_TEST(ev.correct == 1u);
    BOOST_TEST(std::abs(ev.loss - (loss1 + loss2) / 2) < 1e-6);
  }
}

// first_stage = k: stages >= k bit-identical to the full gradient, stages < k exactly zero, and
// layers whose stages are all < k are never back-propagated.
BOOST_AUTO_TEST_CASE(partial_backprop_keeps_a_suffix) {
  util::Rng rng(15);
  const Matrix x = random_matrix(784, 16, rng);
  const auto y = random_labels(16, 10, rng);
  for (auto grouping : {nn::StageGrouping::kTensor, nn::StageGrouping::kLayer}) {
    const nn::Model model = nn::Model::build(mlp_spec(grouping));
    Vector params;
    model.init_params(params, 9);
    nn::Workspace ws;
    Vector full, part;
    const double loss = model.loss_and_gradient(params, x, y, full, 0, ws);
    for (int k = 0; k <= model.num_stages(); ++k) {
      BOOST_TEST(model.loss_and_gradient(params, x, y, part, k, ws) == loss);
      for (int s = 0; s < model.num_stages(); ++s) {
        const auto& st = model.stages()[std::size_t(s)];
        const auto off = Eigen::Index(st.offset), len = Eigen::Index(st.size);
        if (s >= k) {
          BOOST_TEST((part.segment(off, len).array() == full.segment(off, len).array()).all());
        } else {
          BOOST_TEST((part.segment(off, len).array() == 0.0f).all());
        }
      }
    }
    // Stop early: with only the last stage requested, only the last layer is back-propagated.
    model.loss_and_gradient(params, x, y, part, model.num_stages() - 1, ws);
    BOOST_TEST(ws.backward_layers == 1);
    model.loss_and_gradient(params, x, y, part, 0, ws);
    BOOST_TEST(ws.backward_layers == 5);
  }
}

// MLP 784-32-16-10. Backward FLOPs per sample (convention in model.cpp): fc1.w 2*784*32 (no
// input delta), fc1.b 32 + relu 32, fc2.w 2*2*32*16, fc2.b 16 + relu 16, fc3.w 2*2*16*10, fc3.b 10.
BOOST_AUTO_TEST_CASE(mlp_stage_tables) {
  const nn::Model t = nn::Model::build(mlp_spec());
  BOOST_TEST(t.num_params() == 25818u);
  BOOST_TEST(t.num_classes() == 10);
  BOOST_TEST(t.input_size() == 784);
  BOOST_TEST(t.forward_flops() == 2.0 * 25088 + 32 + 32 + 2.0 * 512 + 16 + 16 + 2.0 * 160 + 10);
  const std::vector<std::string> names = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                          "fc2.bias",   "fc3.weight", "fc3.bias"};
  const std::vector<std::size_t> sizes = {25088, 32, 512, 16, 160, 10};
  const std::vector<double> flops = {50176, 64, 2048, 32, 640, 10};
  BOOST_TEST_REQUIRE(t.num_stages() == 6);
  std::size_t offset = 0;
  for (std::size_t s = 0; s < 6; ++s) {
    BOOST_TEST(t.stages()[s].name == names[s]);
    BOOST_TEST(t.stages()[s].size == sizes[s]);
    BOOST_TEST(t.stages()[s].offset == offset);
    BOOST_TEST(t.stages()[s].backward_flops == flops[s]);
    offset += sizes[s];
  }
  BOOST_TEST(offset == 25818u);

  const nn::Model l = nn::Model::build(mlp_spec(nn::StageGrouping::kLayer));
  BOOST_TEST_REQUIRE(l.num_stages() == 3);
  const std::vector<std::string> lnames = {"fc1", "fc2", "fc3"};
  const std::vector<std::size_t> lsizes = {25120, 528, 170};
  const std::vector<double> lflops = {50240, 2080, 650};
  offset = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    BOOST_TEST(l.stages()[s].name == lnames[s]);
    BOOST_TEST(l.stages()[s].size == lsizes[s]);
    BOOST_TEST(l.stages()[s].offset == offset);
    BOOST_TEST(l.stages()[s].backward_flops == lflops[s]);
    offset += lsizes[s];
  }
  BOOST_TEST(l.num_params() == 25818u);
}

// models/mlp.yaml says what the paper's MLP is (parsed here with yaml-cpp, field by field).
BOOST_AUTO_TEST_CASE(mlp_yaml_describes_the_paper_model) {
  const YAML::Node doc = YAML::LoadFile(std::string(FEDGRID_SOURCE_DIR) + "/models/mlp.yaml");
  nn::ModelSpec spec;
  spec.file = "models/mlp.yaml";
  spec.name = doc["name"].as<std::string>();
  spec.input_size = doc["input"].as<int>();
  BOOST_TEST(doc["stages"].as<std::string>() == "tensor");
  for (const auto& layer : doc["layers"]) {
    spec.layers.push_back({layer["kind"].as<std::string>(),
                           layer["units"] ? layer["units"].as<int>() : 0, layer.Mark().line + 1});
  }
  const nn::Model m = nn::Model::build(spec);
  BOOST_TEST(m.name() == "mlp");
  BOOST_TEST(m.num_params() == 25818u);
  BOOST_TEST(m.num_stages() == 6);
}

using fedgrid::test::build_error;
using fedgrid::test::contains;

BOOST_AUTO_TEST_CASE(build_rejects_invalid_specs) {
  // make_spec numbers layers from line 5.
  std::string e = build_error(make_spec(4, {{"dense", 3}, {"conv9", 0}, {"dense", 2}}));
  BOOST_TEST(contains(e, "models/test.yaml:6:"), e);
  BOOST_TEST(contains(e, "layers[1].kind"), e);
  BOOST_TEST(contains(e, "dense, relu"), e);
  BOOST_TEST(contains(e, "'conv9'"), e);

  e = build_error(make_spec(4, {{"dense", 3}, {"relu", 0}}));
  BOOST_TEST(contains(e, "models/test.yaml:6:"), e);
  BOOST_TEST(contains(e, "layers[1].kind"), e);
  BOOST_TEST(contains(e, "last layer to be dense"), e);

  e = build_error(make_spec(4, {{"dense", 0}, {"dense", 2}}));
  BOOST_TEST(contains(e, "models/test.yaml:5:"), e);
  BOOST_TEST(contains(e, "layers[0].units"), e);
  BOOST_TEST(contains(e, "found 0"), e);
  e = build_error(make_spec(4, {{"dense", 3}, {"relu", 0}, {"dense", -3}}));
  BOOST_TEST(contains(e, "models/test.yaml:7:"), e);
  BOOST_TEST(contains(e, "found -3"), e);
  e = build_error(make_spec(4, {{"dense", 3}, {"dense", 1}}));
  BOOST_TEST(contains(e, "number of classes"), e);
  e = build_error(make_spec(4, {{"relu", 4}, {"dense", 2}}));
  BOOST_TEST(contains(e, "layers[0].units"), e);

  e = build_error(make_spec(0, {{"dense", 2}}));
  BOOST_TEST(contains(e, "models/test.yaml: key 'input'"), e);
  BOOST_TEST(contains(e, "found 0"), e);
  nn::ModelSpec empty = make_spec(4, {});
  empty.file.clear();  // falls back to the model's name
  e = build_error(empty);
  BOOST_TEST(contains(e, "test: key 'layers'"), e);
  // Leading and repeated ReLUs are allowed.
  BOOST_TEST(build_error(make_spec(4, {{"relu", 0}, {"relu", 0}, {"dense", 2}})).empty());
}

// mu = 0.5, lr = 0.1, two stages, only stage 0 active.
// step 1: v = g1 = (1, -2);          w = (1, 2) - 0.1 (1, -2) = (0.9, 2.2)
// step 2: v = 0.5 v + g2 = (0.5+0.5, -1+4) = (1, 3) with g2 = (0.5, 4); w = (0.8, 1.9)
BOOST_AUTO_TEST_CASE(sgd_momentum_two_steps_and_inactive_stage) {
  std::vector<nn::Stage> stages = {{"a", 0, 2, 0}, {"b", 2, 1, 0}};
  nn::Sgd sgd(3, 0.5f);
  Vector w(3), g1(3), g2(3);
  w << 1, 2, 5;
  g1 << 1, -2, 9;
  g2 << 0.5, 4, 9;
  const std::vector<char> active = {1, 0};
  sgd.step(w, g1, 0.1f, stages, active);
  BOOST_TEST(std::abs(w[0] - 0.9f) < 1e-6f);
  BOOST_TEST(std::abs(w[1] - 2.2f) < 1e-6f);
  sgd.step(w, g2, 0.1f, stages, active);
  BOOST_TEST(std::abs(sgd.velocity()[0] - 1.0f) < 1e-6f);
  BOOST_TEST(std::abs(sgd.velocity()[1] - 3.0f) < 1e-6f);
  BOOST_TEST(std::abs(w[0] - 0.8f) < 1e-6f);
  BOOST_TEST(std::abs(w[1] - 1.9f) < 1e-6f);
  BOOST_TEST(w[2] == 5.0f);  // inactive: parameter and velocity untouched
  BOOST_TEST(sgd.velocity()[2] == 0.0f);
}

// 10 well-separated Gaussian classes in 784 dimensions, 200 samples; SGD (lr 0.05, momentum 0.9,
// batch 20) for 300 steps must cut the training loss from ~2.3 by a factor of at least 20.
BOOST_AUTO_TEST_CASE(mlp_learns_a_separable_problem) {
  util::Rng rng(16);
  const Matrix means = random_matrix(784, 10, rng);
  const int n = 200;
  Matrix x(784, n);
  std::vector<int> y(n);
  for (int j = 0; j < n; ++j) {
    y[std::size_t(j)] = j % 10;
    x.col(j) = means.col(j % 10) + random_matrix(784, 1, rng, 0.5);
  }
  const nn::Model model = nn::Model::build(mlp_spec());
  Vector params, grad;
  model.init_params(params, 1);
  const double before = model.evaluate(params, x, y).loss;
  nn::Sgd sgd(model.num_params(), 0.9f);
  const std::vector<char> active(6, 1);
  nn::Workspace ws;
  Matrix xb(784, 20);
  std::vector<int> yb(20);
  for (int step = 0; step < 300; ++step) {
    for (int j = 0; j < 20; ++j) {
      const auto k = static_cast<Eigen::Index>(rng.below(n));
      xb.col(j) = x.col(k);
      yb[std::size_t(j)] = y[std::size_t(k)];
    }
    model.loss_and_gradient(params, xb, yb, grad, 0, ws);
    sgd.step(params, grad, 0.05f, model.stages(), active);
  }
  const nn::EvalResult after = model.evaluate(params, x, y, 64);
  BOOST_TEST_MESSAGE("loss " << before << " -> " << after.loss);
  BOOST_TEST(before > 1.5);
  BOOST_TEST(after.loss < before / 20, "loss " << before << " -> " << after.loss);
  BOOST_TEST(after.accuracy() == 1.0);
}

// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): same seed -> same bits, other seed -> different; bounds;
// fc1.weight (25088 draws, bound 1/28): mean within 5 standard errors of 0, variance within 3%
// of bound^2/3 (its standard error is ~0.7%).
BOOST_AUTO_TEST_CASE(init_params_is_deterministic_and_uniform) {
  const nn::Model model = nn::Model::build(mlp_spec());
  Vector a, b, c;
  model.init_params(a, 42);
  model.init_params(b, 42);
  model.init_params(c, 43);
  BOOST_TEST(a.size() == 25818);
  BOOST_TEST((a.array() == b.array()).all());
  BOOST_TEST((a.array() != c.array()).count() > 25000);
  const std::vector<double> fan_in = {784, 784, 32, 32, 16, 16};
  for (std::size_t s = 0; s < 6; ++s) {
    const auto& st = model.stages()[s];
    const auto seg = a.segment(Eigen::Index(st.offset), Eigen::Index(st.size));
    BOOST_TEST(seg.cwiseAbs().maxCoeff() <= 1.0 / std::sqrt(fan_in[s]));
  }
  const auto w1 = a.head(25088).cast<double>();
  const double bound = 1.0 / 28.0, n = 25088;
  const double mean = w1.mean();
  const double var = (w1.array() - mean).square().sum() / (n - 1);
  BOOST_TEST(std::abs(mean) < 5 * std::sqrt(bound * bound / 3 / n));
  BOOST_TEST(std::abs(var / (bound * bound / 3) - 1) < 0.03);
}

// Reusing a Workspace with the same batch size: FedGrid's code never allocates (malloc is
// counted). Eigen's GEMM allocates its own packing buffers on the heap when they exceed
// EIGEN_STACK_ALLOCATION_LIMIT (128 KiB), which for the MLP happens only for dW of fc1 at large
// batches: there the count per call must be constant and at most 2 per product (8 products).
// Malloc counting needs glibc's hooks, absent in sanitizer builds: there the case does not exist.
#ifdef FEDGRID_COUNT_MALLOC
BOOST_AUTO_TEST_CASE(steady_state_calls_do_not_allocate) {
  util::Rng rng(17);
  const nn::Model model = nn::Model::build(mlp_spec());
  Vector params, grad;
  model.init_params(params, 2);
  nn::Sgd sgd(model.num_params(), 0.9f);
  const std::vector<char> active(6, 1);
  for (int batch : {1, 8, 32, 256}) {
    const Matrix x = random_matrix(784, batch, rng);
    const auto y = random_labels(std::size_t(batch), 10, rng);
    nn::Workspace ws;
    Matrix logits;
    model.loss_and_gradient(params, x, y, grad, 0, ws);  // warm-up sizes the buffers
    model.forward(params, x, logits, ws);
    std::vector<long> per_call;
    for (int k = 0; k < 3; ++k) {
      per_call.push_back(
          mallocs_during([&] { model.loss_and_gradient(params, x, y, grad, 0, ws); }));
    }
    const long others = mallocs_during([&] {
      model.loss_and_gradient(params, x, y, grad, 3, ws);
      model.forward(params, x, logits, ws);
      sgd.step(params, grad, 0.01f, model.stages(), active);
    });
    if (batch <= 32) {
      BOOST_TEST(per_call[0] + per_call[1] + per_call[2] + others == 0,
                 "batch " << batch << ": " << per_call[0] << " " << others << " mallocs");
    } else {
      BOOST_TEST(per_call[0] == per_call[2]);
      BOOST_TEST(per_call[0] <= 16);
      BOOST_TEST(others <= 16);
    }
  }
}
#endif  // FEDGRID_COUNT_MALLOC
