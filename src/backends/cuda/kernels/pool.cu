#include <cuda_fp16.h>

#include <cfloat>

#include "backends/cuda/kernels/pool.cuh"

namespace ridge::cuda::kernels {
namespace {

__device__ __forceinline__ float Load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float Load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void Store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void Store(__half* p, int64_t i, float v) { p[i] = __float2half(v); }

template <typename T>
__global__ void pool_nhwc_kernel(const T* x, T* y, PoolParams p) {
  const int64_t total = p.n * p.oh * p.ow * p.c;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t c = i % p.c, r = i / p.c;
    int64_t ox = r % p.ow;
    r /= p.ow;
    int64_t oy = r % p.oh, n = r / p.oh;
    float acc = p.is_max ? -FLT_MAX : 0.f;
    int count = 0;
    for (int ky = 0; ky < p.kh; ++ky) {
      int64_t iy = oy * p.sh - p.ph + int64_t{ky} * p.dh;
      if (iy < 0 || iy >= p.h) continue;
      for (int kx = 0; kx < p.kw; ++kx) {
        int64_t ix = ox * p.sw - p.pw + int64_t{kx} * p.dw;
        if (ix < 0 || ix >= p.w) continue;
        float v = Load(x, ((n * p.h + iy) * p.w + ix) * p.c + c);
        acc = p.is_max ? fmaxf(acc, v) : acc + v;
        ++count;
      }
    }
    if (!p.is_max) {
      // count_include_pad divides by the window clipped to the padded input only.
      int64_t y0 = oy * p.sh - p.ph, x0 = ox * p.sw - p.pw;
      int64_t y1 = min(y0 + int64_t{p.kh - 1} * p.dh + 1, p.h + p.ph);
      int64_t x1 = min(x0 + int64_t{p.kw - 1} * p.dw + 1, p.w + p.pw);
      int64_t full = ((y1 - y0 + p.dh - 1) / p.dh) * ((x1 - x0 + p.dw - 1) / p.dw);
      int64_t div = p.count_include_pad ? full : count;
      acc = div > 0 ? acc / static_cast<float>(div) : 0.f;
    }
    Store(y, i, acc);
  }
}

template <typename T>
__global__ void global_avg_pool_partial_kernel(const T* x, float* partial, int64_t hw, int64_t c,
                                               int64_t chunks, int64_t per_chunk) {
  __shared__ float sum[8][33];
  const int64_t cgroups = (c + 31) / 32;
  const int64_t b = blockIdx.x / cgroups, ch = (blockIdx.x % cgroups) * 32 + (threadIdx.x & 31);
  const int64_t row = threadIdx.x >> 5, chunk = blockIdx.y;
  const int64_t begin = chunk * per_chunk, end = min(hw, begin + per_chunk);
  float acc = 0.f;
  if (ch < c)
    for (int64_t k = begin + row; k < end; k += 8) acc += Load(x, (b * hw + k) * c + ch);
  sum[row][threadIdx.x & 31] = acc;
  __syncthreads();
  if (row == 0 && ch < c) {
    for (int r = 1; r < 8; ++r) acc += sum[r][threadIdx.x & 31];
    partial[(b * chunks + chunk) * c + ch] = acc;
  }
}

template <typename T>
__global__ void global_avg_pool_final_kernel(const float* partial, T* y, int64_t n, int64_t hw,
                                             int64_t c, int64_t chunks) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n * c;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c, b = i / c;
    float acc = 0.f;
    for (int64_t k = 0; k < chunks; ++k) acc += partial[(b * chunks + k) * c + ch];
    Store(y, i, acc / static_cast<float>(hw));
  }
}

unsigned Blocks(int64_t n) {
  int64_t b = (n + 255) / 256;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 132 * 16 ? 132 * 16 : b));
}

}  // namespace

void LaunchPoolNhwc(bool half, const void* x, void* y, const PoolParams& p, cudaStream_t s) {
  int64_t total = p.n * p.oh * p.ow * p.c;
  if (half)
    pool_nhwc_kernel<<<Blocks(total), 256, 0, s>>>(static_cast<const __half*>(x),
                                                   static_cast<__half*>(y), p);
  else
    pool_nhwc_kernel<<<Blocks(total), 256, 0, s>>>(static_cast<const float*>(x),
                                                   static_cast<float*>(y), p);
}

int64_t GlobalAvgPoolChunks(int64_t hw) {
  const int64_t chunks = (hw + 255) / 256;  // ~256 rows of H*W per block
  return chunks < 1 ? 1 : (chunks > 64 ? 64 : chunks);
}

void LaunchGlobalAvgPoolNhwc(bool half, const void* x, void* y, float* partial, int64_t n,
                             int64_t hw, int64_t c, cudaStream_t s) {
  const int64_t chunks = GlobalAvgPoolChunks(hw), per = (hw + chunks - 1) / chunks;
  const dim3 grid(static_cast<unsigned>(n * ((c + 31) / 32)), static_cast<unsigned>(chunks));
  if (half) {
    global_avg_pool_partial_kernel<<<grid, 256, 0, s>>>(static_cast<const __half*>(x), partial, hw,
                                                        c, chunks, per);
    global_avg_pool_final_kernel<<<Blocks(n * c), 256, 0, s>>>(partial, static_cast<__half*>(y), n,
                                                               hw, c, chunks);
  } else {
    global_avg_pool_partial_kernel<<<grid, 256, 0, s>>>(static_cast<const float*>(x), partial, hw,
                                                        c, chunks, per);
    global_avg_pool_final_kernel<<<Blocks(n * c), 256, 0, s>>>(partial, static_cast<float*>(y), n,
                                                               hw, c, chunks);
  }
}

}  // namespace ridge::cuda::kernels
