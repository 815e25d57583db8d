// LayerNormalization over the innermost `cols` elements of each row, fp32 statistics (mean,
// then variance around the mean: no cancellation), optional scale and bias of length cols.
// cols a multiple of 8 (fp16) or 4 (fp32), at most 1024, with 16-byte aligned pointers: 8-32
// lanes per row, the row read once into registers. Otherwise one block per row (general path).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

void LaunchLayerNorm(bool half, const void* x, const void* scale, const void* bias, void* y,
                     int64_t rows, int64_t cols, float epsilon, cudaStream_t s);
// Always the general path: the fallback, and the baseline the kernel test times against.
void LaunchLayerNormGeneral(bool half, const void* x, const void* scale, const void* bias, void* y,
                            int64_t rows, int64_t cols, float epsilon, cudaStream_t s);

}  // namespace ridge::cuda::kernels
