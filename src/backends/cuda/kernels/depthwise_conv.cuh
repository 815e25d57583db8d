// Depthwise 2-D convolution (group == channels, one filter per channel) on NHWC activations,
// with the bias and activation fused. cuDNN's grouped NHWC fp16 path is slow for this shape
// (mobilenet_v2 fp16 ran slower than fp32 through it). Several kernels, because none wins
// everywhere: the engine times the ones that fit each layer at build (a tactic, like cuDNN's
// algorithms) and keeps the fastest.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/elementwise.cuh"

namespace ridge::cuda::kernels {

struct DepthwiseParams {
  int64_t n = 0, h = 0, w = 0, c = 0, oh = 0, ow = 0;
  int32_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  ActParams act;
};

enum class DepthwiseKernel : int32_t {
  // One thread per output, scalar loads: any shape, and the most threads (small batches).
  kGeneral = 0,
  // One 16-byte channel group (8 fp16 / 4 fp32 channels) and 4 outputs along W per thread.
  // C a multiple of 8 (fp16) or 4 (fp32).
  kVec16 = 1,
  // Two channels and a TH x TW block of outputs per thread: the inputs under the block are
  // loaded and converted once per kernel row and reused by every output that covers them, so
  // the fp32 FMAs, not loads and conversions, dominate. Square 3x3/5x5/7x7 windows, equal
  // strides 1 or 2, no dilation, even C.
  kTile1x4 = 2,
  kTile2x4 = 3,
  kTile4x4 = 4,
};
inline constexpr int32_t kDepthwiseKernelCount = 5;

// "general", "vec16", "tile2x4", ...
const char* DepthwiseKernelName(DepthwiseKernel k);
// Whether kernel k handles this shape (pointer alignment is checked at launch).
bool DepthwiseKernelFits(DepthwiseKernel k, bool half, const DepthwiseParams& p);

// x: [N, H, W, C] and y: [N, OH, OW, C] in the storage precision (fp16 when half); weights
// [KH, KW, C] and bias [C] (or null) in fp32 in both precisions: they are tiny, and fp32 keeps
// conversions out of the inner loop. Runs kernel k; the general kernel when k does not fit or a
// pointer is not aligned for its vector loads.
void LaunchDepthwiseConvNhwc(DepthwiseKernel k, bool half, const void* x, const float* weights,
                             const float* bias, void* y, const DepthwiseParams& p, cudaStream_t s);

// The tile kernels (depthwise_tile.cu); true when it launched one for (tile, p), false when the
// shape has no instance (the caller then runs another kernel).
bool LaunchDepthwiseTile(DepthwiseKernel tile, bool half, const void* x, const float* weights,
                         const float* bias, void* y, const DepthwiseParams& p, cudaStream_t s);

}  // namespace ridge::cuda::kernels
