#include <cuda_fp16.h>

#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/elementwise.cuh"

namespace ridge::cuda::kernels {
namespace {

using namespace dev;  // NOLINT: Load/Store/Apply/Combine

template <typename T>
__global__ void unary_kernel(const T* x, T* y, int64_t n, ActParams act) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    Store(y, i, Apply(act, Load(x, i)));
}

template <typename T>
__global__ void binary_same_kernel(BinOp op, const T* a, const T* b, T* y, int64_t n,
                                   ActParams epi) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    Store(y, i, Apply(epi, Combine(op, Load(a, i), Load(b, i))));
}

template <typename T>
__global__ void binary_broadcast_kernel(BinOp op, const T* a, const T* b, T* y, int64_t n,
                                        BroadcastIndex idx, ActParams epi) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rem = i, ia = 0, ib = 0;
    for (int d = idx.rank - 1; d >= 0; --d) {
      int64_t c = rem % idx.dims[d];
      rem /= idx.dims[d];
      ia += c * idx.stride_a[d];
      ib += c * idx.stride_b[d];
    }
    Store(y, i, Apply(epi, Combine(op, Load(a, ia), Load(b, ib))));
  }
}

template <typename T>
__global__ void bias_act_kernel(T* y, const T* bias, int64_t n, int64_t channels, int64_t inner,
                                ActParams act) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    float v = Load(y, i);
    if (bias) v += Load(bias, (i / inner) % channels);
    Store(y, i, Apply(act, v));
  }
}

}  // namespace

void LaunchUnary(bool half, const void* x, void* y, int64_t n, ActParams act, cudaStream_t s) {
  if (half)
    unary_kernel<<<Blocks(n), 256, 0, s>>>(static_cast<const __half*>(x), static_cast<__half*>(y),
                                           n, act);
  else
    unary_kernel<<<Blocks(n), 256, 0, s>>>(static_cast<const float*>(x), static_cast<float*>(y), n,
                                           act);
}

void LaunchBinary(bool half, BinOp op, const void* a, const void* b, void* y, int64_t n,
                  const BroadcastIndex& index, bool same_shape, ActParams epi, cudaStream_t s) {
  if (half) {
    auto *pa = static_cast<const __half*>(a), *pb = static_cast<const __half*>(b);
    auto* py = static_cast<__half*>(y);
    if (same_shape)
      binary_same_kernel<<<Blocks(n), 256, 0, s>>>(op, pa, pb, py, n, epi);
    else
      binary_broadcast_kernel<<<Blocks(n), 256, 0, s>>>(op, pa, pb, py, n, index, epi);
  } else {
    auto *pa = static_cast<const float*>(a), *pb = static_cast<const float*>(b);
    auto* py = static_cast<float*>(y);
    if (same_shape)
      binary_same_kernel<<<Blocks(n), 256, 0, s>>>(op, pa, pb, py, n, epi);
    else
      binary_broadcast_kernel<<<Blocks(n), 256, 0, s>>>(op, pa, pb, py, n, index, epi);
  }
}

void LaunchBiasAct(bool half, void* y, const void* bias, int64_t n, int64_t channels, int64_t inner,
                   ActParams act, cudaStream_t s) {
  if (half)
    bias_act_kernel<<<Blocks(n), 256, 0, s>>>(
        static_cast<__half*>(y), static_cast<const __half*>(bias), n, channels, inner, act);
  else
    bias_act_kernel<<<Blocks(n), 256, 0, s>>>(
        static_cast<float*>(y), static_cast<const float*>(bias), n, channels, inner, act);
}

}  // namespace ridge::cuda::kernels
