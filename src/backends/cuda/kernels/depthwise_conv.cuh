// Depthwise 2-D convolution (group == channels, one filter per channel) on NHWC activations,
// with the bias and activation fused. cuDNN's grouped NHWC fp16 path is slow for this shape
// (mobilenet_v2 fp16 ran slower than fp32 through it), and the op is memory bound: one thread
// per output element, channels innermost so a warp reads 32 neighbouring channels.
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

// x: [N, H, W, C]; weights: [KH, KW, C]; bias: [C] or null; y: [N, OH, OW, C].
void LaunchDepthwiseConvNhwc(bool half, const void* x, const void* weights, const void* bias,
                             void* y, const DepthwiseParams& p, cudaStream_t s);

}  // namespace ridge::cuda::kernels
