// 16-byte vector loads and stores for the memory-bound kernels (depthwise conv, LayerNorm):
// one uint4 holds 8 fp16 or 4 fp32 values, converted to fp32 registers for the arithmetic.
// Callers check that the pointer plus offset is 16-byte aligned before using these.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

#include "backends/cuda/kernels/host_device.cuh"

namespace ridge::cuda::kernels::vec {

template <typename T>
struct Width;
template <>
struct Width<__half> {
  static constexpr int kN = 8;
};
template <>
struct Width<float> {
  static constexpr int kN = 4;
};

template <typename T>
__host__ __device__ __forceinline__ uint4 Load16(const T* p) {
  return hd::ReadOnly(reinterpret_cast<const uint4*>(p));
}
template <typename T>
__host__ __device__ __forceinline__ void Store16(T* p, uint4 v) {
  *reinterpret_cast<uint4*>(p) = v;
}

// memcpy, not a pointer cast, moves the bits between the vector and its halves: the same
// register moves on the GPU, and defined behaviour for the host compiler, which runs these in
// tests (a cast broke them there under strict aliasing).
__host__ __device__ __forceinline__ void ToFloat(uint4 u, const __half*, float* f) {
  __half2 h[4];
  memcpy(static_cast<void*>(h), &u, sizeof u);  // void*: __half2 is not trivially assignable
  RIDGE_UNROLL
  for (int i = 0; i < 4; ++i) {
    const float2 p = __half22float2(h[i]);
    f[2 * i] = p.x;
    f[2 * i + 1] = p.y;
  }
}
__host__ __device__ __forceinline__ void ToFloat(uint4 u, const float*, float* f) {
  memcpy(f, &u, sizeof u);  // a bit cast: registers on the GPU
}

__host__ __device__ __forceinline__ uint4 FromFloat(const float* f, const __half*) {
  __half2 h[4];
  RIDGE_UNROLL
  for (int i = 0; i < 4; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
  uint4 u;
  memcpy(&u, h, sizeof u);
  return u;
}
__host__ __device__ __forceinline__ uint4 FromFloat(const float* f, const float*) {
  uint4 u;
  memcpy(&u, f, sizeof u);
  return u;
}

// True when p is null or 16-byte aligned (null = optional operand absent).
inline bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace ridge::cuda::kernels::vec
