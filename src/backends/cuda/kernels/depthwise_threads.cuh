// The per-thread bodies of every depthwise kernel, shared by the kernels (depthwise_conv.cu,
// depthwise_tile.cu: one GPU thread per index) and a CPU test that runs every index on the host
// (tests/cuda/depthwise_host_test.cu), so the tiling, index decode, padding and edges are checked
// on machines without a GPU. Everything here is __host__ __device__.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/host_device.cuh"
#include "backends/cuda/kernels/vec16.cuh"

namespace ridge::cuda::kernels::general {

// One thread per output element, scalar loads: any shape, any pointer.
template <typename T>
__host__ __device__ __forceinline__ void Thread(int64_t i, const T* __restrict__ x,
                                                const float* __restrict__ wt,
                                                const float* __restrict__ bias, T* __restrict__ y,
                                                const DepthwiseParams& p) {
  const int64_t c = i % p.c;
  int64_t r = i / p.c;
  const int64_t ox = r % p.ow;
  r /= p.ow;
  const int64_t oy = r % p.oh, n = r / p.oh;
  float acc = bias ? bias[c] : 0.f;
  for (int ky = 0; ky < p.kh; ++ky) {
    const int64_t iy = oy * p.sh - p.ph + int64_t{ky} * p.dh;
    if (iy < 0 || iy >= p.h) continue;
    for (int kx = 0; kx < p.kw; ++kx) {
      const int64_t ix = ox * p.sw - p.pw + int64_t{kx} * p.dw;
      if (ix < 0 || ix >= p.w) continue;
      acc += dev::Load(x, ((n * p.h + iy) * p.w + ix) * p.c + c) *
             wt[(int64_t{ky} * p.kw + kx) * p.c + c];
    }
  }
  dev::Store(y, i, dev::Apply(p.act, acc));
}

__host__ __device__ inline int64_t Threads(const DepthwiseParams& p) {
  return p.n * p.oh * p.ow * p.c;
}

}  // namespace ridge::cuda::kernels::general

namespace ridge::cuda::kernels::vec16 {

// Outputs along W per thread: the inputs of one kernel row loaded for them are shared by the
// overlapping windows (3x3 s1: 6 loads instead of 12; 7x7 s1: 10 instead of 28).
constexpr int kTileW = 4;

// kN consecutive fp32 values (kN a multiple of 4, p 16-byte aligned).
template <int kN>
__host__ __device__ __forceinline__ void LoadFloats(const float* p, float* f) {
  RIDGE_UNROLL
  for (int q = 0; q < kN / 4; ++q) {
    const uint4 v = vec::Load16(p + 4 * q);
    vec::ToFloat(v, p, f + 4 * q);
  }
}

template <typename T>
__host__ __device__ inline int64_t Threads(const DepthwiseParams& p) {
  return p.n * p.oh * ((p.ow + kTileW - 1) / kTileW) * (p.c / vec::Width<T>::kN);
}

// One 16-byte channel group (8 fp16 or 4 fp32 channels) and kTileW neighbouring outputs of one
// output row per thread. KW/SW/DW > 0 are compile-time, so the input window of a kernel row
// lives in registers; KW == 0 reads them from p at run time and loads each tap directly (the L1
// cache then provides the reuse). fp32 accumulation.
template <typename T, int KW, int SW, int DW>
__host__ __device__ __forceinline__ void Thread(int64_t i, const T* __restrict__ x,
                                                const float* __restrict__ wt,
                                                const float* __restrict__ bias, T* __restrict__ y,
                                                const DepthwiseParams& p) {
  constexpr int kV = vec::Width<T>::kN;
  const int64_t groups = p.c / kV;
  const int64_t tiles = (p.ow + kTileW - 1) / kTileW;
  const int kw = KW > 0 ? KW : p.kw;
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
    RIDGE_UNROLL
    for (int v = 0; v < kV; ++v) b[v] = 0.f;
  }
  RIDGE_UNROLL
  for (int t = 0; t < kTileW; ++t) RIDGE_UNROLL
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
      RIDGE_UNROLL
      for (int j = 0; j < kIn; ++j) {
        const int64_t ix = ix0 + j;
        ok[j] = ix >= 0 && ix < p.w;
        in[j] = ok[j] ? vec::Load16(xrow + ix * p.c) : make_uint4(0, 0, 0, 0);
      }
      RIDGE_UNROLL
      for (int kx = 0; kx < KW; ++kx) {
        float wf[kV];
        LoadFloats<kV>(wrow + int64_t{kx} * p.c, wf);
        RIDGE_UNROLL
        for (int t = 0; t < kTileW; ++t) {
          const int j = t * SW + kx * DW;
          if (!ok[j]) continue;  // padding contributes nothing (as in the general kernel)
          float xf[kV];
          vec::ToFloat(in[j], x, xf);
          RIDGE_UNROLL
          for (int v = 0; v < kV; ++v) acc[t][v] = fmaf(xf[v], wf[v], acc[t][v]);
        }
      }
    } else {
      for (int kx = 0; kx < kw; ++kx) {
        float wf[kV];
        LoadFloats<kV>(wrow + int64_t{kx} * p.c, wf);
        RIDGE_UNROLL
        for (int t = 0; t < kTileW; ++t) {
          const int64_t ix = (ox0 + t) * p.sw - p.pw + int64_t{kx} * p.dw;
          if (ix < 0 || ix >= p.w) continue;
          float xf[kV];
          vec::ToFloat(vec::Load16(xrow + ix * p.c), x, xf);
          RIDGE_UNROLL
          for (int v = 0; v < kV; ++v) acc[t][v] = fmaf(xf[v], wf[v], acc[t][v]);
        }
      }
    }
  }

  T* yrow = y + ((n * p.oh + oy) * p.ow + ox0) * p.c + c0;
  RIDGE_UNROLL
  for (int t = 0; t < kTileW; ++t) {
    if (ox0 + t >= p.ow) break;
    float o[kV];
    RIDGE_UNROLL
    for (int v = 0; v < kV; ++v) o[v] = dev::Apply(p.act, acc[t][v]);
    vec::Store16(yrow + int64_t{t} * p.c, vec::FromFloat(o, y));
  }
}

}  // namespace ridge::cuda::kernels::vec16

namespace ridge::cuda::kernels::tile {

// Thread i owns two channels (one __half2 or float2) and a TH x TW block of outputs. For every
// input row under the block it loads the row's window once, converts it to fp32 once, and feeds
// it to every output row and column that covers it: a 7x7 window costs about one load and one
// conversion per 5 FMAs instead of one per FMA. Window size, stride and tile are compile-time,
// so the window lives in registers.

// Two adjacent channels of the activation in its storage type, as fp32.
__host__ __device__ __forceinline__ float2 LoadPair(const __half* p) {
  return __half22float2(hd::ReadOnly(reinterpret_cast<const __half2*>(p)));
}
__host__ __device__ __forceinline__ float2 LoadPair(const float* p) {
  return hd::ReadOnly(reinterpret_cast<const float2*>(p));
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

  const float2 b =
      bias ? hd::ReadOnly(reinterpret_cast<const float2*>(bias + c)) : make_float2(0, 0);
  float2 acc[TH][TW];
  RIDGE_UNROLL
  for (int t = 0; t < TH; ++t) RIDGE_UNROLL
  for (int u = 0; u < TW; ++u) acc[t][u] = b;

  const int64_t iy0 = oy0 * S - p.ph, ix0 = ox0 * S - p.pw;
  const T* xn = x + n * p.h * p.w * p.c + c;
  RIDGE_UNROLL
  for (int rr = 0; rr < kInH; ++rr) {
    const int64_t iy = iy0 + rr;
    if (iy < 0 || iy >= p.h) continue;  // padding rows contribute nothing
    const T* xrow = xn + iy * p.w * p.c;
    float2 in[kInW];
    RIDGE_UNROLL
    for (int j = 0; j < kInW; ++j) {
      const int64_t ix = ix0 + j;
      in[j] = ix >= 0 && ix < p.w ? LoadPair(xrow + ix * p.c) : make_float2(0, 0);
    }
    RIDGE_UNROLL
    for (int t = 0; t < TH; ++t) {
      const int ky = rr - t * S;  // the kernel row that output row t applies to input row rr
      if (ky < 0 || ky >= K) continue;
      const float* wrow = wt + int64_t{ky} * K * p.c + c;
      RIDGE_UNROLL
      for (int kx = 0; kx < K; ++kx) {
        const float2 wv = hd::ReadOnly(reinterpret_cast<const float2*>(wrow + int64_t{kx} * p.c));
        RIDGE_UNROLL
        for (int u = 0; u < TW; ++u) {
          const float2 xv = in[u * S + kx];
          acc[t][u].x = fmaf(xv.x, wv.x, acc[t][u].x);
          acc[t][u].y = fmaf(xv.y, wv.y, acc[t][u].y);
        }
      }
    }
  }

  RIDGE_UNROLL
  for (int t = 0; t < TH; ++t) {
    const int64_t oy = oy0 + t;
    if (oy >= p.oh) break;
    T* yrow = y + ((n * p.oh + oy) * p.ow + ox0) * p.c + c;
    RIDGE_UNROLL
    for (int u = 0; u < TW; ++u) {
      if (ox0 + u >= p.ow) break;
      StorePair(yrow + int64_t{u} * p.c, dev::Apply(p.act, acc[t][u].x),
                dev::Apply(p.act, acc[t][u].y));
    }
  }
}

}  // namespace ridge::cuda::kernels::tile
