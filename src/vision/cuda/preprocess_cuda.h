// GPU preprocessing for pipelines: one fused kernel launch turns a batch of decoded frames
// (device memory, 3-channel interleaved uint8, sizes may differ per frame) into the network's
// input tensor as PreprocessSpec says (see src/vision/preprocess.h for the arithmetic, which the
// GPU reproduces bit for bit). Design and figures: docs/vision_gpu_preprocess.md.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "core/status.h"
#include "vision/cuda/preprocess_kernel.cuh"
#include "vision/preprocess.h"

namespace ridge::vision::cuda {

// A frame in device memory: height rows of `stride` bytes, width * 3 bytes used per row, in the
// spec's input channel order.
struct DeviceImage {
  const uint8_t* data;
  int width;
  int height;
  int64_t stride;
};

class GpuPreprocessor {
 public:
  // The most frames one Enqueue takes: their parameters travel inside the kernel launch.
  static constexpr int kMaxBatch = kernels::kMaxFramesPerLaunch;

  // Validates the spec (sizes, non-zero std) and max_batch (1..kMaxBatch). Holds only host state:
  // per-frame parameters are passed by value with each launch, so nothing is allocated per call
  // and consecutive Enqueues on different streams never share a parameter buffer.
  static Result<std::unique_ptr<GpuPreprocessor>> Create(const PreprocessSpec& spec, int max_batch);

  // One kernel launch for `count` frames (device pointers, interleaved 3-channel in
  // spec.input_order, sizes may differ per frame); frame i is written at
  // out + i * spec.OutputBytes() (device memory, e.g. the engine's input buffer).
  // Asynchronous on `stream`; fills geometry[i] (host) when non-null. `out` must be aligned to
  // the output element size; 16-byte alignment and out_width % 4 == 0 give vector stores.
  // Not thread-safe: one host thread enqueues on a given preprocessor.
  Status Enqueue(const DeviceImage* frames, int count, void* out, cudaStream_t stream,
                 ResizeGeometry* geometry = nullptr);

  const PreprocessSpec& spec() const { return spec_; }
  int max_batch() const { return max_batch_; }

 private:
  GpuPreprocessor(const PreprocessSpec& spec, int max_batch, const kernels::KernelConfig& config);

  PreprocessSpec spec_;
  int max_batch_;
  kernels::KernelConfig config_;
  // Host scratch for one launch's frame parameters (sized once in Create).
  std::unique_ptr<kernels::FrameParams[]> frames_;
};

}  // namespace ridge::vision::cuda
