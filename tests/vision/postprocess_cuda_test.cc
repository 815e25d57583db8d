// GPU postprocessing against the CPU reference: same detections in the same order with
// bit-equal network boxes, on synthetic scenes, crafted ties and degenerate boxes, all-random
// (every anchor a candidate) outputs, batches, fp16 input; softmax top-k likewise. Ends with a
// microbenchmark ([32, 84, 8400] decode + NMS, CUDA events) printed for the docs.
#include "vision/cuda/postprocess_cuda.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "core/tensor.h"

namespace ridge::vision::cuda {
namespace {

constexpr int kRows = 84, kAnchors = 8400;

#define REQUIRE_GPU()                                                                              \
  do {                                                                                             \
    int count = 0;                                                                                 \
    cudaError_t e = cudaGetDeviceCount(&count);                                                    \
    if (e != cudaSuccess || count == 0) {                                                          \
      GTEST_SKIP() << "no CUDA device (" << (e != cudaSuccess ? cudaGetErrorString(e) : "count 0") \
                   << "): GPU postprocess test skipped";                                           \
    }                                                                                              \
  } while (0)

struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) { EXPECT_EQ(cudaMalloc(&ptr, bytes), cudaSuccess); }
  ~DeviceBuffer() { cudaFree(ptr); }
};

// A scene: background class scores in [0, 0.2), `objects` objects each claiming ~12 anchors
// with jittered boxes and scores above 0.25. Or, all_random: every anchor a candidate.
std::vector<float> Scene(uint32_t seed, int objects, bool all_random = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> out(size_t(kRows) * kAnchors);
  for (int r = 0; r < kRows; ++r) {
    for (int a = 0; a < kAnchors; ++a) {
      float v;
      if (r < 2)
        v = u(rng) * 640.0f;
      else if (r < 4)
        v = u(rng) * 120.0f;
      else
        v = all_random ? u(rng) : u(rng) * 0.2f;
      out[size_t(r) * kAnchors + a] = v;
    }
  }
  if (all_random) return out;
  for (int o = 0; o < objects; ++o) {
    float cx = u(rng) * 640, cy = u(rng) * 640, w = 8 + u(rng) * 200, h = 8 + u(rng) * 200;
    int cls = static_cast<int>(u(rng) * 80) % 80;
    for (int t = 0; t < 12; ++t) {
      int a = static_cast<int>(u(rng) * kAnchors) % kAnchors;
      out[a] = cx + (u(rng) - 0.5f) * 6;
      out[size_t(kAnchors) + a] = cy + (u(rng) - 0.5f) * 6;
      out[2 * size_t(kAnchors) + a] = w * (0.9f + 0.2f * u(rng));
      out[3 * size_t(kAnchors) + a] = h * (0.9f + 0.2f * u(rng));
      out[size_t(4 + cls) * kAnchors + a] = 0.25f + u(rng) * 0.7f;
    }
  }
  return out;
}

// Crafted: equal scores everywhere, identical boxes, zero-area boxes, same box in many classes.
std::vector<float> Crafted() {
  std::vector<float> out(size_t(kRows) * kAnchors, 0.0f);
  auto set = [&](int a, float cx, float cy, float w, float h, int cls, float s) {
    out[a] = cx;
    out[size_t(kAnchors) + a] = cy;
    out[2 * size_t(kAnchors) + a] = w;
    out[3 * size_t(kAnchors) + a] = h;
    out[size_t(4 + cls) * kAnchors + a] = s;
  };
  for (int a = 0; a < 600; ++a) set(a * 13, 100 + (a % 7), 100, 50, 50, a % 3, 0.5f);  // ties
  for (int a = 0; a < 100; ++a) set(a * 13 + 1, 300, 300, 0, 40, 5, 0.9f);             // zero width
  for (int a = 0; a < 80; ++a) set(a * 13 + 2, 500, 500, 30, 30, a, 0.6f);  // every class
  set(8399, 10, 10, 4, 2, 79, 0.7f);
  set(8398, 11, 10, 2, 2, 79, 0.7f);  // IoU exactly 0.5 with 8399
  return out;
}

std::vector<uint16_t> ToHalf(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = FloatToHalf(v[i]);
  return h;
}
std::vector<float> FromHalf(const std::vector<uint16_t>& h) {
  std::vector<float> v(h.size());
  for (size_t i = 0; i < h.size(); ++i) v[i] = HalfToFloat(h[i]);
  return v;
}

// Runs `images` (each [84, 8400] fp32, or their fp16 roundings) through the GPU as one batch
// and compares every image with DecodeYoloV8 on the same values.
void CompareYolo(const std::vector<std::vector<float>>& images, bool half,
                 const YoloOptions& options, const ResizeGeometry* geom, int src_w, int src_h,
                 int* total_dets = nullptr) {
  const int batch = static_cast<int>(images.size());
  const size_t per = size_t(kRows) * kAnchors, elem = half ? 2 : 4;
  std::vector<std::vector<float>> ref_inputs;
  std::vector<uint8_t> host(per * elem * batch);
  for (int b = 0; b < batch; ++b) {
    if (half) {
      auto h = ToHalf(images[b]);
      std::memcpy(host.data() + b * per * elem, h.data(), per * elem);
      ref_inputs.push_back(FromHalf(h));
    } else {
      std::memcpy(host.data() + b * per * elem, images[b].data(), per * elem);
      ref_inputs.push_back(images[b]);
    }
  }
  DeviceBuffer dev(host.size());
  ASSERT_EQ(cudaMemcpy(dev.ptr, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  auto post = GpuYoloPostprocessor::Create(kRows, kAnchors, batch, options);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  ASSERT_TRUE((*post)->Enqueue(dev.ptr, half, batch, nullptr).ok());
  ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  for (int b = 0; b < batch; ++b) {
    auto want = DecodeYoloV8(ref_inputs[b].data(), kRows, kAnchors, options, geom, src_w, src_h);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    auto got = (*post)->Collect(b, geom, src_w, src_h);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), want->size()) << "image " << b;
    if (total_dets) *total_dets += static_cast<int>(got->size());
    for (size_t i = 0; i < got->size(); ++i) {
      const Detection &g = (*got)[i], &w = (*want)[i];
      ASSERT_EQ(g.class_id, w.class_id) << "image " << b << " detection " << i;
      ASSERT_EQ(g.score, w.score) << "image " << b << " detection " << i;
      EXPECT_NEAR(g.x1, w.x1, 1e-4);
      EXPECT_NEAR(g.y1, w.y1, 1e-4);
      EXPECT_NEAR(g.x2, w.x2, 1e-4);
      EXPECT_NEAR(g.y2, w.y2, 1e-4);
      if (geom == nullptr) {  // same arithmetic: bit-equal
        ASSERT_EQ(g.x1, w.x1);
        ASSERT_EQ(g.y2, w.y2);
      }
    }
  }
}

TEST(GpuYolo, MatchesCpuOnScenesBatch4) {
  REQUIRE_GPU();
  int total = 0;
  CompareYolo({Scene(1, 40), Scene(2, 5), Scene(3, 150), Scene(4, 0)}, false, YoloOptions{},
              nullptr, 640, 640, &total);
  EXPECT_GT(total, 100);  // the scenes really produce detections
}

TEST(GpuYolo, MatchesCpuThroughLetterbox) {
  REQUIRE_GPU();
  auto spec = ParsePreprocessSpec("letterbox=640");
  ASSERT_TRUE(spec.ok());
  auto geom = ComputeGeometry(1920, 1080, *spec);
  ASSERT_TRUE(geom.ok());
  CompareYolo({Scene(7, 60), Scene(8, 60)}, false, YoloOptions{}, &*geom, 1920, 1080);
}

TEST(GpuYolo, MatchesCpuOnCraftedTiesAndDegenerateBoxes) {
  REQUIRE_GPU();
  YoloOptions o;
  CompareYolo({Crafted()}, false, o, nullptr, 640, 640);
  o.iou_threshold = 0.5f;
  o.class_aware = false;
  CompareYolo({Crafted()}, false, o, nullptr, 640, 640);
}

TEST(GpuYolo, MatchesCpuWhenEveryAnchorIsACandidate) {
  REQUIRE_GPU();
  YoloOptions o;
  CompareYolo({Scene(11, 0, true), Scene(12, 0, true)}, false, o, nullptr, 640, 640);
  o.max_candidates = 1000;  // the cap cuts before NMS on both paths
  o.max_detections = 50;
  CompareYolo({Scene(13, 0, true)}, false, o, nullptr, 640, 640);
}

TEST(GpuYolo, MatchesCpuOnFp16Input) {
  REQUIRE_GPU();
  CompareYolo({Scene(21, 50), Scene(22, 80), Scene(23, 0, true)}, true, YoloOptions{}, nullptr, 640,
              640);
}

TEST(GpuYolo, BadArgumentsAreErrors) {
  REQUIRE_GPU();
  EXPECT_FALSE(GpuYoloPostprocessor::Create(4, kAnchors, 1, YoloOptions{}).ok());
  EXPECT_FALSE(GpuYoloPostprocessor::Create(kRows, kAnchors, 0, YoloOptions{}).ok());
  // 64 images x 30000 candidates x 469 mask words x 8 bytes = 7.2 GB: refused before allocating.
  auto huge = GpuYoloPostprocessor::Create(kRows, 4'000'000, 64, YoloOptions{});
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kLimitExceeded);
  auto post = GpuYoloPostprocessor::Create(kRows, kAnchors, 2, YoloOptions{});
  ASSERT_TRUE(post.ok());
  DeviceBuffer dev(size_t(kRows) * kAnchors * 4);
  EXPECT_FALSE((*post)->Enqueue(dev.ptr, false, 3, nullptr).ok());
  EXPECT_FALSE((*post)->Enqueue(nullptr, false, 1, nullptr).ok());
  EXPECT_FALSE((*post)->Collect(0, nullptr, 640, 640).ok());  // nothing enqueued yet
}

TEST(GpuSoftmaxTopK, MatchesCpu) {
  REQUIRE_GPU();
  const int classes = 1000, batch = 6;
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 3.0f);
  std::vector<float> logits(size_t(classes) * batch);
  for (float& v : logits) v = n(rng);
  for (int i = 0; i < 10; ++i) logits[size_t(1) * classes + 100 * i] = 12.0f;     // ties in image 1
  logits[size_t(2) * classes + 17] = std::nanf("");                               // image 2: NaN
  logits[size_t(3) * classes + 5] = INFINITY;                                     // image 3: +inf
  for (int c = 0; c < classes; ++c) logits[size_t(4) * classes + c] = -INFINITY;  // image 4
  for (bool half : {false, true}) {
    std::vector<float> ref = logits;
    std::vector<uint8_t> host(logits.size() * (half ? 2 : 4));
    if (half) {
      auto h = ToHalf(logits);
      ref = FromHalf(h);
      std::memcpy(host.data(), h.data(), host.size());
    } else {
      std::memcpy(host.data(), logits.data(), host.size());
    }
    DeviceBuffer dev(host.size());
    ASSERT_EQ(cudaMemcpy(dev.ptr, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
    for (int k : {1, 5, 1000}) {
      auto topk = GpuSoftmaxTopK::Create(classes, k, batch);
      ASSERT_TRUE(topk.ok());
      ASSERT_TRUE((*topk)->Enqueue(dev.ptr, half, batch, nullptr).ok());
      ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
      for (int b = 0; b < batch; ++b) {
        auto want = SoftmaxTopK(ref.data() + size_t(b) * classes, classes, k);
        auto got = (*topk)->Collect(b);
        ASSERT_EQ(got.ok(), want.ok()) << "image " << b << " half " << half;
        if (!want.ok()) {
          EXPECT_EQ(got.status().message(), want.status().message());
          continue;
        }
        ASSERT_EQ(got->size(), want->size());
        for (size_t i = 0; i < got->size(); ++i) {
          ASSERT_EQ((*got)[i].class_id, (*want)[i].class_id) << "image " << b << " rank " << i;
          EXPECT_NEAR((*got)[i].probability, (*want)[i].probability, 1e-6);
        }
      }
    }
  }
  EXPECT_FALSE(GpuSoftmaxTopK::Create(10, 11, 1).ok());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(GpuYolo, Microbench32x84x8400) {
  REQUIRE_GPU();
  const int batch = 32;
  for (bool all_random : {false, true}) {
    std::vector<float> host;
    for (int b = 0; b < batch; ++b) {
      auto img = Scene(100 + b, 40, all_random);
      host.insert(host.end(), img.begin(), img.end());
    }
    DeviceBuffer dev(host.size() * 4);
    ASSERT_EQ(cudaMemcpy(dev.ptr, host.data(), host.size() * 4, cudaMemcpyHostToDevice),
              cudaSuccess);
    auto post = GpuYoloPostprocessor::Create(kRows, kAnchors, batch, YoloOptions{});
    ASSERT_TRUE(post.ok());
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    std::vector<double> gpu_ms;
    for (int it = 0; it < 25; ++it) {
      cudaEventRecord(start);
      ASSERT_TRUE((*post)->Enqueue(dev.ptr, false, batch, nullptr).ok());
      cudaEventRecord(stop);
      ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
      if (it >= 5) gpu_ms.push_back(ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::vector<double> cpu_ms;
    for (int it = 0; it < 7; ++it) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = DecodeYoloV8(host.data(), kRows, kAnchors, YoloOptions{}, nullptr, 640, 640);
      auto t1 = std::chrono::steady_clock::now();
      ASSERT_TRUE(r.ok());
      cpu_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::printf(
        "[bench] %s: GPU decode+NMS [32, 84, 8400] median %.3f ms (D2H incl.), "
        "CPU one image median %.3f ms\n",
        all_random ? "all anchors candidates" : "scene, 40 objects", Median(gpu_ms),
        Median(cpu_ms));
    EXPECT_GT(Median(gpu_ms), 0.0);
  }
}

}  // namespace
}  // namespace ridge::vision::cuda
