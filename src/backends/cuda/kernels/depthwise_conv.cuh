// Depthwise 2-D convolution (group == channels, one filter per channel) on NHWC activations,
// with the bias and activation fused. cuDNN's grouped NHWC fp16 path is slow for this shape
// (mobilenet_v2 fp16 ran slower than fp32 through it), and the op is memory bound: 16-byte loads
// over channels, several outputs along W per thread sharing the loaded inputs.
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
// C a multiple of 8 (fp16) or 4 (fp32) with 16-byte aligned pointers takes the vectorized path
// (one 16-byte channel group and 4 outputs along W per thread); anything else the general one.
void LaunchDepthwiseConvNhwc(bool half, const void* x, const void* weights, const void* bias,
                             void* y, const DepthwiseParams& p, cudaStream_t s);
// Always the general path (one thread per output, scalar loads): the fallback, and the
// baseline the kernel test times the fast path against.
void LaunchDepthwiseConvNhwcGeneral(bool half, const void* x, const void* weights, const void* bias,
                                    void* y, const DepthwiseParams& p, cudaStream_t s);

}  // namespace ridge::cuda::kernels
