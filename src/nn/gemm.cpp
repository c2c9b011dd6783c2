// C (+)= A B through Eigen's blocked GEBP product (general_matrix_matrix_product, the routine
// behind Eigen's own operator*) with caller-owned packing buffers.
#include "nn/gemm.hpp"

#include <Eigen/Dense>

namespace fedgrid::nn {

namespace {

using Eigen::Index;

// Eigen's blocking sizes (the same computation as its gemm_blocking_space) over our buffers.
class Blocking : public Eigen::internal::level3_blocking<float, float> {
 public:
  Blocking(Index m, Index n, Index k, GemmPacking& packing) {
    m_mc = m;
    m_nc = n;
    m_kc = k;
    Eigen::internal::computeProductBlockingSizes<float, float, 1, Index>(m_kc, m_mc, m_nc, 1);
    m_blockA = packing.a.reserve(std::size_t(m_mc * m_kc));
    m_blockB = packing.b.reserve(std::size_t(m_kc * m_nc));
  }
};

template <int LhsOrder, int RhsOrder>
void run(Index m, Index n, Index k, const GemmOperand& a, const GemmOperand& b, float* c, Index ldc,
         Blocking& blocking) {
  Eigen::internal::general_matrix_matrix_product<Index, float, LhsOrder, false, float, RhsOrder,
                                                 false, Eigen::ColMajor, 1>::run(m, n, k, a.data,
                                                                                 a.ld, b.data, b.ld,
                                                                                 c, 1, ldc, 1.0f,
                                                                                 blocking, nullptr);
}

}  // namespace

void gemm(int m, int n, int k, GemmOperand a, GemmOperand b, float* c, int ldc, bool accumulate,
          GemmPacking& packing) {
  if (m <= 0 || n <= 0) return;
  Eigen::Map<Matrix, 0, Eigen::OuterStride<>> out(c, m, n, Eigen::OuterStride<>(ldc));
  if (!accumulate) out.setZero();
  if (k <= 0) return;
  Blocking blocking(m, n, k, packing);
  if (!a.row_major && !b.row_major) {
    run<Eigen::ColMajor, Eigen::ColMajor>(m, n, k, a, b, c, ldc, blocking);
  } else if (a.row_major && !b.row_major) {
    run<Eigen::RowMajor, Eigen::ColMajor>(m, n, k, a, b, c, ldc, blocking);
  } else if (!a.row_major && b.row_major) {
    run<Eigen::ColMajor, Eigen::RowMajor>(m, n, k, a, b, c, ldc, blocking);
  } else {
    run<Eigen::RowMajor, Eigen::RowMajor>(m, n, k, a, b, c, ldc, blocking);
  }
}

}  // namespace fedgrid::nn
