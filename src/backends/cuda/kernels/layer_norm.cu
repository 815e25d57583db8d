#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/layer_norm.cuh"

namespace ridge::cuda::kernels {
namespace {

using namespace dev;  // NOLINT

// Sum over the block (blockDim.x == 256, 8 warps).
__device__ float BlockSum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if ((threadIdx.x & 31) == 0) shared[threadIdx.x >> 5] = v;
  __syncthreads();
  float r = 0.f;
  for (int w = 0; w < 8; ++w) r += shared[w];
  __syncthreads();
  return r;
}

template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* scale, const T* bias, T* y, int64_t cols,
                                  float eps) {
  __shared__ float shared[8];
  const int64_t base = blockIdx.x * cols;
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += Load(x, base + j);
  const float mean = BlockSum(sum, shared) / static_cast<float>(cols);
  float sq = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float d = Load(x, base + j) - mean;
    sq += d * d;
  }
  const float inv = rsqrtf(BlockSum(sq, shared) / static_cast<float>(cols) + eps);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float v = (Load(x, base + j) - mean) * inv;
    if (scale) v *= Load(scale, j);
    if (bias) v += Load(bias, j);
    Store(y, base + j, v);
  }
}

}  // namespace

void LaunchLayerNorm(bool half, const void* x, const void* scale, const void* bias, void* y,
                     int64_t rows, int64_t cols, float epsilon, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  const unsigned grid = static_cast<unsigned>(rows);
  if (half)
    layer_norm_kernel<<<grid, 256, 0, s>>>(
        static_cast<const __half*>(x), static_cast<const __half*>(scale),
        static_cast<const __half*>(bias), static_cast<__half*>(y), cols, epsilon);
  else
    layer_norm_kernel<<<grid, 256, 0, s>>>(
        static_cast<const float*>(x), static_cast<const float*>(scale),
        static_cast<const float*>(bias), static_cast<float*>(y), cols, epsilon);
}

}  // namespace ridge::cuda::kernels
