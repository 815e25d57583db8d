#include <cuda_fp16.h>

#include <cfloat>

#include "backends/cuda/kernels/softmax.cuh"

namespace ridge::cuda::kernels {
namespace {

__device__ __forceinline__ float Load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float Load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void Store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void Store(__half* p, int64_t i, float v) { p[i] = __float2half(v); }

// Block-wide reduction through shared memory (blockDim.x == 256).
template <bool kMax>
__device__ float BlockReduce(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) {
    float other = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? fmaxf(v, other) : v + other;
  }
  if ((threadIdx.x & 31) == 0) shared[threadIdx.x >> 5] = v;
  __syncthreads();
  float r = shared[0];
  for (int w = 1; w < 8; ++w) r = kMax ? fmaxf(r, shared[w]) : r + shared[w];
  __syncthreads();
  return r;
}

template <typename T>
__global__ void softmax_kernel(const T* x, T* y, int64_t cols) {
  __shared__ float shared[8];
  const int64_t base = blockIdx.x * cols;
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, Load(x, base + j));
  m = BlockReduce<true>(m, shared);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += __expf(Load(x, base + j) - m);
  sum = BlockReduce<false>(sum, shared);
  const float inv = 1.f / sum;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    Store(y, base + j, __expf(Load(x, base + j) - m) * inv);
}

}  // namespace

void LaunchSoftmax(bool half, const void* x, void* y, int64_t rows, int64_t cols, cudaStream_t s) {
  if (rows <= 0) return;
  if (half)
    softmax_kernel<<<static_cast<unsigned>(rows), 256, 0, s>>>(static_cast<const __half*>(x),
                                                               static_cast<__half*>(y), cols);
  else
    softmax_kernel<<<static_cast<unsigned>(rows), 256, 0, s>>>(static_cast<const float*>(x),
                                                               static_cast<float*>(y), cols);
}

}  // namespace ridge::cuda::kernels
