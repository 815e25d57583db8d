// Generic permutation of a dense tensor (rank <= 6): the Transpose op and the NCHW <-> NHWC
// layout changes the engine inserts at graph inputs/outputs and around layout-bound ops.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

// y has dims out_dims; y[o] = x[sum(o_d * in_stride_for_out_d)]. elem_bytes: 2 or 4.
void LaunchTranspose(int elem_bytes, const void* x, void* y, int rank, const int64_t* out_dims,
                     const int64_t* in_strides_for_out, cudaStream_t s);

}  // namespace ridge::cuda::kernels
