// The fused, batched preprocessing kernel: bilinear resize (stretch / letterbox / center crop,
// pad outside the content box) + channel swap + scale/mean/std + HWC -> NCHW or NHWC + cast to
// fp32 or fp16, for up to kMaxFramesPerLaunch frames of different sizes in one launch.
//
// The arithmetic is PreprocessReference's (src/vision/preprocess.h), operation for operation,
// with explicitly rounded intrinsics (no FMA contraction) so the GPU output is bit-identical.
//
// Per-frame parameters travel inside the launch as a __grid_constant__ struct (CUDA 12.1+ allows
// 32764 bytes of kernel parameters on sm_70+): no staging copy before the kernel, and no
// host/device buffer that a later Enqueue could overwrite while an earlier launch still reads it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::vision::cuda::kernels {

// 512 frames x 56 bytes + the config fits the 32764-byte parameter limit.
inline constexpr int kMaxFramesPerLaunch = 512;

struct FrameParams {
  const uint8_t* src;  // [height, stride] bytes, 3 interleaved channels per pixel
  int64_t stride;      // bytes between rows
  int width, height;
  float scale_x, scale_y, offset_x, offset_y;  // out = src * scale + offset
  int content_x0, content_y0, content_x1, content_y1;
};

struct KernelConfig {
  int out_width, out_height;
  float mul[3], add[3];  // out[c] = v * mul[c] + add[c], c the output channel
  float pad;             // pad value, as the 8-bit value v
  int src_channel[3];    // interleaved source byte read for output channel c
  bool nchw;
  bool fp16;
};

// Launches one kernel over `count` frames (1..kMaxFramesPerLaunch); frame i goes to
// out + i * 3 * out_width * out_height elements. Returns the launch error, if any.
cudaError_t LaunchPreprocess(const KernelConfig& config, const FrameParams* frames, int count,
                             void* out, cudaStream_t stream);

}  // namespace ridge::vision::cuda::kernels
