#include "vision/postprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace ridge::vision {
namespace {

constexpr int kMaxRows = 4 + 4096;
constexpr int kMaxAnchors = 4'000'000;
constexpr int kMaxSide = 16384;
constexpr int kMaxClasses = 1 << 24;

bool Finite(float v) { return std::isfinite(v); }

}  // namespace

float BoxIoU(const Detection& a, const Detection& b) {
  // Each line is one rounded fp32 operation; the CUDA kernel spells the same steps with
  // __fsub_rn/__fmul_rn/__fadd_rn/__fdiv_rn so both paths agree bit for bit.
  float aw = std::max(0.0f, a.x2 - a.x1);
  float ah = std::max(0.0f, a.y2 - a.y1);
  float bw = std::max(0.0f, b.x2 - b.x1);
  float bh = std::max(0.0f, b.y2 - b.y1);
  float area_a = aw * ah;
  float area_b = bw * bh;
  if (!(area_a > 0.0f) || !(area_b > 0.0f)) return 0.0f;
  float iw = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  float ih = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  float inter = iw * ih;
  float sum = area_a + area_b;
  float uni = sum - inter;
  return inter / uni;
}

std::vector<Detection> NonMaxSuppression(std::vector<Detection> candidates, float iou,
                                         int max_detections, bool class_aware) {
  std::vector<Detection> kept;
  if (max_detections <= 0) return kept;
  // stable_sort keeps the candidate order for equal scores (the tie rule). NaN scores would
  // break the strict weak order, so they are dropped first (they can never be "highest").
  std::erase_if(candidates, [](const Detection& d) { return std::isnan(d.score); });
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  for (const Detection& c : candidates) {
    bool suppressed = false;
    for (const Detection& k : kept) {
      if (class_aware && k.class_id != c.class_id) continue;
      if (BoxIoU(k, c) > iou) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    kept.push_back(c);
    if (static_cast<int>(kept.size()) >= max_detections) break;
  }
  return kept;
}

Status ValidateYoloArgs(int rows, int anchors, const YoloOptions& o) {
  if (rows < 5 || rows > kMaxRows) {
    return InvalidArgument("YOLO output has " + std::to_string(rows) +
                           " rows; expected 4 box rows + 1.." + std::to_string(kMaxRows - 4) +
                           " class rows");
  }
  if (anchors < 1 || anchors > kMaxAnchors) {
    return InvalidArgument("YOLO output has " + std::to_string(anchors) + " anchors; expected 1.." +
                           std::to_string(kMaxAnchors));
  }
  if (!Finite(o.conf_threshold)) return InvalidArgument("conf_threshold is not finite");
  if (!(o.iou_threshold >= 0.0f && o.iou_threshold <= 1.0f)) {
    return InvalidArgument("iou_threshold must be in [0, 1]");
  }
  if (o.max_detections < 1) return InvalidArgument("max_detections must be >= 1");
  if (o.max_candidates < 1) return InvalidArgument("max_candidates must be >= 1");
  return Status::Ok();
}

Status ValidateMapping(const ResizeGeometry* g, int src_w, int src_h) {
  if (src_w < 1 || src_h < 1 || src_w > kMaxSide || src_h > kMaxSide) {
    return InvalidArgument("source size " + std::to_string(src_w) + "x" + std::to_string(src_h) +
                           " is not in 1.." + std::to_string(kMaxSide) + " per side");
  }
  if (g != nullptr) {
    bool ok = Finite(g->scale_x) && Finite(g->scale_y) && Finite(g->offset_x) &&
              Finite(g->offset_y) && g->scale_x > 0.0f && g->scale_y > 0.0f;
    if (!ok) return InvalidArgument("resize geometry needs finite offsets and scales > 0");
  }
  return Status::Ok();
}

void MapAndClip(const ResizeGeometry* g, int src_w, int src_h, std::vector<Detection>* dets) {
  const float w = static_cast<float>(src_w), h = static_cast<float>(src_h);
  for (Detection& d : *dets) {
    if (g != nullptr) {
      d.x1 = g->ToSourceX(d.x1);
      d.x2 = g->ToSourceX(d.x2);
      d.y1 = g->ToSourceY(d.y1);
      d.y2 = g->ToSourceY(d.y2);
    }
    d.x1 = std::clamp(d.x1, 0.0f, w);
    d.x2 = std::clamp(d.x2, 0.0f, w);
    d.y1 = std::clamp(d.y1, 0.0f, h);
    d.y2 = std::clamp(d.y2, 0.0f, h);
  }
}

Result<std::vector<Detection>> DecodeYoloV8(const float* output, int rows, int anchors,
                                            const YoloOptions& options,
                                            const ResizeGeometry* geometry, int src_w, int src_h) {
  if (output == nullptr) return InvalidArgument("YOLO output pointer is null");
  RIDGE_RETURN_IF_ERROR(ValidateYoloArgs(rows, anchors, options));
  RIDGE_RETURN_IF_ERROR(ValidateMapping(geometry, src_w, src_h));
  const size_t n = static_cast<size_t>(anchors);
  // output: [rows, anchors]; row r of anchor a at output[r * anchors + a].
  // Argmax over the class rows, row by row so the reads stay contiguous; strict > keeps the
  // first maximum and never picks NaN.
  std::vector<float> best(n, -std::numeric_limits<float>::infinity());
  std::vector<int> best_class(n, -1);
  for (int c = 4; c < rows; ++c) {
    const float* row = output + static_cast<size_t>(c) * n;
    for (size_t a = 0; a < n; ++a) {
      if (row[a] > best[a]) {
        best[a] = row[a];
        best_class[a] = c - 4;
      }
    }
  }
  std::vector<Detection> candidates;
  for (size_t a = 0; a < n; ++a) {
    if (!(best[a] > options.conf_threshold)) continue;
    float cx = output[a], cy = output[n + a], bw = output[2 * n + a], bh = output[3 * n + a];
    float hw = bw * 0.5f, hh = bh * 0.5f;  // exact (halving), so no rounding to disagree on
    Detection d{cx - hw, cy - hh, cx + hw, cy + hh, best[a], best_class[a]};
    if (!Finite(d.x1) || !Finite(d.y1) || !Finite(d.x2) || !Finite(d.y2)) continue;
    candidates.push_back(d);
  }
  // Score descending, ties by anchor; keep max_candidates (before NMS, like ultralytics).
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  if (candidates.size() > static_cast<size_t>(options.max_candidates)) {
    candidates.resize(static_cast<size_t>(options.max_candidates));
  }
  std::vector<Detection> kept = NonMaxSuppression(std::move(candidates), options.iou_threshold,
                                                  options.max_detections, options.class_aware);
  MapAndClip(geometry, src_w, src_h, &kept);
  return kept;
}

Result<std::vector<Classification>> SoftmaxTopK(const float* logits, int classes, int k) {
  if (logits == nullptr) return InvalidArgument("logits pointer is null");
  if (classes < 1 || classes > kMaxClasses) {
    return InvalidArgument("classes must be in 1.." + std::to_string(kMaxClasses) + ", got " +
                           std::to_string(classes));
  }
  if (k < 1 || k > classes) {
    return InvalidArgument("top-k needs 1 <= k <= classes (k = " + std::to_string(k) +
                           ", classes = " + std::to_string(classes) + ")");
  }
  float max_logit = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < classes; ++i) {
    float v = logits[i];
    if (std::isnan(v) || v == std::numeric_limits<float>::infinity()) {
      return InvalidArgument("logit " + std::to_string(i) + " is " +
                             (std::isnan(v) ? "NaN" : "+inf") + "; softmax is undefined");
    }
    max_logit = std::max(max_logit, v);
  }
  if (max_logit == -std::numeric_limits<float>::infinity()) {
    return InvalidArgument("all " + std::to_string(classes) + " logits are -inf");
  }
  // Sum in double (index order) so 1000 small terms do not lose digits.
  double sum = 0.0;
  for (int i = 0; i < classes; ++i) sum += static_cast<double>(std::exp(logits[i] - max_logit));
  std::vector<int> order(static_cast<size_t>(classes));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::vector<Classification> out;
  out.reserve(static_cast<size_t>(k));
  for (int i = 0; i < k; ++i) {
    int c = order[static_cast<size_t>(i)];
    double e = static_cast<double>(std::exp(logits[c] - max_logit));
    out.push_back({c, static_cast<float>(e / sum)});
  }
  return out;
}

}  // namespace ridge::vision
