// Softmax over the innermost axis of [rows, cols] (the engine moves the axis last first),
// accumulated in fp32: one block per row, max then sum of exp, by block reduction.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

void LaunchSoftmax(bool half, const void* x, void* y, int64_t rows, int64_t cols, cudaStream_t s);

// Softmax over a middle axis of [outer, axis, inner]: one thread per (outer, inner) column,
// neighbouring threads on neighbouring inner positions (coalesced). For short axes (YOLOv8's
// DFL softmax over 16 bins).
void LaunchSoftmaxStrided(bool half, const void* x, void* y, int64_t outer, int64_t axis,
                          int64_t inner, cudaStream_t s);

}  // namespace ridge::cuda::kernels
