// bench_xsmm (built only when libxsmm-dev is installed): libxsmm 1.17's JIT batch-reduce GEMM
// kernels in place of Eigen's product inside the lane-GEMM convolution (Y^col = X^col W^T with
// the batch folded into M = groups x 16 x output pixels, K = channels x k x k, N = output
// channels), on every conv layer of CNN2 and VGG11, one thread. Times only the product (the
// im2col is the same for both) and, for reference, FedGrid's whole lane forward (direct and lane
// GEMM, im2col included). Checks that libxsmm's product equals Eigen's to 1e-4 (relative).
#include <libxsmm.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "nn/lanes.hpp"
#include "nn/layers.hpp"
#include "nn/model.hpp"
#include "per_call.hpp"

// Debian's libxsmm.a refers to BLAS for problems beyond its JIT range; this bench only asks for
// JIT kernels (dispatch returns null otherwise, and the bench then stops), so no BLAS is linked.
extern "C" {
[[noreturn]] static void no_blas() {
  std::fprintf(stderr, "bench_xsmm: libxsmm fell back to BLAS, which is not linked\n");
  std::abort();
}
void sgemm_() { no_blas(); }
void dgemm_() { no_blas(); }
void sgemv_() { no_blas(); }
void dgemv_() { no_blas(); }
}

namespace {

using namespace fedgrid;
using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;

using bench::per_call;

// The largest divisor of n that is <= cap (the K blocks of one batch-reduce call).
int block(int n, int cap) {
  for (int b = std::min(n, cap); b > 1; --b)
    if (n % b == 0) return b;
  return 1;
}

// C (M x N, col-major, ld M) = A (M x K, ld M) B (K x N, ld K) with batch-reduce kernels over
// K blocks of kb, on tiles of mb rows x nb columns.
struct XsmmProduct {
  int M, N, K, mb, nb, kb;
  libxsmm_smmfunction_reducebatch_strd kernel = nullptr, edge_m = nullptr;

  XsmmProduct(int m, int n, int k) : M(m), N(n), K(k) {
    mb = 64;
    nb = block(N, 64);
    kb = block(K, 64);
    const libxsmm_blasint lda = M, ldb = K, ldc = M;
    const float alpha = 1.0f, beta = 0.0f;
    auto make = [&](int rows) {
      return libxsmm_smmdispatch_reducebatch_strd(
          rows, nb, kb, static_cast<libxsmm_blasint>(kb * sizeof(float) * M),
          static_cast<libxsmm_blasint>(kb * sizeof(float)), &lda, &ldb, &ldc, &alpha, &beta,
          nullptr, nullptr);
    };
    kernel = make(mb);
    if (M % mb) edge_m = make(M % mb);
  }
  bool ok() const { return kernel && (M % mb == 0 || edge_m); }

  void operator()(const float* a, const float* b, float* c) const {
    const unsigned long long count = static_cast<unsigned long long>(K / kb);
    for (int n0 = 0; n0 < N; n0 += nb) {
      for (int m0 = 0; m0 < M; m0 += mb) {
        auto* f = M - m0 >= mb ? kernel : edge_m;
        f(a + m0, b + std::size_t(n0) * K, c + std::size_t(n0) * M + m0, &count);
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int batch = argc > 1 ? std::stoi(argv[1]) : 64;
  const double seconds = argc > 2 ? std::stod(argv[2]) : 0.3;
  libxsmm_init();
  Eigen::setNbThreads(1);
  std::printf(
      "conv forward products, batch %d, 1 thread, GFLOP/s (sum over each model's conv layers)\n"
      "%-6s %12s %12s %14s %14s\n",
      batch, "model", "Eigen GEMM", "libxsmm BRGEMM", "lanes direct*", "lanes GEMM*");
  for (const char* name : {"cnn2", "vgg11"}) {
    const nn::Model model = nn::Model::build(
        io::load_model_spec(std::string(FEDGRID_SOURCE_DIR) + "/models/" + name + ".yaml"));
    double flops = 0, t_eigen = 0, t_xsmm = 0, t_direct = 0, t_gemm = 0;
    for (const auto& layer : model.layers()) {
      if (layer->kind() != nn::LayerKind::kConv2d) continue;
      const nn::lanes::ConvGeom g = static_cast<const nn::Conv2d&>(*layer).geom();
      const int groups = nn::lanes::groups(batch);
      const int M = groups * nn::lanes::kLanes * g.oh * g.ow, K = g.c * g.k * g.k, N = g.o;
      flops += 2.0 * M * double(K) * N;
      Mat a = Mat::Random(M, K), b = Mat::Random(K, N), c(M, N), c2(M, N);
      t_eigen += per_call([&] { c.noalias() = a * b; }, seconds);
      const XsmmProduct x(M, N, K);
      if (!x.ok()) {
        std::fprintf(stderr, "bench_xsmm: no JIT kernel for %d x %d x %d\n", M, N, K);
        return 1;
      }
      t_xsmm += per_call([&] { x(a.data(), b.data(), c2.data()); }, seconds);
      const double err = (c2 - c).cwiseAbs().maxCoeff() / std::max(1e-30f, c.cwiseAbs().maxCoeff());
      if (!(err < 1e-4)) {
        std::fprintf(stderr, "bench_xsmm: libxsmm product differs from Eigen's (%g)\n", err);
        return 1;
      }
      // FedGrid's whole forward (padding / im2col, bias) for reference.
      const std::size_t in = std::size_t(g.c) * g.h * g.w * 16 * groups;
      const std::size_t out = std::size_t(g.o) * g.oh * g.ow * 16 * groups;
      std::vector<float> xin(in, 0.5f), y(out), w(std::size_t(g.o) * K, 0.1f), bias(g.o, 0.f);
      nn::SharedScratch scratch;
      double per_algo[2];
      for (auto algo : {nn::lanes::ConvAlgo::kDirect, nn::lanes::ConvAlgo::kGemm}) {
        const bool direct = algo == nn::lanes::ConvAlgo::kDirect;
        per_algo[direct ? 0 : 1] = per_call(
            [&] {
              nn::lanes::conv_forward(algo, g, w.data(), bias.data(), xin.data(), groups, y.data(),
                                      scratch);
            },
            seconds);
        (direct ? t_direct : t_gemm) += per_algo[direct ? 0 : 1];
      }
      if (std::getenv("BENCH_XSMM_LAYERS")) {  // per layer, forward and input gradient
        std::vector<float> dx(in);
        double dgrad[2];
        for (auto algo : {nn::lanes::ConvAlgo::kDirect, nn::lanes::ConvAlgo::kGemm}) {
          dgrad[algo == nn::lanes::ConvAlgo::kDirect ? 0 : 1] = per_call(
              [&] {
                nn::lanes::conv_input_grad(algo, g, w.data(), y.data(), groups, dx.data(), scratch);
              },
              seconds);
        }
        const double f = 2.0 * M * double(K) * N * 1e-9;
        std::printf(
            "  %s conv %dx%dx%d -> %d (k %d): forward direct %.1f, lane GEMM %.1f; input gradient "
            "direct %.1f, lane GEMM %.1f GFLOP/s\n",
            name, g.c, g.h, g.w, g.o, g.k, f / per_algo[0], f / per_algo[1], f / dgrad[0],
            f / dgrad[1]);
      }
    }
    std::printf("%-6s %12.1f %12.1f %14.1f %14.1f\n", name, flops / t_eigen * 1e-9,
                flops / t_xsmm * 1e-9, flops / t_direct * 1e-9, flops / t_gemm * 1e-9);
  }
  std::printf("* FedGrid's whole lane forward (padding or im2col and bias included)\n");
  libxsmm_finalize();
  return 0;
}
