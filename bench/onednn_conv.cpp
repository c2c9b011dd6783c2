// bench_onednn (built only when libdnnl-dev is installed): the convolution layers of CNN2 and
// VGG11 timed with oneDNN (the engine PyTorch uses on CPUs; its own preferred layouts, reorders
// not timed: its best case) next to FedGrid's lane kernels (direct and lane GEMM) on the same
// shapes, one thread (run with OMP_NUM_THREADS=1). Forward, weight gradient, input gradient
// (not for the first layer), GFLOP/s of the convolutions' multiply-adds.
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/lanes.hpp"
#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "per_call.hpp"

namespace {

using namespace fedgrid;
using dnnl::memory;

using bench::per_call;

struct Times {
  double fwd = 0, wgrad = 0, dgrad = 0;
};

Times onednn(const nn::lanes::ConvGeom& g, int n, bool dgrad, double seconds) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  const memory::dims src{n, g.c, g.h, g.w}, wei{g.o, g.c, g.k, g.k}, bias{g.o},
      dst{n, g.o, g.oh, g.ow}, strides{g.s, g.s}, pad{g.p, g.p};
  auto md = [](const memory::dims& d) {
    return memory::desc(d, memory::data_type::f32, memory::format_tag::any);
  };
  const dnnl::convolution_forward::primitive_desc fpd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                      dnnl::algorithm::convolution_direct, md(src), md(wei),
                                      md(bias), md(dst), strides, pad, pad),
      eng);
  memory x(fpd.src_desc(), eng), w(fpd.weights_desc(), eng), b(fpd.bias_desc(), eng),
      y(fpd.dst_desc(), eng);
  const dnnl::convolution_forward fwd(fpd);
  Times t;
  t.fwd = per_call(
      [&] {
        fwd.execute(
            s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
        s.wait();
      },
      seconds);
  const dnnl::convolution_backward_weights::primitive_desc wpd(
      dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, md(src),
                                               md(wei), md(bias), md(dst), strides, pad, pad),
      eng, fpd);
  memory wx(wpd.src_desc(), eng), wdy(wpd.diff_dst_desc(), eng), dw(wpd.diff_weights_desc(), eng),
      db(wpd.diff_bias_desc(), eng);
  const dnnl::convolution_backward_weights bw(wpd);
  t.wgrad = per_call(
      [&] {
        bw.execute(s, {{DNNL_ARG_SRC, wx},
                       {DNNL_ARG_DIFF_DST, wdy},
                       {DNNL_ARG_DIFF_WEIGHTS, dw},
                       {DNNL_ARG_DIFF_BIAS, db}});
        s.wait();
      },
      seconds);
  if (!dgrad) return t;
  const dnnl::convolution_backward_data::primitive_desc dpd(
      dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, md(src), md(wei),
                                            md(dst), strides, pad, pad),
      eng, fpd);
  memory ddy(dpd.diff_dst_desc(), eng), dwei(dpd.weights_desc(), eng), dx(dpd.diff_src_desc(), eng);
  const dnnl::convolution_backward_data bd(dpd);
  t.dgrad = per_call(
      [&] {
        bd.execute(s,
                   {{DNNL_ARG_DIFF_DST, ddy}, {DNNL_ARG_WEIGHTS, dwei}, {DNNL_ARG_DIFF_SRC, dx}});
        s.wait();
      },
      seconds);
  return t;
}

Times lanes(const nn::lanes::ConvGeom& g, int n, bool dgrad, nn::lanes::ConvAlgo algo,
            double seconds) {
  const int groups = nn::lanes::groups(n);
  const std::size_t in = std::size_t(g.c) * g.h * g.w * 16 * groups;
  const std::size_t out = std::size_t(g.o) * g.oh * g.ow * 16 * groups;
  std::vector<float> x(in, 0.5f), dx(in), y(out), dy(out, 0.25f);
  std::vector<float> w(std::size_t(g.o) * g.c * g.k * g.k, 0.1f), b(g.o, 0.f), dw(w.size()),
      db(b.size());
  nn::SharedScratch scratch;
  Times t;
  t.fwd = per_call(
      [&] {
        nn::lanes::conv_forward(algo, g, w.data(), b.data(), x.data(), groups, y.data(), scratch);
      },
      seconds);
  t.wgrad = per_call(
      [&] {
        nn::lanes::conv_weight_grad(algo, g, x.data(), dy.data(), groups, dw.data(), db.data(),
                                    scratch);
      },
      seconds);
  if (dgrad) {
    t.dgrad = per_call(
        [&] {
          nn::lanes::conv_input_grad(algo, g, w.data(), dy.data(), groups, dx.data(), scratch);
        },
        seconds);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int batch = argc > 1 ? std::stoi(argv[1]) : 64;
  const double seconds = argc > 2 ? std::stod(argv[2]) : 0.3;
  std::printf(
      "convolution layers, batch %d, 1 thread: GFLOP/s of fwd / dW / dX (sum over "
      "layers)\n%-6s %-22s %-22s %-22s\n",
      batch, "model", "oneDNN 2.6", "lanes direct", "lanes GEMM");
  for (const char* name : {"cnn2", "vgg11"}) {
    const nn::Model model = nn::Model::build(
        io::load_model_spec(std::string(FEDGRID_SOURCE_DIR) + "/models/" + name + ".yaml"));
    double flops[3] = {0, 0, 0};
    Times sum[3];
    bool first = true;
    for (const auto& layer : model.layers()) {
      if (layer->kind() != nn::LayerKind::kConv2d) continue;
      const nn::lanes::ConvGeom g = static_cast<const nn::Conv2d&>(*layer).geom();
      const double f = 2.0 * g.o * g.c * g.k * g.k * g.oh * g.ow * batch;
      flops[0] += f;
      flops[1] += f;
      flops[2] += first ? 0 : f;
      const Times r[3] = {onednn(g, batch, !first, seconds),
                          lanes(g, batch, !first, nn::lanes::ConvAlgo::kDirect, seconds),
                          lanes(g, batch, !first, nn::lanes::ConvAlgo::kGemm, seconds)};
      for (int i = 0; i < 3; ++i) {
        sum[i].fwd += r[i].fwd;
        sum[i].wgrad += r[i].wgrad;
        sum[i].dgrad += r[i].dgrad;
      }
      first = false;
    }
    std::printf("%-6s", name);
    for (const Times& t : sum) {
      char cell[64];
      std::snprintf(cell, sizeof cell, "%.0f / %.0f / %.0f", flops[0] / t.fwd * 1e-9,
                    flops[1] / t.wgrad * 1e-9, flops[2] / t.dgrad * 1e-9);
      std::printf(" %-22s", cell);
    }
    std::printf("\n");
  }
  return 0;
}
