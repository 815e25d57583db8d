#include <cuda_fp16.h>

#include "backends/cuda/kernels/elementwise.cuh"

namespace ridge::cuda::kernels {
namespace {

__device__ __forceinline__ float Load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float Load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void Store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void Store(__half* p, int64_t i, float v) { p[i] = __float2half(v); }

__device__ __forceinline__ float Apply(ActParams p, float x) {
  switch (p.act) {
    case Act::kNone:
      return x;
    case Act::kRelu:
      return x > 0.f ? x : 0.f;
    case Act::kClip:
      return fminf(fmaxf(x, p.a), p.b);
    case Act::kSigmoid:
      return 1.f / (1.f + __expf(-x));
    case Act::kSilu:
      return x / (1.f + __expf(-x));
    case Act::kTanh:
      return tanhf(x);
    case Act::kErf:
      return erff(x);
    case Act::kGeluErf:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case Act::kHardSigmoid:
      return fminf(fmaxf(p.a * x + p.b, 0.f), 1.f);
    case Act::kHardSwish:
      return x * fminf(fmaxf(x / 6.f + 0.5f, 0.f), 1.f);
    case Act::kLeakyRelu:
      return x >= 0.f ? x : p.a * x;
    case Act::kNeg:
      return -x;
    case Act::kExp:
      return expf(x);
    case Act::kSqrt:
      return sqrtf(x);
    case Act::kReciprocal:
      return 1.f / x;
    case Act::kAbs:
      return fabsf(x);
  }
  return x;
}

__device__ __forceinline__ float Combine(BinOp op, float a, float b) {
  switch (op) {
    case BinOp::kAdd:
      return a + b;
    case BinOp::kSub:
      return a - b;
    case BinOp::kMul:
      return a * b;
    case BinOp::kDiv:
      return a / b;
    case BinOp::kPow:
      return powf(a, b);
    case BinOp::kMax:
      return fmaxf(a, b);
    case BinOp::kMin:
      return fminf(a, b);
  }
  return a;
}

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

// Grid-stride loops: enough blocks to fill 132 SMs several times, never more than needed.
unsigned Blocks(int64_t n) {
  int64_t b = (n + 255) / 256;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 132 * 16 ? 132 * 16 : b));
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
