// The depthwise tile kernels' per-thread body, shared by depthwise_tile.cu (one GPU thread per
// index) and a CPU test that runs every index on the host (tests/cuda/depthwise_tile_host_test.cu),
// so the tiling, padding and edge logic is checked on machines without a GPU.
//
// Thread i owns two channels (one __half2 or float2) and a TH x TW block of outputs. For every
// input row under the block it loads the row's window once, converts it to fp32 once, and feeds
// it to every output row and column that covers it: a 7x7 window costs about one load and one
// conversion per 5 FMAs instead of one per FMA. Window size, stride and tile are compile-time,
// so the window lives in registers.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/device_util.cuh"

// Unrolled on the GPU (the window must stay in registers); the host compiler has no such pragma.
#ifdef __CUDA_ARCH__
#define RIDGE_TILE_UNROLL _Pragma("unroll")
#else
#define RIDGE_TILE_UNROLL
#endif

namespace ridge::cuda::kernels::tile {

// Read-only loads: through the texture path on the GPU, plain on the host.
template <typename V>
__host__ __device__ __forceinline__ V ReadOnly(const V* p) {
#ifdef __CUDA_ARCH__
  return __ldg(p);
#else
  return *p;
#endif
}

// Two adjacent channels of the activation in its storage type, as fp32.
__host__ __device__ __forceinline__ float2 LoadPair(const __half* p) {
  return __half22float2(ReadOnly(reinterpret_cast<const __half2*>(p)));
}
__host__ __device__ __forceinline__ float2 LoadPair(const float* p) {
  return ReadOnly(reinterpret_cast<const float2*>(p));
}
__host__ __device__ __forceinline__ void StorePair(__half* p, float a, float b) {
  *reinterpret_cast<__half2*>(p) = __floats2half2_rn(a, b);
}
__host__ __device__ __forceinline__ void StorePair(float* p, float a, float b) {
  *reinterpret_cast<float2*>(p) = make_float2(a, b);
}

// How many threads (channel pairs x output blocks) cover p with TH x TW blocks.
__host__ __device__ inline int64_t Threads(const DepthwiseParams& p, int th, int tw) {
  return p.n * ((p.oh + th - 1) / th) * ((p.ow + tw - 1) / tw) * (p.c / 2);
}

template <typename T, int K, int S, int TH, int TW>
__host__ __device__ __forceinline__ void Thread(int64_t i, const T* __restrict__ x,
                                                const float* __restrict__ wt,
                                                const float* __restrict__ bias, T* __restrict__ y,
                                                const DepthwiseParams& p) {
  constexpr int kInW = (TW - 1) * S + K;  // input columns under TW outputs
  constexpr int kInH = (TH - 1) * S + K;  // input rows under TH outputs
  const int64_t pairs = p.c / 2;
  const int64_t tiles_w = (p.ow + TW - 1) / TW, tiles_h = (p.oh + TH - 1) / TH;
  // Channel pair fastest: a warp reads 32 consecutive pairs of one pixel (128 B in fp16).
  const int64_t c = (i % pairs) * 2;
  int64_t r = i / pairs;
  const int64_t ox0 = (r % tiles_w) * TW;
  r /= tiles_w;
  const int64_t oy0 = (r % tiles_h) * TH, n = r / tiles_h;

  const float2 b = bias ? ReadOnly(reinterpret_cast<const float2*>(bias + c)) : make_float2(0, 0);
  float2 acc[TH][TW];
  RIDGE_TILE_UNROLL
  for (int t = 0; t < TH; ++t) RIDGE_TILE_UNROLL
  for (int u = 0; u < TW; ++u) acc[t][u] = b;

  const int64_t iy0 = oy0 * S - p.ph, ix0 = ox0 * S - p.pw;
  const T* xn = x + n * p.h * p.w * p.c + c;
  RIDGE_TILE_UNROLL
  for (int rr = 0; rr < kInH; ++rr) {
    const int64_t iy = iy0 + rr;
    if (iy < 0 || iy >= p.h) continue;  // padding rows contribute nothing
    const T* xrow = xn + iy * p.w * p.c;
    float2 in[kInW];
    RIDGE_TILE_UNROLL
    for (int j = 0; j < kInW; ++j) {
      const int64_t ix = ix0 + j;
      in[j] = ix >= 0 && ix < p.w ? LoadPair(xrow + ix * p.c) : make_float2(0, 0);
    }
    RIDGE_TILE_UNROLL
    for (int t = 0; t < TH; ++t) {
      const int ky = rr - t * S;  // the kernel row that output row t applies to input row rr
      if (ky < 0 || ky >= K) continue;
      const float* wrow = wt + int64_t{ky} * K * p.c + c;
      RIDGE_TILE_UNROLL
      for (int kx = 0; kx < K; ++kx) {
        const float2 wv = ReadOnly(reinterpret_cast<const float2*>(wrow + int64_t{kx} * p.c));
        RIDGE_TILE_UNROLL
        for (int u = 0; u < TW; ++u) {
          const float2 xv = in[u * S + kx];
          acc[t][u].x = fmaf(xv.x, wv.x, acc[t][u].x);
          acc[t][u].y = fmaf(xv.y, wv.y, acc[t][u].y);
        }
      }
    }
  }

  RIDGE_TILE_UNROLL
  for (int t = 0; t < TH; ++t) {
    const int64_t oy = oy0 + t;
    if (oy >= p.oh) break;
    T* yrow = y + ((n * p.oh + oy) * p.ow + ox0) * p.c + c;
    RIDGE_TILE_UNROLL
    for (int u = 0; u < TW; ++u) {
      if (ox0 + u >= p.ow) break;
      StorePair(yrow + int64_t{u} * p.c, dev::Apply(p.act, acc[t][u].x),
                dev::Apply(p.act, acc[t][u].y));
    }
  }
}

}  // namespace ridge::cuda::kernels::tile

#undef RIDGE_TILE_UNROLL
