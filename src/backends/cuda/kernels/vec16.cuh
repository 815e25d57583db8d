// 16-byte vector loads and stores for the memory-bound kernels (depthwise conv, LayerNorm):
// one uint4 holds 8 fp16 or 4 fp32 values, converted to fp32 registers for the arithmetic.
// Callers check that the pointer plus offset is 16-byte aligned before using these.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

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
__device__ __forceinline__ uint4 Load16(const T* p) {
  return __ldg(reinterpret_cast<const uint4*>(p));
}
template <typename T>
__device__ __forceinline__ void Store16(T* p, uint4 v) {
  *reinterpret_cast<uint4*>(p) = v;
}

__device__ __forceinline__ void ToFloat(uint4 u, const __half*, float* f) {
  const __half2* h = reinterpret_cast<const __half2*>(&u);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 p = __half22float2(h[i]);
    f[2 * i] = p.x;
    f[2 * i + 1] = p.y;
  }
}
__device__ __forceinline__ void ToFloat(uint4 u, const float*, float* f) {
  f[0] = __uint_as_float(u.x);
  f[1] = __uint_as_float(u.y);
  f[2] = __uint_as_float(u.z);
  f[3] = __uint_as_float(u.w);
}

__device__ __forceinline__ uint4 FromFloat(const float* f, const __half*) {
  uint4 u;
  __half2* h = reinterpret_cast<__half2*>(&u);
#pragma unroll
  for (int i = 0; i < 4; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
  return u;
}
__device__ __forceinline__ uint4 FromFloat(const float* f, const float*) {
  return make_uint4(__float_as_uint(f[0]), __float_as_uint(f[1]), __float_as_uint(f[2]),
                    __float_as_uint(f[3]));
}

// True when p is null or 16-byte aligned (null = optional operand absent).
inline bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace ridge::cuda::kernels::vec
