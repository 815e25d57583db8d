// The depthwise tile kernels (depthwise_threads.cuh has the per-thread body and why it is
// fast): one instance per window, stride and tile, grid-stride over the output blocks.
#include <algorithm>

#include "backends/cuda/kernels/depthwise_threads.cuh"

namespace ridge::cuda::kernels {
namespace {

constexpr int kTileThreads = 256;

template <typename T, int K, int S, int TH, int TW>
__global__ void __launch_bounds__(kTileThreads)
    depthwise_tile_kernel(const T* __restrict__ x, const float* __restrict__ wt,
                          const float* __restrict__ bias, T* __restrict__ y, DepthwiseParams p) {
  const int64_t total = tile::Threads(p, TH, TW);
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x)
    tile::Thread<T, K, S, TH, TW>(i, x, wt, bias, y, p);
}

template <typename T, int TH, int TW>
bool LaunchTile(const T* x, const float* w, const float* bias, T* y, const DepthwiseParams& p,
                cudaStream_t s) {
  const int64_t total = tile::Threads(p, TH, TW);
  const int64_t want = (total + kTileThreads - 1) / kTileThreads;
  const unsigned blocks = static_cast<unsigned>(std::clamp<int64_t>(want, 1, 132 * 64));
#define RIDGE_DW_TILE(K_, S_)                                                                   \
  if (p.kh == K_ && p.sh == S_) {                                                               \
    depthwise_tile_kernel<T, K_, S_, TH, TW><<<blocks, kTileThreads, 0, s>>>(x, w, bias, y, p); \
    return true;                                                                                \
  }
  RIDGE_DW_TILE(3, 1)
  RIDGE_DW_TILE(3, 2)
  RIDGE_DW_TILE(5, 1)
  RIDGE_DW_TILE(5, 2)
  RIDGE_DW_TILE(7, 1)
  RIDGE_DW_TILE(7, 2)
#undef RIDGE_DW_TILE
  return false;
}

template <typename T>
bool LaunchTyped(DepthwiseKernel tile, const T* x, const float* w, const float* bias, T* y,
                 const DepthwiseParams& p, cudaStream_t s) {
  switch (tile) {
    case DepthwiseKernel::kTile1x4:
      return LaunchTile<T, 1, 4>(x, w, bias, y, p, s);
    case DepthwiseKernel::kTile2x4:
      return LaunchTile<T, 2, 4>(x, w, bias, y, p, s);
    case DepthwiseKernel::kTile4x4:
      return LaunchTile<T, 4, 4>(x, w, bias, y, p, s);
    default:
      return false;
  }
}

}  // namespace

bool LaunchDepthwiseTile(DepthwiseKernel tile, bool half, const void* x, const float* weights,
                         const float* bias, void* y, const DepthwiseParams& p, cudaStream_t s) {
  if (p.kh != p.kw || p.sh != p.sw || p.dh != 1 || p.dw != 1 || p.c % 2 != 0) return false;
  if (half)
    return LaunchTyped(tile, static_cast<const __half*>(x), weights, bias, static_cast<__half*>(y),
                       p, s);
  return LaunchTyped(tile, static_cast<const float*>(x), weights, bias, static_cast<float*>(y), p,
                     s);
}

}  // namespace ridge::cuda::kernels
