// Softmax over the innermost axis of [rows, cols] (the engine moves the axis last first),
// accumulated in fp32: one block per row, max then sum of exp, by block reduction.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

void LaunchSoftmax(bool half, const void* x, void* y, int64_t rows, int64_t cols, cudaStream_t s);

}  // namespace ridge::cuda::kernels
