// The general and vec16 depthwise kernels and the launcher that picks among all of them (the
// per-thread bodies are in depthwise_threads.cuh; the tile kernels in depthwise_tile.cu).
#include <algorithm>

#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/depthwise_threads.cuh"

namespace ridge::cuda::kernels {
namespace {

using namespace dev;  // NOLINT

template <typename T>
__global__ void depthwise_general_kernel(const T* __restrict__ x, const float* __restrict__ wt,
                                         const float* __restrict__ bias, T* __restrict__ y,
                                         DepthwiseParams p) {
  const int64_t total = general::Threads(p);
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x)
    general::Thread(i, x, wt, bias, y, p);
}

constexpr int kVecThreads = 128;

template <typename T, int KW, int SW, int DW>
__global__ void __launch_bounds__(kVecThreads)
    depthwise_vec_kernel(const T* __restrict__ x, const float* __restrict__ wt,
                         const float* __restrict__ bias, T* __restrict__ y, DepthwiseParams p) {
  const int64_t total = vec16::Threads<T>(p);
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x)
    vec16::Thread<T, KW, SW, DW>(i, x, wt, bias, y, p);
}

template <typename T>
void LaunchVec(const T* x, const float* w, const float* bias, T* y, const DepthwiseParams& p,
               cudaStream_t s) {
  const int64_t total = vec16::Threads<T>(p);
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
  const unsigned blocks = Blocks(general::Threads(p));
  if (half)
    depthwise_general_kernel<<<blocks, 256, 0, s>>>(static_cast<const __half*>(x), w, bias,
                                                    static_cast<__half*>(y), p);
  else
    depthwise_general_kernel<<<blocks, 256, 0, s>>>(static_cast<const float*>(x), w, bias,
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
