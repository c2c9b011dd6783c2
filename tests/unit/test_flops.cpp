// Unit tests of Model::flops (nn/flops.cpp), the exact FLOP accounting bench_limit divides by:
// CNN2 and the MLP against hand-computed per-layer values, full and partial backprop.
#define BOOST_TEST_MODULE flops
#include <boost/test/unit_test.hpp>
#include <string>

#include "io/scenario.hpp"
#include "nn/model.hpp"

using namespace fedgrid;

namespace {
nn::Model load(const std::string& name) {
  return nn::Model::build(
      io::load_model_spec(std::string(FEDGRID_SOURCE_DIR) + "/models/" + name + ".yaml"));
}
}  // namespace

// conv5x5 1->6 on 28x28 (24x24 out), relu, pool 2, conv5x5 6->6 (8x8 out), relu, pool 2,
// flatten 96, fc 96->50, relu, fc 50->10. A multiply-add counts 2, a bias add / max / compare 1.
BOOST_AUTO_TEST_CASE(cnn2_by_hand) {
  const nn::Model m = load("cnn2");
  const nn::ModelFlops f = m.flops();
  BOOST_TEST_REQUIRE(f.layers.size() == 10u);
  const nn::LayerFlops& conv1 = f.layers[0];
  BOOST_TEST(conv1.name == "conv1");
  BOOST_TEST(conv1.forward == 2.0 * 6 * 25 * 576 + 6 * 576);  // 176,256
  BOOST_TEST(conv1.weight == 2.0 * 6 * 25 * 576);             // dW = dY X^T over 576 pixels
  BOOST_TEST(conv1.bias == 6.0 * 576);
  BOOST_TEST(conv1.input == 0.0);  // the first layer: never computed
  BOOST_TEST(conv1.skipped == 2.0 * 6 * 25 * 576);
  BOOST_TEST(f.layers[1].forward == 3456.0);     // relu over 6x24x24
  BOOST_TEST(f.layers[2].forward == 864.0 * 4);  // 6x12x12 windows of 4
  BOOST_TEST(f.layers[2].input == 864.0 * 4);
  const nn::LayerFlops& conv2 = f.layers[3];
  BOOST_TEST(conv2.forward == 2.0 * 6 * 150 * 64 + 6 * 64);  // 115,584
  BOOST_TEST(conv2.input == 2.0 * 6 * 150 * 64);
  BOOST_TEST(f.layers[7].forward == 2.0 * 96 * 50 + 50);
  BOOST_TEST(f.layers[9].forward == 2.0 * 50 * 10 + 10);
  BOOST_TEST(f.forward == 310230.0);
  BOOST_TEST(f.backward == 436030.0);
  BOOST_TEST(f.skipped == 172800.0);
  BOOST_TEST(f.training() == 746260.0);
  BOOST_TEST(m.forward_flops() == f.forward);
  // Only fc2 (stages 6, 7 of 8): its dW and db; everything below is skipped.
  const nn::ModelFlops p = m.flops(6);
  BOOST_TEST(p.backward == 1010.0);
  BOOST_TEST(p.skipped == 436030.0 + 172800.0 - 1010.0);
  BOOST_TEST(p.layers[9].skipped == 1000.0);  // fc2's input gradient
}

// 784-32-16-10: forward 2*784*32+32 + 32 + 2*32*16+16 + 16 + 2*16*10+10 = 51,626.
BOOST_AUTO_TEST_CASE(mlp_by_hand) {
  const nn::ModelFlops f = load("mlp").flops();
  BOOST_TEST(f.forward == 51626.0);
  // fc3: dW 2*16*10, db 10, dX 2*16*10; relu 16; fc2: 2*32*16, 16, 2*32*16; relu 32;
  // fc1: dW 2*784*32, db 32, dX skipped.
  BOOST_TEST(f.backward == (320 + 10 + 320) + 16 + (1024 + 16 + 1024) + 32 + (50176 + 32));
  BOOST_TEST(f.skipped == 50176.0);
  BOOST_TEST(f.layers[0].name == "fc1");
  BOOST_TEST(f.layers[1].name == "relu1");
}
