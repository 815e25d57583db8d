#include <algorithm>

#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/vec16.cuh"

namespace ridge::cuda::kernels {
namespace {

using namespace dev;  // NOLINT

// General path: one thread per output element, scalar loads. Kept for channel counts that are
// not a multiple of the vector width and for unaligned pointers.
template <typename T>
__device__ __forceinline__ void DepthwiseBody(const T* __restrict__ x, const float* __restrict__ wt,
                                              const float* __restrict__ bias, T* __restrict__ y,
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

__global__ void depthwise_conv_f16_nhwc_kernel(const __half* x, const float* w, const float* bias,
                                               __half* y, DepthwiseParams p) {
  DepthwiseBody(x, w, bias, y, p);
}

__global__ void depthwise_conv_f32_nhwc_kernel(const float* x, const float* w, const float* bias,
                                               float* y, DepthwiseParams p) {
  DepthwiseBody(x, w, bias, y, p);
}

// kN consecutive fp32 values (kN a multiple of 4, p 16-byte aligned).
template <int kN>
__device__ __forceinline__ void LoadFloats(const float* p, float* f) {
#pragma unroll
  for (int q = 0; q < kN / 4; ++q) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(p) + q);
    f[4 * q] = v.x;
    f[4 * q + 1] = v.y;
    f[4 * q + 2] = v.z;
    f[4 * q + 3] = v.w;
  }
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
    depthwise_vec_kernel(const T* __restrict__ x, const float* __restrict__ wt,
                         const float* __restrict__ bias, T* __restrict__ y, DepthwiseParams p) {
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
      LoadFloats<kV>(bias + c0, b);
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
      const float* wrow = wt + int64_t{ky} * kw * p.c + c0;
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
          LoadFloats<kV>(wrow + int64_t{kx} * p.c, wf);
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
          LoadFloats<kV>(wrow + int64_t{kx} * p.c, wf);
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
void LaunchVec(const T* x, const float* w, const float* bias, T* y, const DepthwiseParams& p,
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

void LaunchGeneral(bool half, const void* x, const float* w, const float* bias, void* y,
                   const DepthwiseParams& p, cudaStream_t s) {
  const unsigned blocks = Blocks(p.n * p.oh * p.ow * p.c);
  if (half)
    depthwise_conv_f16_nhwc_kernel<<<blocks, 256, 0, s>>>(static_cast<const __half*>(x), w, bias,
                                                          static_cast<__half*>(y), p);
  else
    depthwise_conv_f32_nhwc_kernel<<<blocks, 256, 0, s>>>(static_cast<const float*>(x), w, bias,
                                                          static_cast<float*>(y), p);
}

bool IsTile(DepthwiseKernel k) {
  return k == DepthwiseKernel::kTile1x4 || k == DepthwiseKernel::kTile2x4 ||
         k == DepthwiseKernel::kTile4x4;
}

}  // namespace

const char* DepthwiseKernelName(DepthwiseKernel k) {
  switch (k) {
    case DepthwiseKernel::kGeneral:
      return "general";
    case DepthwiseKernel::kVec16:
      return "vec16";
    case DepthwiseKernel::kTile1x4:
      return "tile1x4";
    case DepthwiseKernel::kTile2x4:
      return "tile2x4";
    case DepthwiseKernel::kTile4x4:
      return "tile4x4";
  }
  return "unknown";
}

bool DepthwiseKernelFits(DepthwiseKernel k, bool half, const DepthwiseParams& p) {
  if (p.kh <= 0 || p.kw <= 0) return false;
  if (k == DepthwiseKernel::kGeneral) return true;
  if (k == DepthwiseKernel::kVec16) return p.c % (half ? 8 : 4) == 0;
  if (!IsTile(k)) return false;
  const bool window = p.kh == p.kw && (p.kh == 3 || p.kh == 5 || p.kh == 7);
  return window && p.sh == p.sw && (p.sh == 1 || p.sh == 2) && p.dh == 1 && p.dw == 1 &&
         p.c % 2 == 0;
}

void LaunchDepthwiseConvNhwc(DepthwiseKernel k, bool half, const void* x, const float* weights,
                             const float* bias, void* y, const DepthwiseParams& p, cudaStream_t s) {
  if (Empty(p)) return;
  if (!DepthwiseKernelFits(k, half, p)) k = DepthwiseKernel::kGeneral;
  if (IsTile(k)) {
    // Two channels per access: 4-byte (fp16) or 8-byte (fp32) loads, 8-byte weight loads.
    const uintptr_t mask = half ? 3u : 7u;
    const auto low = [&](const void* q) { return reinterpret_cast<uintptr_t>(q) & mask; };
    const auto low8 = [](const void* q) { return reinterpret_cast<uintptr_t>(q) & 7u; };
    if (low(x) == 0 && low(y) == 0 && low8(weights) == 0 && low8(bias) == 0 &&
        LaunchDepthwiseTile(k, half, x, weights, bias, y, p, s))
      return;
    return LaunchGeneral(half, x, weights, bias, y, p, s);
  }
  if (k == DepthwiseKernel::kVec16 && vec::Aligned16(x) && vec::Aligned16(weights) &&
      vec::Aligned16(bias) && vec::Aligned16(y)) {
    if (half)
      LaunchVec(static_cast<const __half*>(x), weights, bias, static_cast<__half*>(y), p, s);
    else
      LaunchVec(static_cast<const float*>(x), weights, bias, static_cast<float*>(y), p, s);
    return;
  }
  LaunchGeneral(half, x, weights, bias, y, p, s);
}

}  // namespace ridge::cuda::kernels
