// NCHW <-> NHWC layout changes of rank-4 activations as batched 2-D transposes ([C, H*W] <->
// [H*W, C] per image) through 32x32 shared-memory tiles, so both the reads and the writes are
// coalesced (the generic permutation kernel reads with a stride of H*W: ~0.5 TB/s on the H200).
// The NHWC side may have more channels than the NCHW one: the extra channels are written as
// zeros (channel padding for Tensor Core convolutions).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

// False (nothing launched) when the shape exceeds the grid limits (more than 65535 images, or
// over 2M tiles of H*W): the caller uses the generic permutation instead.
// x [n, c, hw] -> y [n, hw, c_pad], c_pad >= c, channels c..c_pad-1 zero. elem_bytes 2 or 4.
bool LaunchNchwToNhwc(int elem_bytes, const void* x, void* y, int64_t n, int64_t c, int64_t hw,
                      int64_t c_pad, cudaStream_t s);
// x [n, hw, c] -> y [n, c, hw].
bool LaunchNhwcToNchw(int elem_bytes, const void* x, void* y, int64_t n, int64_t c, int64_t hw,
                      cudaStream_t s);

}  // namespace ridge::cuda::kernels
