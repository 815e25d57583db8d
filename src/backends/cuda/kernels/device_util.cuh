// Device helpers shared by the .cu files (never included by host C++): fp32/fp16 loads and
// stores with fp32 arithmetic, the activation functions of ActParams and the binary ops.
#pragma once

#include <cuda_fp16.h>

#include "backends/cuda/kernels/elementwise.cuh"

namespace ridge::cuda::kernels::dev {

__host__ __device__ __forceinline__ float Load(const float* p, int64_t i) { return p[i]; }
__host__ __device__ __forceinline__ float Load(const __half* p, int64_t i) {
  return __half2float(p[i]);
}
__host__ __device__ __forceinline__ void Store(float* p, int64_t i, float v) { p[i] = v; }
__host__ __device__ __forceinline__ void Store(__half* p, int64_t i, float v) {
  p[i] = __float2half(v);
}

// Host and device: kernel bodies written as __host__ __device__ functions are also run on the
// CPU by tests (cuda_depthwise_host_test). The host takes expf where the GPU takes __expf.
__host__ __device__ __forceinline__ float FastExp(float x) {
#ifdef __CUDA_ARCH__
  return __expf(x);
#else
  return expf(x);
#endif
}

__host__ __device__ __forceinline__ float Apply(ActParams p, float x) {
  switch (p.act) {
    case Act::kNone:
      return x;
    case Act::kRelu:
      return x > 0.f ? x : 0.f;
    case Act::kClip:
      return fminf(fmaxf(x, p.a), p.b);
    case Act::kSigmoid:
      return 1.f / (1.f + FastExp(-x));
    case Act::kSilu:
      return x / (1.f + FastExp(-x));
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
    case Act::kGeluTanh:
      return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
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

// Grid-stride launch size: enough blocks to fill 132 SMs several times, never more than needed.
inline unsigned Blocks(int64_t n, int threads = 256) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 132 * 16 ? 132 * 16 : b));
}

}  // namespace ridge::cuda::kernels::dev
