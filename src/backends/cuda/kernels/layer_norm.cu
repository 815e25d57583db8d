#include <algorithm>

#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/layer_norm.cuh"
#include "backends/cuda/kernels/vec16.cuh"

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

// General path: one block per row, three passes over x. For rows too long for the fast path,
// unaligned pointers, or cols not a multiple of the vector width.
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

constexpr int kRowThreads = 256;
// Each lane keeps at most 32 fp32 values of its row in registers: 4 vectors of 8 fp16 or 8 of 4
// fp32. With kLanes lanes per row that holds cols <= 32 * kLanes (256, 512 or 1024).
template <typename T>
__host__ __device__ constexpr int MaxChunks() {
  return 32 / vec::Width<T>::kN;
}

template <int kLanes>
__device__ __forceinline__ float GroupSum(float v) {
  // xor offsets below kLanes stay inside the lane group; every lane of the warp takes part.
#pragma unroll
  for (int o = kLanes / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o, kLanes);
  return v;
}

// Fast path: kLanes lanes per row (kRowThreads / kLanes rows per block), 16-byte loads, the row
// read once into registers, then mean, variance around the mean, and the normalized output
// from registers. Lane l holds vector chunks l, l + kLanes, ... so each step of a group reads
// contiguous memory. The row loop is uniform per block so every lane reaches the shuffles.
template <typename T, int kLanes>
__global__ void __launch_bounds__(kRowThreads)
    layer_norm_rows_kernel(const T* __restrict__ x, const T* __restrict__ scale,
                           const T* __restrict__ bias, T* __restrict__ y, int64_t rows,
                           int64_t cols, float eps) {
  constexpr int kV = vec::Width<T>::kN;
  constexpr int kChunks = MaxChunks<T>();
  constexpr int kRowsPerBlock = kRowThreads / kLanes;
  const int lane = threadIdx.x % kLanes;
  const int64_t nchunks = cols / kV;
  const float inv_cols = 1.f / static_cast<float>(cols);
  for (int64_t first = int64_t{blockIdx.x} * kRowsPerBlock; first < rows;
       first += int64_t{gridDim.x} * kRowsPerBlock) {
    const int64_t row = first + threadIdx.x / kLanes;
    const bool live = row < rows;
    const T* xr = x + (live ? row : 0) * cols;
    float v[kChunks][kV];
    float sum = 0.f;
#pragma unroll
    for (int k = 0; k < kChunks; ++k) {
      const int64_t chunk = lane + int64_t{k} * kLanes;
      if (live && chunk < nchunks) {
        vec::ToFloat(vec::Load16(xr + chunk * kV), x, v[k]);
#pragma unroll
        for (int e = 0; e < kV; ++e) sum += v[k][e];
      }
    }
    const float mean = GroupSum<kLanes>(sum) * inv_cols;
    float sq = 0.f;
#pragma unroll
    for (int k = 0; k < kChunks; ++k) {
      const int64_t chunk = lane + int64_t{k} * kLanes;
      if (live && chunk < nchunks) {
#pragma unroll
        for (int e = 0; e < kV; ++e) {
          const float d = v[k][e] - mean;
          sq += d * d;
        }
      }
    }
    const float inv = rsqrtf(GroupSum<kLanes>(sq) * inv_cols + eps);
    if (!live) continue;
    T* yr = y + row * cols;
#pragma unroll
    for (int k = 0; k < kChunks; ++k) {
      const int64_t chunk = lane + int64_t{k} * kLanes;
      if (chunk >= nchunks) break;
      float o[kV], g[kV], b[kV];
      if (scale) vec::ToFloat(vec::Load16(scale + chunk * kV), scale, g);
      if (bias) vec::ToFloat(vec::Load16(bias + chunk * kV), bias, b);
#pragma unroll
      for (int e = 0; e < kV; ++e) {
        float r = (v[k][e] - mean) * inv;
        if (scale) r *= g[e];
        if (bias) r += b[e];
        o[e] = r;
      }
      vec::Store16(yr + chunk * kV, vec::FromFloat(o, y));
    }
  }
}

template <typename T>
bool LaunchRows(const T* x, const T* scale, const T* bias, T* y, int64_t rows, int64_t cols,
                float eps, cudaStream_t s) {
  constexpr int kV = vec::Width<T>::kN;
  const int64_t nchunks = cols / kV;
  auto grid = [&](int lanes) {
    const int64_t per_block = kRowThreads / lanes;
    return static_cast<unsigned>(
        std::clamp<int64_t>((rows + per_block - 1) / per_block, 1, int64_t{1} << 20));
  };
  constexpr int kChunks = MaxChunks<T>();
  if (nchunks <= 8 * kChunks) {
    layer_norm_rows_kernel<T, 8>
        <<<grid(8), kRowThreads, 0, s>>>(x, scale, bias, y, rows, cols, eps);
  } else if (nchunks <= 16 * kChunks) {
    layer_norm_rows_kernel<T, 16>
        <<<grid(16), kRowThreads, 0, s>>>(x, scale, bias, y, rows, cols, eps);
  } else if (nchunks <= 32 * kChunks) {
    layer_norm_rows_kernel<T, 32>
        <<<grid(32), kRowThreads, 0, s>>>(x, scale, bias, y, rows, cols, eps);
  } else {
    return false;
  }
  return true;
}

}  // namespace

void LaunchLayerNormGeneral(bool half, const void* x, const void* scale, const void* bias, void* y,
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

void LaunchLayerNorm(bool half, const void* x, const void* scale, const void* bias, void* y,
                     int64_t rows, int64_t cols, float epsilon, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  const bool vec_ok = cols % (half ? 8 : 4) == 0 && vec::Aligned16(x) && vec::Aligned16(scale) &&
                      vec::Aligned16(bias) && vec::Aligned16(y);
  if (vec_ok) {
    const bool done =
        half ? LaunchRows(static_cast<const __half*>(x), static_cast<const __half*>(scale),
                          static_cast<const __half*>(bias), static_cast<__half*>(y), rows, cols,
                          epsilon, s)
             : LaunchRows(static_cast<const float*>(x), static_cast<const float*>(scale),
                          static_cast<const float*>(bias), static_cast<float*>(y), rows, cols,
                          epsilon, s);
    if (done) return;
  }
  LaunchLayerNormGeneral(half, x, scale, bias, y, rows, cols, epsilon, s);
}

}  // namespace ridge::cuda::kernels
