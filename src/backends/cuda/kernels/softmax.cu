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

template <typename T>
__global__ void softmax_strided_kernel(const T* x, T* y, int64_t outer, int64_t axis,
                                       int64_t inner) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < outer * inner;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t base = (i / inner) * axis * inner + i % inner;
    float m = -FLT_MAX;
    for (int64_t k = 0; k < axis; ++k) m = fmaxf(m, Load(x, base + k * inner));
    float sum = 0.f;
    for (int64_t k = 0; k < axis; ++k) sum += __expf(Load(x, base + k * inner) - m);
    const float inv = 1.f / sum;
    for (int64_t k = 0; k < axis; ++k)
      Store(y, base + k * inner, __expf(Load(x, base + k * inner) - m) * inv);
  }
}

}  // namespace

void LaunchSoftmaxStrided(bool half, const void* x, void* y, int64_t outer, int64_t axis,
                          int64_t inner, cudaStream_t s) {
  const int64_t n = outer * inner;
  if (n <= 0 || axis <= 0) return;
  int64_t b = (n + 255) / 256;
  const unsigned blocks = static_cast<unsigned>(b > 132 * 16 ? 132 * 16 : b);
  if (half)
    softmax_strided_kernel<<<blocks, 256, 0, s>>>(static_cast<const __half*>(x),
                                                  static_cast<__half*>(y), outer, axis, inner);
  else
    softmax_strided_kernel<<<blocks, 256, 0, s>>>(static_cast<const float*>(x),
                                                  static_cast<float*>(y), outer, axis, inner);
}

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
