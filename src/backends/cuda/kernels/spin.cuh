// A kernel that keeps the GPU busy for a given wall time. Profiling puts one in front of the
// steps it times, so the host enqueues every step while the GPU waits: the events between steps
// then measure GPU execution only, not the host's launch gaps (cuDNN's host-side work per call
// is tens of microseconds, more than many of the kernels it launches at batch 1).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

void LaunchSpin(int64_t nanoseconds, cudaStream_t s);

}  // namespace ridge::cuda::kernels
