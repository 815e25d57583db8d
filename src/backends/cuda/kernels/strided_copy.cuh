// Strided copy of a rank <= 6 box: y[sum c_d * ys_d] = x[sum c_d * xs_d] for every coordinate c
// of `dims`. One kernel serves Concat (a dense input into a strided window of the output), Slice
// and Split (a strided window of the input into a dense output), in either layout.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

void LaunchStridedCopy(int elem_bytes, const void* x, void* y, int rank, const int64_t* dims,
                       const int64_t* x_strides, const int64_t* y_strides, cudaStream_t s);

// Nearest-neighbour resize of NHWC activations: source row = min(floor(oy / scale_h), h - 1)
// (ONNX coordinate_transformation_mode asymmetric, nearest_mode floor), same for columns.
void LaunchResizeNearestNhwc(int elem_bytes, const void* x, void* y, int64_t n, int64_t h,
                             int64_t w, int64_t c, int64_t oh, int64_t ow, float scale_h,
                             float scale_w, cudaStream_t s);

}  // namespace ridge::cuda::kernels
