#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/device_util.cuh"

namespace ridge::cuda::kernels {
namespace {

using namespace dev;  // NOLINT

template <typename T>
__device__ __forceinline__ void DepthwiseBody(const T* __restrict__ x, const T* __restrict__ wt,
                                              const T* __restrict__ bias, T* __restrict__ y,
                                              const DepthwiseParams& p) {
  const int64_t total = p.n * p.oh * p.ow * p.c;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % p.c;
    int64_t r = i / p.c;
    const int64_t ox = r % p.ow;
    r /= p.ow;
    const int64_t oy = r % p.oh, n = r / p.oh;
    float acc = bias ? Load(bias, c) : 0.f;
    for (int ky = 0; ky < p.kh; ++ky) {
      const int64_t iy = oy * p.sh - p.ph + int64_t{ky} * p.dh;
      if (iy < 0 || iy >= p.h) continue;
      for (int kx = 0; kx < p.kw; ++kx) {
        const int64_t ix = ox * p.sw - p.pw + int64_t{kx} * p.dw;
        if (ix < 0 || ix >= p.w) continue;
        acc += Load(x, ((n * p.h + iy) * p.w + ix) * p.c + c) *
               Load(wt, (int64_t{ky} * p.kw + kx) * p.c + c);
      }
    }
    Store(y, i, Apply(p.act, acc));
  }
}

__global__ void depthwise_conv_f16_nhwc_kernel(const __half* x, const __half* w, const __half* bias,
                                               __half* y, DepthwiseParams p) {
  DepthwiseBody(x, w, bias, y, p);
}

__global__ void depthwise_conv_f32_nhwc_kernel(const float* x, const float* w, const float* bias,
                                               float* y, DepthwiseParams p) {
  DepthwiseBody(x, w, bias, y, p);
}

}  // namespace

void LaunchDepthwiseConvNhwc(bool half, const void* x, const void* weights, const void* bias,
                             void* y, const DepthwiseParams& p, cudaStream_t s) {
  const unsigned blocks = Blocks(p.n * p.oh * p.ow * p.c);
  if (half)
    depthwise_conv_f16_nhwc_kernel<<<blocks, 256, 0, s>>>(
        static_cast<const __half*>(x), static_cast<const __half*>(weights),
        static_cast<const __half*>(bias), static_cast<__half*>(y), p);
  else
    depthwise_conv_f32_nhwc_kernel<<<blocks, 256, 0, s>>>(
        static_cast<const float*>(x), static_cast<const float*>(weights),
        static_cast<const float*>(bias), static_cast<float*>(y), p);
}

}  // namespace ridge::cuda::kernels
