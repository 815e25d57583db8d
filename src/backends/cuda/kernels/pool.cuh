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

// C a multiple of 8 (fp16) / 4 (fp32) with x and y 16-byte aligned: one thread per output pixel
// and 16-byte channel group; anything else the general kernel. Both give identical results
// (same fp32 operations in the same order).
void LaunchPoolNhwc(bool half, const void* x, void* y, const PoolParams& p, cudaStream_t s);
// Always the general kernel (one thread per output element, scalar loads): the fallback, and the
// baseline the timing test compares against.
void LaunchPoolNhwcGeneral(bool half, const void* x, void* y, const PoolParams& p, cudaStream_t s);

// [N, H*W, C] -> [N, C]: the mean over H*W (GlobalAveragePool on NHWC). Two passes: blocks sum
// `chunks` slices of H*W into fp32 `partial` (n * chunks * c floats), then one thread per (n, c)
// adds the slices. Large maps with few channels (EfficientNet's 112x112x32) get many blocks.
// C a multiple of 8 (fp16) / 4 (fp32) with x 16-byte aligned: 16-byte loads, blocks of 8 channel
// groups x 32 rows, and a single pass when chunks == 1 (H*W <= 256). Otherwise the general
// kernel: blocks of 32 channels x 8 rows, scalar loads.
int64_t GlobalAvgPoolChunks(int64_t hw);
void LaunchGlobalAvgPoolNhwc(bool half, const void* x, void* y, float* partial, int64_t n,
                             int64_t hw, int64_t c, cudaStream_t s);
void LaunchGlobalAvgPoolNhwcGeneral(bool half, const void* x, void* y, float* partial, int64_t n,
                                    int64_t hw, int64_t c, cudaStream_t s);
// Always the vector path (C a multiple of 8 / 4, x 16-byte aligned, H*W >= 1): for tests,
// including the fp32 instance LaunchGlobalAvgPoolNhwc does not use (see pool.cu).
void LaunchGlobalAvgPoolNhwcVector(bool half, const void* x, void* y, float* partial, int64_t n,
                                   int64_t hw, int64_t c, cudaStream_t s);

}  // namespace ridge::cuda::kernels
