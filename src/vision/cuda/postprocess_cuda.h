// GPU postprocessing: YOLOv8 decode + class-aware NMS and classifier softmax top-k for a batch
// of engine outputs already on the device, all enqueued on the caller's stream, results copied
// to pinned host memory on the same stream. Same results as the CPU reference
// (src/vision/postprocess.h): same detections in the same order, boxes bit-equal before the
// (shared) mapping back. Algorithm and figures: docs/vision_postprocess.md.
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "core/status.h"
#include "vision/cuda/postprocess_kernels.cuh"
#include "vision/postprocess.h"

namespace ridge::vision::cuda {

class GpuYoloPostprocessor {
 public:
  // Allocates every buffer for up to max_batch images of [rows, anchors] (no allocation later).
  // Fails with LimitExceeded when the IoU bitmask (max_batch x N x N/64 words, N =
  // min(anchors, max_candidates)) would pass 4 GiB.
  static Result<std::unique_ptr<GpuYoloPostprocessor>> Create(int rows, int anchors, int max_batch,
                                                              const YoloOptions& options);
  ~GpuYoloPostprocessor();
  GpuYoloPostprocessor(const GpuYoloPostprocessor&) = delete;
  GpuYoloPostprocessor& operator=(const GpuYoloPostprocessor&) = delete;

  // Decode + threshold + class-aware NMS for `batch` images of the engine's output (device
  // memory [batch, rows, anchors], fp32 or fp16 as `half_input` says), all on `stream`; results
  // are copied to pinned host memory on the same stream.
  Status Enqueue(const void* output, bool half_input, int batch, cudaStream_t stream);

  // After the stream has synchronized: image i's detections, mapped back and clipped exactly
  // as DecodeYoloV8 does (MapAndClip).
  Result<std::vector<Detection>> Collect(int image, const ResizeGeometry* geometry, int src_w,
                                         int src_h) const;

 private:
  GpuYoloPostprocessor() = default;

  YoloOptions options_;
  int max_batch_ = 0;
  int last_batch_ = 0;
  YoloDeviceBuffers buf_;
  std::vector<void*> device_allocations_;
  DeviceDetection* host_dets_ = nullptr;  // pinned [max_batch, max_detections]
  int* host_counts_ = nullptr;            // pinned [max_batch]
};

class GpuSoftmaxTopK {
 public:
  static Result<std::unique_ptr<GpuSoftmaxTopK>> Create(int classes, int k, int max_batch);
  ~GpuSoftmaxTopK();
  GpuSoftmaxTopK(const GpuSoftmaxTopK&) = delete;
  GpuSoftmaxTopK& operator=(const GpuSoftmaxTopK&) = delete;

  // logits: device [batch, classes], fp32 or fp16.
  Status Enqueue(const void* logits, bool half_input, int batch, cudaStream_t stream);
  // After the stream has synchronized: image i's k best, or the CPU path's error for bad logits.
  Result<std::vector<Classification>> Collect(int image) const;

 private:
  GpuSoftmaxTopK() = default;

  int classes_ = 0, k_ = 0, max_batch_ = 0, last_batch_ = 0;
  int* ids_ = nullptr;  // device [max_batch, k] ids, then probs, status, bad index
  float* probs_ = nullptr;
  int* status_ = nullptr;
  int* bad_index_ = nullptr;
  void* host_ = nullptr;  // pinned mirror of the four arrays
};

}  // namespace ridge::vision::cuda
