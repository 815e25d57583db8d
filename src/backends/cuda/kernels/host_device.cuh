// Helpers for kernel code written as __host__ __device__ functions, which tests also run on the
// CPU (tests/cuda/depthwise_host_test.cu): the GPU build keeps its intrinsics, the host build
// gets plain equivalents.
#pragma once

#include <cuda_runtime.h>

// `#pragma unroll` on the GPU; nothing on the host, whose compiler would warn about it.
// RIDGE_UNROLL_BY(4): `#pragma unroll 4` on the GPU.
#ifdef __CUDA_ARCH__
#define RIDGE_UNROLL _Pragma("unroll")
#define RIDGE_PRAGMA_(x) _Pragma(#x)
#define RIDGE_UNROLL_BY(n) RIDGE_PRAGMA_(unroll n)
#else
#define RIDGE_UNROLL
#define RIDGE_UNROLL_BY(n)
#endif

namespace ridge::cuda::kernels::hd {

// Read-only loads: through the texture path (__ldg) on the GPU, plain on the host.
template <typename V>
__host__ __device__ __forceinline__ V ReadOnly(const V* p) {
#ifdef __CUDA_ARCH__
  return __ldg(p);
#else
  return *p;
#endif
}

}  // namespace ridge::cuda::kernels::hd
