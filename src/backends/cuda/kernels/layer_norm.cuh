// LayerNormalization over the innermost `cols` elements of each row, fp32 statistics (mean,
// then variance around the mean: no cancellation), optional scale and bias of length cols.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

void LaunchLayerNorm(bool half, const void* x, const void* scale, const void* bias, void* y,
                     int64_t rows, int64_t cols, float epsilon, cudaStream_t s);

}  // namespace ridge::cuda::kernels
