// Launchers for the GPU postprocessing kernels (YOLOv8 decode + NMS, softmax top-k). Every
// launcher only enqueues on `stream` and returns the launch error; buffers are owned by the
// classes in postprocess_cuda.h. The arithmetic follows src/vision/postprocess.h exactly.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace ridge::vision::cuda {

// Layout-identical to ridge::vision::Detection (static_assert in postprocess_cuda.cc).
struct DeviceDetection {
  float x1, y1, x2, y2;
  float score;
  int class_id;
};

struct YoloDeviceBuffers {
  int rows = 0, anchors = 0;     // raw output [batch, rows, anchors]
  int max_candidates = 0;        // N = min(anchors, options.max_candidates): NMS rows per image
  int mask_words = 0;            // W = ceil(N / 64)
  uint64_t* keys = nullptr;      // [batch, anchors] compacted candidate keys (score desc | anchor)
  uint64_t* sorted = nullptr;    // [batch, anchors] the same, sorted per image
  float4* boxes = nullptr;       // [batch, anchors] decoded x1, y1, x2, y2 by anchor
  float* scores = nullptr;       // [batch, anchors]
  int* classes = nullptr;        // [batch, anchors]
  int* counts = nullptr;         // [batch] candidates above the threshold
  int* seg_begin = nullptr;      // [batch] b * anchors
  int* seg_end = nullptr;        // [batch] b * anchors + counts[b]
  float4* cand_boxes = nullptr;  // [batch, N] in sorted order
  float* cand_scores = nullptr;  // [batch, N]
  int* cand_classes = nullptr;   // [batch, N]
  uint64_t* mask = nullptr;      // [batch, N, W] bit j of row i: i suppresses j (j > i)
  DeviceDetection* dets = nullptr;  // [batch, max_detections]
  int* num_dets = nullptr;          // [batch]
  void* sort_temp = nullptr;
  size_t sort_temp_bytes = 0;
};

// Bytes of CUB temporary storage the segmented sort needs for `batch` images.
cudaError_t YoloSortTempBytes(int batch, int anchors, size_t* bytes);

// Decode + threshold + sort + IoU mask + greedy NMS for `batch` images of `output`
// ([batch, rows, anchors], fp32 or fp16).
cudaError_t LaunchYoloPostprocess(const void* output, bool half_input, int batch,
                                  float conf_threshold, float iou_threshold, int max_detections,
                                  bool class_aware, const YoloDeviceBuffers& buf,
                                  cudaStream_t stream);

// Per image: softmax over `classes` logits ([batch, classes]), the k best by logit (ties: lower
// id). status[b]: 0 ok, 1 a NaN logit, 2 a +inf logit (at bad_index[b]), 3 all logits -inf.
cudaError_t LaunchSoftmaxTopK(const void* logits, bool half_input, int batch, int classes, int k,
                              int* ids, float* probs, int* status, int* bad_index,
                              cudaStream_t stream);

}  // namespace ridge::vision::cuda
