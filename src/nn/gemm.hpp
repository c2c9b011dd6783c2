// Matrix product C (+)= A B on raw float buffers through Eigen's GEBP kernel, with the packing
// buffers taken from a reusable scratch (Eigen's own product allocates them on every call once
// they exceed 128 KiB). Used by Conv2d, whose chunked products would otherwise allocate per chunk.
#pragma once

#include "nn/model.hpp"

namespace fedgrid::nn {

// An operand: `rows x cols` at `data`, column-major (element (i, j) at data[i + j*ld]) or
// row-major (at data[i*ld + j]).
struct GemmOperand {
  const float* data;
  int ld;
  bool row_major;
};

// C (m x n, column-major, leading dimension ldc) = A (m x k) B (k x n), or += when accumulate.
// No allocation once `packing` holds the largest blocks of the shapes it has seen.
void gemm(int m, int n, int k, GemmOperand a, GemmOperand b, float* c, int ldc, bool accumulate,
          GemmPacking& packing);

}  // namespace fedgrid::nn
