#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/vec16.cuh"

namespace ridge::cuda::kernels {
namespace {

using namespace dev;  // NOLINT

// General path: one thread per output element, scalar loads. Kept for channel counts that are
// not a multiple of the vector width and for unaligned pointers.
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

// Outputs along W per thread: the inputs of one kernel row loaded for them are shared by the
// overlapping windows (3x3 s1: 6 loads instead of 12; 7x7 s1: 10 instead of 28).
constexpr int kTileW = 4;
constexpr int kVecThreads = 128;

// Fast path: each thread owns one 16-byte channel group (8 fp16 or 4 fp32 channels) and
// kTileW neighbouring outputs of one output row. KW/SW/DW > 0 are compile-time, so the
// input window of a kernel row lives in registers; KW == 0 reads them from p at run time and
// loads each tap directly (the L1 cache then provides the reuse). fp32 accumulation.
template <typename T, int KW, int SW, int DW>
__global__ void __launch_bounds__(kVecThreads)
    depthwise_vec_kernel(const T* __restrict__ x, const T* __restrict__ wt,
                         const T* __restrict__ bias, T* __restrict__ y, DepthwiseParams p) {
  constexpr int kV = vec::Width<T>::kN;
  const int64_t groups = p.c / kV;
  const int64_t tiles = (p.ow + kTileW - 1) / kTileW;
  const int64_t total = p.n * p.oh * tiles * groups;
  const int kw = KW > 0 ? KW : p.kw;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c0 = (i % groups) * kV;
    int64_t r = i / groups;
    const int64_t ox0 = (r % tiles) * kTileW;
    r /= tiles;
    const int64_t oy = r % p.oh, n = r / p.oh;

    float acc[kTileW][kV];
    float b[kV];
    if (bias) {
      vec::ToFloat(vec::Load16(bias + c0), bias, b);
    } else {
#pragma unroll
      for (int v = 0; v < kV; ++v) b[v] = 0.f;
    }
#pragma unroll
    for (int t = 0; t < kTileW; ++t)
#pragma unroll
      for (int v = 0; v < kV; ++v) acc[t][v] = b[v];

    for (int ky = 0; ky < p.kh; ++ky) {
      const int64_t iy = oy * p.sh - p.ph + int64_t{ky} * p.dh;
      if (iy < 0 || iy >= p.h) continue;
      const T* xrow = x + (n * p.h + iy) * p.w * p.c + c0;
      const T* wrow = wt + int64_t{ky} * kw * p.c + c0;
      if constexpr (KW > 0) {
        constexpr int kIn = (kTileW - 1) * SW + (KW - 1) * DW + 1;
        const int64_t ix0 = ox0 * SW - p.pw;
        uint4 in[kIn];
        bool ok[kIn];
#pragma unroll
        for (int j = 0; j < kIn; ++j) {
          const int64_t ix = ix0 + j;
          ok[j] = ix >= 0 && ix < p.w;
          in[j] = ok[j] ? vec::Load16(xrow + ix * p.c) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int kx = 0; kx < KW; ++kx) {
          float wf[kV];
          vec::ToFloat(vec::Load16(wrow + int64_t{kx} * p.c), wt, wf);
#pragma unroll
          for (int t = 0; t < kTileW; ++t) {
            const int j = t * SW + kx * DW;
            if (!ok[j]) continue;  // padding contributes nothing (as in the general path)
            float xf[kV];
            vec::ToFloat(in[j], x, xf);
#pragma unroll
            for (int v = 0; v < kV; ++v) acc[t][v] = fmaf(xf[v], wf[v], acc[t][v]);
          }
        }
      } else {
        for (int kx = 0; kx < kw; ++kx) {
          float wf[kV];
          vec::ToFloat(vec::Load16(wrow + int64_t{kx} * p.c), wt, wf);
#pragma unroll
          for (int t = 0; t < kTileW; ++t) {
            const int64_t ix = (ox0 + t) * p.sw - p.pw + int64_t{kx} * p.dw;
            if (ix < 0 || ix >= p.w) continue;
            float xf[kV];
            vec::ToFloat(vec::Load16(xrow + ix * p.c), x, xf);
#pragma unroll
            for (int v = 0; v < kV; ++v) acc[t][v] = fmaf(xf[v], wf[v], acc[t][v]);
          }
        }
      }
    }

    T* yrow = y + ((n * p.oh + oy) * p.ow + ox0) * p.c + c0;
#pragma unroll
    for (int t = 0; t < kTileW; ++t) {
      if (ox0 + t >= p.ow) break;
      float o[kV];
#pragma unroll
      for (int v = 0; v < kV; ++v) o[v] = Apply(p.act, acc[t][v]);
      vec::Store16(yrow + int64_t{t} * p.c, vec::FromFloat(o, y));
    }
  }
}

template <typename T>
void LaunchVec(const T* x, const T* w, const T* bias, T* y, const DepthwiseParams& p,
               cudaStream_t s) {
  constexpr int kV = vec::Width<T>::kN;
  const int64_t total = p.n * p.oh * ((p.ow + kTileW - 1) / kTileW) * (p.c / kV);
  const int64_t want = (total + kVecThreads - 1) / kVecThreads;
  const unsigned blocks = static_cast<unsigned>(std::clamp<int64_t>(want, 1, 132 * 32));
  const bool d1 = p.dw == 1;
#define RIDGE_DW_CASE(KW_, SW_)                                                            \
  if (p.kw == KW_ && p.sw == SW_ && d1) {                                                  \
    depthwise_vec_kernel<T, KW_, SW_, 1><<<blocks, kVecThreads, 0, s>>>(x, w, bias, y, p); \
    return;                                                                                \
  }
  RIDGE_DW_CASE(3, 1)
  RIDGE_DW_CASE(3, 2)
  RIDGE_DW_CASE(5, 1)
  RIDGE_DW_CASE(5, 2)
  RIDGE_DW_CASE(7, 1)
#undef RIDGE_DW_CASE
  depthwise_vec_kernel<T, 0, 0, 0><<<blocks, kVecThreads, 0, s>>>(x, w, bias, y, p);
}

bool Empty(const DepthwiseParams& p) { return p.n <= 0 || p.oh <= 0 || p.ow <= 0 || p.c <= 0; }

}  // namespace

void LaunchDepthwiseConvNhwcGeneral(bool half, const void* x, const void* weights, const void* bias,
                                    void* y, const DepthwiseParams& p, cudaStream_t s) {
  if (Empty(p)) return;
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

void LaunchDepthwiseConvNhwc(bool half, const void* x, const void* weights, const void* bias,
                             void* y, const DepthwiseParams& p, cudaStream_t s) {
  if (Empty(p)) return;
  const int vw = half ? 8 : 4;
  const bool vec_ok = p.c % vw == 0 && p.kh > 0 && p.kw > 0 && vec::Aligned16(x) &&
                      vec::Aligned16(weights) && vec::Aligned16(bias) && vec::Aligned16(y);
  // The fast kernel has 4 x vw fewer threads; with fewer than ~4 warps per SM of the H200
  // (132 SMs) it leaves the GPU idle and the general kernel wins. Measured, mobilenet_v2 fp16:
  // fast everywhere 0.354 ms at batch 1 (general 0.293) but 1.198 ms at batch 32 (general
  // 3.02); a threshold of 1024 threads per SM sent batch 32's small late layers back to the
  // general kernel (1.818 ms). This one keeps batch 32 fast and batch 1 mostly general.
  // RIDGE_CUDA_DEPTHWISE_FAST=always lets tests drive the fast kernel with small shapes.
  const int64_t fast_threads = p.n * p.oh * ((p.ow + 3) / 4) * (p.c / vw);
  constexpr int64_t kMinFastThreads = int64_t{132} * 128;
  const char* knob = std::getenv("RIDGE_CUDA_DEPTHWISE_FAST");
  const bool always = knob != nullptr && std::string_view(knob) == "always";
  if (!vec_ok || (fast_threads < kMinFastThreads && !always))
    return LaunchDepthwiseConvNhwcGeneral(half, x, weights, bias, y, p, s);
  if (half)
    LaunchVec(static_cast<const __half*>(x), static_cast<const __half*>(weights),
              static_cast<const __half*>(bias), static_cast<__half*>(y), p, s);
  else
    LaunchVec(static_cast<const float*>(x), static_cast<const float*>(weights),
              static_cast<const float*>(bias), static_cast<float*>(y), p, s);
}

}  // namespace ridge::cuda::kernels
