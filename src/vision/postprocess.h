// Postprocessing for pipelines: YOLOv8 decode + NMS and classifier softmax top-k.
//
// These are the reference definitions; the GPU path (src/vision/cuda/postprocess_cuda.h) must
// give the same detections in the same order. The arithmetic, shared by both (see
// docs/vision_postprocess.md):
//   - Decode: for anchor a, the class is the argmax of rows 4.. (first maximum wins; NaN never
//     wins), the score its value. A candidate needs score > conf_threshold and a finite box
//     x1 = cx - w * 0.5, y1 = cy - h * 0.5, x2 = cx + w * 0.5, y2 = cy + h * 0.5 (network px).
//   - Candidates are ordered by score descending, ties by lower anchor index; only the first
//     max_candidates go into NMS (ultralytics' max_nms rule).
//   - IoU(a, b): area = max(0, x2 - x1) * max(0, y2 - y1); iw = max(0, min(x2) - max(x1)),
//     ih likewise; inter = iw * ih; uni = (area_a + area_b) - inter; iou = inter / uni; every
//     step one IEEE fp32 operation in this order (no FMA contraction). If either area is not
//     > 0 the IoU is 0: zero-area boxes never suppress and are never suppressed.
//   - Greedy NMS: a box is kept when no earlier kept box (of the same class if class-aware)
//     has IoU > iou_threshold with it (an IoU exactly at the threshold does not suppress).
//   - Kept boxes are mapped back through the ResizeGeometry (x' = (x - offset) / scale) and
//     clipped to [0, src_w] x [0, src_h].
#pragma once

#include <vector>

#include "core/status.h"
#include "vision/preprocess.h"

namespace ridge::vision {

struct Detection {
  float x1, y1, x2, y2;
  float score;
  int class_id;
};

struct YoloOptions {
  float conf_threshold = 0.25f;
  float iou_threshold = 0.7f;
  int max_detections = 300;
  int max_candidates = 30000;
  bool class_aware = true;
};

// One image's raw output, [rows = 4 + classes, anchors] row-major, fp32. Boxes are mapped
// back through `geometry` (nullptr: left in network pixels) and clipped to src_w x src_h.
Result<std::vector<Detection>> DecodeYoloV8(const float* output, int rows, int anchors,
                                            const YoloOptions& options,
                                            const ResizeGeometry* geometry, int src_w, int src_h);

// Greedy NMS, highest score first (ties: lower candidate index first); class-aware
// suppresses only within a class. Zero-area boxes never suppress anything.
std::vector<Detection> NonMaxSuppression(std::vector<Detection> candidates, float iou,
                                         int max_detections, bool class_aware);

struct Classification {
  int class_id;
  float probability;
};

// Softmax (fp32, max-subtracted) then the k best, ties by lower class id. Ranking is by logit
// (softmax is monotone; where fp32 rounding makes two different logits' probabilities equal,
// the larger logit still ranks first). NaN or +inf logits, or all logits -inf, are errors.
Result<std::vector<Classification>> SoftmaxTopK(const float* logits, int classes, int k);

// ---- Pieces shared with the GPU path (same arithmetic, one definition). ----

// The IoU formula above, in plain fp32 steps.
float BoxIoU(const Detection& a, const Detection& b);

// Checks rows/anchors/options/source size/geometry the way DecodeYoloV8 does (caps: rows in
// 5..4100, anchors in 1..4'000'000, sides 1..16384, thresholds finite, iou in [0, 1]).
Status ValidateYoloArgs(int rows, int anchors, const YoloOptions& options);
Status ValidateMapping(const ResizeGeometry* geometry, int src_w, int src_h);

// Maps network-pixel boxes back through `geometry` (nullptr: unchanged) and clips them to
// [0, src_w] x [0, src_h], in place. Arguments must have passed ValidateMapping.
void MapAndClip(const ResizeGeometry* geometry, int src_w, int src_h,
                std::vector<Detection>* detections);

}  // namespace ridge::vision
