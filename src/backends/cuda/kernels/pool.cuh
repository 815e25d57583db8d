// MaxPool / AveragePool over NHWC activations (channels innermost, so neighbouring threads read
// neighbouring channels: coalesced). Accumulates in fp32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

struct PoolParams {
  int64_t n = 0, h = 0, w = 0, c = 0, oh = 0, ow = 0;
  int32_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool is_max = true;
  bool count_include_pad = false;
};

void LaunchPoolNhwc(bool half, const void* x, void* y, const PoolParams& p, cudaStream_t s);

// [N, H*W, C] -> [N, C]: the mean over H*W (GlobalAveragePool on NHWC). Two passes: blocks of
// 32 channels x 8 rows sum `chunks` slices of H*W into fp32 `partial` (n * chunks * c floats),
// then one thread per (n, c) adds the slices. Large maps with few channels (EfficientNet's
// 112x112x32) get many blocks instead of 32 threads.
int64_t GlobalAvgPoolChunks(int64_t hw);
void LaunchGlobalAvgPoolNhwc(bool half, const void* x, void* y, float* partial, int64_t n,
                             int64_t hw, int64_t c, cudaStream_t s);

}  // namespace ridge::cuda::kernels
