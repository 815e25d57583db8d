// The reference postprocessing: NMS tie/zero-area/threshold rules, YOLOv8 decode with planted
// boxes mapped back through a letterbox, softmax top-k with ties and bad logits.
#include "vision/postprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace ridge::vision {
namespace {

Detection Box(float x1, float y1, float x2, float y2, float score, int cls = 0) {
  return Detection{x1, y1, x2, y2, score, cls};
}

TEST(BoxIoU, FormulaAndZeroArea) {
  EXPECT_FLOAT_EQ(BoxIoU(Box(0, 0, 2, 2, 1), Box(1, 0, 3, 2, 1)), 2.0f / 6.0f);
  EXPECT_EQ(BoxIoU(Box(0, 0, 4, 1, 1), Box(0, 0, 2, 1, 1)), 0.5f);
  EXPECT_EQ(BoxIoU(Box(0, 0, 1, 1, 1), Box(5, 5, 6, 6, 1)), 0.0f);
  EXPECT_EQ(BoxIoU(Box(1, 1, 1, 5, 1), Box(0, 0, 4, 4, 1)), 0.0f);  // zero width
  EXPECT_EQ(BoxIoU(Box(3, 3, 1, 1, 1), Box(0, 0, 4, 4, 1)), 0.0f);  // inverted box
}

TEST(Nms, ScoreTiesKeepLowerIndex) {
  std::vector<Detection> c = {Box(0, 0, 10, 10, 0.5f, 0), Box(0, 0, 10, 10, 0.9f, 0),
                              Box(1, 1, 10, 10, 0.9f, 0), Box(50, 50, 60, 60, 0.5f, 0)};
  auto kept = NonMaxSuppression(c, 0.5f, 100, true);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].x1, 0.0f);  // index 1 (score 0.9, lower index than 2) wins the tie
  EXPECT_EQ(kept[0].score, 0.9f);
  EXPECT_EQ(kept[1].x1, 50.0f);
}

TEST(Nms, IdenticalBoxesAndClasses) {
  std::vector<Detection> c = {Box(0, 0, 10, 10, 0.8f, 1), Box(0, 0, 10, 10, 0.7f, 1),
                              Box(0, 0, 10, 10, 0.6f, 2)};
  auto aware = NonMaxSuppression(c, 0.7f, 100, true);
  ASSERT_EQ(aware.size(), 2u);
  EXPECT_EQ(aware[0].class_id, 1);
  EXPECT_EQ(aware[1].class_id, 2);
  auto agnostic = NonMaxSuppression(c, 0.7f, 100, false);
  ASSERT_EQ(agnostic.size(), 1u);
  EXPECT_EQ(agnostic[0].score, 0.8f);
}

TEST(Nms, ZeroAreaBoxesNeverSuppress) {
  std::vector<Detection> c = {Box(5, 0, 5, 10, 0.9f), Box(0, 0, 10, 10, 0.8f),
                              Box(0, 0, 10, 0, 0.7f), Box(0, 0, 10, 10, 0.6f)};
  auto kept = NonMaxSuppression(c, 0.1f, 100, true);
  ASSERT_EQ(kept.size(), 3u);  // the last box is suppressed by the second, nothing else
  EXPECT_EQ(kept[0].score, 0.9f);
  EXPECT_EQ(kept[1].score, 0.8f);
  EXPECT_EQ(kept[2].score, 0.7f);
}

TEST(Nms, IouExactlyAtThresholdDoesNotSuppress) {
  std::vector<Detection> c = {Box(0, 0, 4, 1, 0.9f), Box(0, 0, 2, 1, 0.8f)};  // IoU 0.5
  EXPECT_EQ(NonMaxSuppression(c, 0.5f, 10, true).size(), 2u);
  EXPECT_EQ(NonMaxSuppression(c, 0.49f, 10, true).size(), 1u);
}

TEST(Nms, ManyClassesAndMaxDetections) {
  std::vector<Detection> c;
  for (int k = 0; k < 100; ++k) {
    c.push_back(Box(0, 0, 10, 10, 0.5f + k * 0.001f, k));
    c.push_back(Box(1, 1, 10, 10, 0.4f, k));  // IoU 0.81 with its class's first box
  }
  auto kept = NonMaxSuppression(c, 0.7f, 1000, true);
  ASSERT_EQ(kept.size(), 100u);
  EXPECT_EQ(kept[0].class_id, 99);  // highest score first
  EXPECT_EQ(kept[99].class_id, 0);
  auto cut = NonMaxSuppression(c, 0.7f, 7, true);
  ASSERT_EQ(cut.size(), 7u);
  EXPECT_EQ(cut[6].class_id, 93);
  EXPECT_EQ(NonMaxSuppression(c, 0.7f, 1000, false).size(), 1u);
  EXPECT_TRUE(NonMaxSuppression(c, 0.7f, 0, true).empty());
}

// A synthetic yolov8 output [84, 8400]: background scores 0.01, a few planted boxes.
struct Planted {
  int anchor;
  float cx, cy, w, h;
  int cls;
  float score;
};
std::vector<float> MakeOutput(const std::vector<Planted>& boxes, int rows = 84, int n = 8400) {
  std::vector<float> out(static_cast<size_t>(rows) * n, 0.01f);
  for (const Planted& p : boxes) {
    float* col = out.data() + p.anchor;
    col[0] = p.cx;
    col[n] = p.cy;
    col[2 * n] = p.w;
    col[3 * n] = p.h;
    col[static_cast<size_t>(4 + p.cls) * n] = p.score;
  }
  return out;
}

TEST(DecodeYoloV8, ThresholdNmsLetterboxAndClip) {
  auto spec = ParsePreprocessSpec("letterbox=640");
  ASSERT_TRUE(spec.ok());
  auto geom = ComputeGeometry(1920, 1080, *spec);
  ASSERT_TRUE(geom.ok());
  ASSERT_EQ(geom->offset_y, 140.0f);  // 1920x1080 -> 640x360 placed at y 140
  auto out = MakeOutput({
      {100, 320, 320, 64, 32, 3, 0.9f},    // kept
      {101, 322, 320, 64, 32, 3, 0.8f},    // IoU ~0.94 with anchor 100: suppressed
      {102, 322, 320, 64, 32, 5, 0.85f},   // other class: kept
      {200, 100, 150, 40, 40, 0, 0.25f},   // exactly at conf 0.25: dropped (needs >)
      {300, 100, 150, 40, 40, 0, 0.3f},    // top reaches into the pad: clipped to y 0
      {400, 630, 400, 40, 20, 7, 0.5f},    // right edge beyond 640: clipped to x 1920
      {8399, 50, 600, 10, 10, 79, 0.26f},  // last anchor, last class; in the bottom pad
  });
  auto dets = DecodeYoloV8(out.data(), 84, 8400, YoloOptions{}, &*geom, 1920, 1080);
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 5u);
  const auto& d = *dets;
  EXPECT_EQ(d[0].class_id, 3);
  EXPECT_FLOAT_EQ(d[0].x1, 864.0f);  // (288 - 0) * 3
  EXPECT_FLOAT_EQ(d[0].x2, 1056.0f);
  EXPECT_FLOAT_EQ(d[0].y1, 492.0f);  // (304 - 140) * 3
  EXPECT_FLOAT_EQ(d[0].y2, 588.0f);
  EXPECT_EQ(d[0].score, 0.9f);
  EXPECT_EQ(d[1].class_id, 5);
  EXPECT_EQ(d[2].class_id, 7);
  EXPECT_FLOAT_EQ(d[2].x1, 1830.0f);
  EXPECT_EQ(d[2].x2, 1920.0f);
  EXPECT_EQ(d[3].class_id, 0);
  EXPECT_EQ(d[3].y1, 0.0f);
  EXPECT_FLOAT_EQ(d[3].y2, 90.0f);  // (170 - 140) * 3
  EXPECT_EQ(d[4].class_id, 79);
  EXPECT_EQ(d[4].y1, 1080.0f);  // wholly in the pad: clipped flat onto the bottom edge
  EXPECT_EQ(d[4].y2, 1080.0f);

  // Without geometry the boxes stay in network pixels (clipped to the given size).
  auto raw = DecodeYoloV8(out.data(), 84, 8400, YoloOptions{}, nullptr, 640, 640);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 5u);
  EXPECT_EQ((*raw)[0].x1, 288.0f);
  EXPECT_EQ((*raw)[2].x2, 640.0f);
}

TEST(DecodeYoloV8, MaxCandidatesNaNAndNonFinite) {
  auto out = MakeOutput({{10, 100, 100, 10, 10, 0, 0.5f},
                         {20, 200, 200, 10, 10, 0, 0.7f},
                         {30, 300, 300, 10, 10, 0, 0.6f},
                         {40, 400, 400, std::numeric_limits<float>::infinity(), 10, 0, 0.99f},
                         {50, 500, 500, 10, 10, 0, std::nanf("")}});
  YoloOptions o;
  auto all = DecodeYoloV8(out.data(), 84, 8400, o, nullptr, 640, 640);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);  // the inf-width box and the NaN score are dropped
  o.max_candidates = 2;        // the two best go into NMS
  auto two = DecodeYoloV8(out.data(), 84, 8400, o, nullptr, 640, 640);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].score, 0.7f);
  EXPECT_EQ((*two)[1].score, 0.6f);
}

TEST(DecodeYoloV8, BadArgumentsAreErrors) {
  std::vector<float> out(84 * 10, 0.0f);
  YoloOptions o;
  EXPECT_FALSE(DecodeYoloV8(nullptr, 84, 10, o, nullptr, 640, 640).ok());
  EXPECT_FALSE(DecodeYoloV8(out.data(), 4, 10, o, nullptr, 640, 640).ok());
  EXPECT_FALSE(DecodeYoloV8(out.data(), 84, 0, o, nullptr, 640, 640).ok());
  EXPECT_FALSE(DecodeYoloV8(out.data(), 84, 10, o, nullptr, 0, 640).ok());
  ResizeGeometry bad;
  bad.scale_x = 0;
  EXPECT_FALSE(DecodeYoloV8(out.data(), 84, 10, o, &bad, 640, 640).ok());
  o.iou_threshold = 1.5f;
  auto r = DecodeYoloV8(out.data(), 84, 10, o, nullptr, 640, 640);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  o = YoloOptions{};
  o.conf_threshold = std::nanf("");
  EXPECT_FALSE(DecodeYoloV8(out.data(), 84, 10, o, nullptr, 640, 640).ok());
}

TEST(SoftmaxTopK, ValuesAndTies) {
  std::vector<float> logits = {0.0f, std::log(3.0f), 0.0f, -1e30f};
  auto r = SoftmaxTopK(logits.data(), 4, 4);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].class_id, 1);
  EXPECT_NEAR((*r)[0].probability, 0.6f, 1e-6);
  EXPECT_EQ((*r)[1].class_id, 0);  // tie with class 2: lower id first
  EXPECT_EQ((*r)[2].class_id, 2);
  EXPECT_NEAR((*r)[1].probability, 0.2f, 1e-6);
  EXPECT_EQ((*r)[3].class_id, 3);
  EXPECT_EQ((*r)[3].probability, 0.0f);
}

TEST(SoftmaxTopK, ThousandClassesSumsToOne) {
  std::vector<float> logits(1000);
  for (int i = 0; i < 1000; ++i) logits[i] = std::sin(i * 0.37f) * 8.0f;
  auto r = SoftmaxTopK(logits.data(), 1000, 1000);
  ASSERT_TRUE(r.ok());
  double sum = 0;
  for (size_t i = 0; i < r->size(); ++i) {
    sum += (*r)[i].probability;
    if (i > 0) {
      EXPECT_LE((*r)[i].probability, (*r)[i - 1].probability);
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(SoftmaxTopK, BadInputsAreClearErrors) {
  std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  EXPECT_FALSE(SoftmaxTopK(logits.data(), 3, 4).ok());  // k > classes
  EXPECT_FALSE(SoftmaxTopK(logits.data(), 3, 0).ok());
  EXPECT_FALSE(SoftmaxTopK(nullptr, 3, 1).ok());
  logits[1] = std::nanf("");
  auto nan = SoftmaxTopK(logits.data(), 3, 1);
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.status().message().find("logit 1 is NaN"), std::string::npos);
  logits[1] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(SoftmaxTopK(logits.data(), 3, 1).ok());
  float neg[2] = {-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  EXPECT_FALSE(SoftmaxTopK(neg, 2, 1).ok());
  neg[1] = 0.0f;  // -inf alongside a finite logit is fine: probability 0
  auto ok = SoftmaxTopK(neg, 2, 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].class_id, 1);
  EXPECT_EQ((*ok)[0].probability, 1.0f);
  EXPECT_EQ((*ok)[1].probability, 0.0f);
}

}  // namespace
}  // namespace ridge::vision
