// Launchers for the device probe's kernels (probe_kernels.cu). Plain CUDA types only, so the
// C++20 host code (probe.cc) and nvcc's C++17 both read this header.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda {

// out[i] = in[i] for n_float4 16-byte elements (both 16-byte aligned, as cudaMalloc gives).
cudaError_t LaunchProbeCopy(const void* in, void* out, int64_t n_float4, cudaStream_t s);
// One empty kernel; returns cudaPeekAtLastError (cheap enough to call per launch).
cudaError_t LaunchProbeEmpty(cudaStream_t s);
// p[i] = scale * (i % 17 + 1), as fp16 (half) or fp32.
cudaError_t LaunchProbeFill(void* p, int64_t n, bool half, float scale, cudaStream_t s);

}  // namespace ridge::cuda
