// Kernels of the device probe (probe.cc drives them): a float4 copy for memory bandwidth, an
// empty kernel for launch and graph overheads, and a fill for the GEMM operands.
#include <cuda_fp16.h>

#include "backends/cuda/probe_kernels.cuh"

namespace ridge::cuda {
namespace {

__global__ void CopyKernel(const float4* __restrict__ in, float4* __restrict__ out, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i];
}

__global__ void EmptyKernel() {}

template <typename T>
__global__ void FillKernel(T* p, int64_t n, float v) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    p[i] = static_cast<T>(v * static_cast<float>(i % 17 + 1));
}

}  // namespace

cudaError_t LaunchProbeCopy(const void* in, void* out, int64_t n_float4, cudaStream_t s) {
  const int threads = 256;
  const int64_t blocks = (n_float4 + threads - 1) / threads;
  if (n_float4 <= 0 || blocks > 0x7fffffff) return cudaErrorInvalidValue;
  CopyKernel<<<static_cast<unsigned>(blocks), threads, 0, s>>>(static_cast<const float4*>(in),
                                                               static_cast<float4*>(out), n_float4);
  return cudaGetLastError();
}

cudaError_t LaunchProbeEmpty(cudaStream_t s) {
  EmptyKernel<<<1, 1, 0, s>>>();
  return cudaPeekAtLastError();
}

cudaError_t LaunchProbeFill(void* p, int64_t n, bool half, float scale, cudaStream_t s) {
  if (half)
    FillKernel<__half><<<1024, 256, 0, s>>>(static_cast<__half*>(p), n, scale);
  else
    FillKernel<float><<<1024, 256, 0, s>>>(static_cast<float*>(p), n, scale);
  return cudaGetLastError();
}

}  // namespace ridge::cuda
