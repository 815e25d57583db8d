// The fused CUDA preprocessing kernel against PreprocessReference: odd and degenerate sizes,
// every resize mode, both channel orders, both layouts and types, a batch of differently sized
// frames in one launch, guard bytes after the output, unaligned outputs (scalar path), and bad
// arguments. The kernel is meant to be bit-identical to the reference; the hard limit is one
// 8-bit step (|diff| <= scale / std, plus fp16 rounding).
#include "vision/cuda/preprocess_cuda.h"

#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/tensor.h"

namespace ridge::vision::cuda {
namespace {

constexpr int kGuardBytes = 256;
constexpr uint8_t kGuard = 0xA5;

bool HaveDevice(std::string* why) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    *why = e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device";
    return false;
  }
  return true;
}

#define SKIP_WITHOUT_GPU()                                                                     \
  do {                                                                                         \
    std::string why;                                                                           \
    if (!HaveDevice(&why)) GTEST_SKIP() << "no CUDA device (" << why << "): GPU test skipped"; \
  } while (0)

Image RandomImage(int w, int h, ChannelOrder order, uint32_t seed, int extra_stride = 0) {
  Image im;
  im.width = w;
  im.height = h;
  im.channels = 3;
  im.order = order;
  im.stride = static_cast<size_t>(w) * 3 + extra_stride;
  im.data.resize(im.stride * h);
  std::mt19937 rng(seed);
  for (auto& b : im.data) b = static_cast<uint8_t>(rng() & 0xff);
  return im;
}

float ToFloat(const std::vector<uint8_t>& buf, int64_t i, bool fp16) {
  if (!fp16) {
    float f;
    std::memcpy(&f, buf.data() + i * 4, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, buf.data() + i * 2, 2);
  return HalfToFloat(h);
}

// Runs `images` through one Enqueue into a device buffer starting `misalign` bytes after a
// 256-byte boundary, followed by guard bytes, and compares every frame with the reference.
void CheckBatch(const PreprocessSpec& spec, const std::vector<Image>& images, int misalign = 0) {
  const int count = static_cast<int>(images.size());
  auto pre = GpuPreprocessor::Create(spec, count);
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  std::vector<void*> sources;
  std::vector<DeviceImage> frames;
  for (const Image& im : images) {
    void* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, im.data.size()), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(d, im.data.data(), im.data.size(), cudaMemcpyHostToDevice), cudaSuccess);
    sources.push_back(d);
    frames.push_back(
        {static_cast<const uint8_t*>(d), im.width, im.height, static_cast<int64_t>(im.stride)});
  }
  const int64_t frame_bytes = spec.OutputBytes();
  const int64_t total = frame_bytes * count + misalign + kGuardBytes;
  uint8_t* out = nullptr;
  ASSERT_EQ(cudaMalloc(&out, total), cudaSuccess);
  ASSERT_EQ(cudaMemset(out, kGuard, total), cudaSuccess);
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  std::vector<ResizeGeometry> geometry(count);
  Status s = (*pre)->Enqueue(frames.data(), count, out + misalign, stream, geometry.data());
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  std::vector<uint8_t> got(total);
  ASSERT_EQ(cudaMemcpy(got.data(), out, total, cudaMemcpyDeviceToHost), cudaSuccess);
  cudaStreamDestroy(stream);
  cudaFree(out);
  for (void* d : sources) cudaFree(d);

  for (int i = 0; i < misalign; ++i) ASSERT_EQ(got[i], kGuard) << "byte before the output";
  for (int i = 0; i < kGuardBytes; ++i) {
    ASSERT_EQ(got[misalign + frame_bytes * count + i], kGuard) << "guard byte " << i << " written";
  }
  const bool fp16 = spec.type == OutputType::kFloat16;
  float step = 0;  // one 8-bit step after normalization
  for (int c = 0; c < 3; ++c) step = std::max(step, std::abs(spec.scale / spec.std[c]));
  for (int f = 0; f < count; ++f) {
    auto want_geometry = ComputeGeometry(images[f].width, images[f].height, spec);
    ASSERT_TRUE(want_geometry.ok());
    EXPECT_EQ(geometry[f].content_x0, want_geometry->content_x0);
    EXPECT_EQ(geometry[f].content_y1, want_geometry->content_y1);
    EXPECT_EQ(geometry[f].scale_x, want_geometry->scale_x);
    std::vector<uint8_t> want(frame_bytes);
    ASSERT_TRUE(PreprocessReference(images[f], spec, want.data()).ok());
    std::vector<uint8_t> have(got.begin() + misalign + f * frame_bytes,
                              got.begin() + misalign + (f + 1) * frame_bytes);
    int64_t inexact = 0, over = 0;
    double worst = 0;
    for (int64_t i = 0; i < spec.OutputElements(); ++i) {
      const float a = ToFloat(have, i, fp16), b = ToFloat(want, i, fp16);
      const double err = std::abs(static_cast<double>(a) - b);
      worst = std::max(worst, err);
      if (a != b) ++inexact;
      if (!(err <= step * 1.0001 + (fp16 ? std::abs(b) / 1024.0 : 0.0))) ++over;
    }
    EXPECT_EQ(over, 0) << "frame " << f << " (" << images[f].width << "x" << images[f].height
                       << "): " << over << " values off by more than one 8-bit step, worst "
                       << worst << ", spec " << spec.ToString();
    EXPECT_EQ(inexact, 0) << "frame " << f << ": " << inexact << " values not bit-identical to "
                          << "the reference (worst " << worst << "), spec " << spec.ToString();
  }
}

PreprocessSpec Spec(const char* text) {
  auto spec = ParsePreprocessSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return *spec;
}

TEST(PreprocessCuda, DegenerateSources) {
  SKIP_WITHOUT_GPU();
  for (const char* text : {"letterbox=640,fp32", "letterbox=64x48,fp16,nhwc", "resize=33x17",
                           "centercrop=16,keep,nhwc,fp16"}) {
    PreprocessSpec spec = Spec(text);
    for (auto [w, h] : {std::pair{1, 1}, {1, 1000}, {1000, 1}, {37, 23}}) {
      SCOPED_TRACE(std::string(text) + " " + std::to_string(w) + "x" + std::to_string(h));
      CheckBatch(spec, {RandomImage(w, h, spec.input_order, w * 31 + h)});
    }
  }
}

TEST(PreprocessCuda, FullHdLetterboxEveryLayoutTypeAndOrder) {
  SKIP_WITHOUT_GPU();
  for (const char* layout : {"nchw", "nhwc"}) {
    for (const char* type : {"fp16", "fp32"}) {
      for (const char* order : {"bgr2rgb", "rgb2bgr", "keep"}) {
        PreprocessSpec spec = Spec(
            (std::string("letterbox=640,pad=114,scale=1/255,") + order + "," + layout + "," + type)
                .c_str());
        SCOPED_TRACE(spec.ToString());
        CheckBatch(spec, {RandomImage(1920, 1080, spec.input_order, 7, /*extra_stride=*/64)});
      }
    }
  }
}

TEST(PreprocessCuda, CenterCropAndStretchWithMeanStd) {
  SKIP_WITHOUT_GPU();
  const char* norm = ",scale=1/255,mean=0.485/0.456/0.406,std=0.229/0.224/0.225";
  for (const char* mode : {"centercrop=224@256", "centercrop=224", "resize=224x224",
                           "resize=301x77", "letterbox=320x192"}) {
    for (const char* type : {",fp32,nchw", ",fp16,nhwc"}) {
      PreprocessSpec spec = Spec((std::string(mode) + norm + type).c_str());
      SCOPED_TRACE(spec.ToString());
      CheckBatch(spec, {RandomImage(640, 480, spec.input_order, 3)});
      CheckBatch(spec, {RandomImage(97, 211, spec.input_order, 4, 5)});
    }
  }
}

TEST(PreprocessCuda, BatchOfDifferentSizesInOneLaunch) {
  SKIP_WITHOUT_GPU();
  for (const char* text : {"letterbox=640,fp16", "letterbox=416x256,fp32,nhwc"}) {
    PreprocessSpec spec = Spec(text);
    std::vector<Image> images;
    const std::pair<int, int> sizes[] = {{1920, 1080}, {1280, 720}, {37, 23},
                                         {1, 1},       {480, 640},  {3000, 200}};
    for (int i = 0; i < 6; ++i) {
      images.push_back(
          RandomImage(sizes[i].first, sizes[i].second, spec.input_order, 100 + i, i % 2 ? 3 : 0));
    }
    SCOPED_TRACE(text);
    CheckBatch(spec, images);
  }
}

TEST(PreprocessCuda, UnalignedOutputUsesScalarStores) {
  SKIP_WITHOUT_GPU();
  CheckBatch(Spec("letterbox=640,fp16"), {RandomImage(1280, 720, ChannelOrder::kBgr, 9)},
             /*misalign=*/2);
  CheckBatch(Spec("letterbox=640,fp32,nhwc"), {RandomImage(1280, 720, ChannelOrder::kBgr, 9)},
             /*misalign=*/4);
  // A large batch takes the biggest parameter block.
  std::vector<Image> many;
  for (int i = 0; i < 70; ++i)
    many.push_back(RandomImage(40 + i, 30 + 2 * i, ChannelOrder::kBgr, i));
  CheckBatch(Spec("letterbox=64x48,fp16"), many);
}

// Argument checks happen on the host, before any launch: no GPU needed.
TEST(PreprocessCuda, BadArgumentsAreErrors) {
  PreprocessSpec spec = Spec("letterbox=640,fp16");
  EXPECT_FALSE(GpuPreprocessor::Create(spec, 0).ok());
  EXPECT_FALSE(GpuPreprocessor::Create(spec, GpuPreprocessor::kMaxBatch + 1).ok());
  PreprocessSpec zero_std = spec;
  zero_std.std[1] = 0;
  EXPECT_FALSE(GpuPreprocessor::Create(zero_std, 1).ok());
  PreprocessSpec huge = spec;
  huge.out_width = 100000;
  EXPECT_FALSE(GpuPreprocessor::Create(huge, 1).ok());

  auto pre = GpuPreprocessor::Create(spec, 2);
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  // Never dereferenced: every call below fails validation before the launch.
  auto* fake = reinterpret_cast<uint8_t*>(uintptr_t{1} << 20);
  DeviceImage good{fake, 1920, 1080, 1920 * 3};
  DeviceImage frames[3] = {good, good, good};
  auto expect_invalid = [](const Status& s, const char* what) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << what << ": " << s.ToString();
  };
  expect_invalid((*pre)->Enqueue(frames, 3, fake, nullptr), "count > max_batch");
  expect_invalid((*pre)->Enqueue(frames, 0, fake, nullptr), "count 0");
  expect_invalid((*pre)->Enqueue(nullptr, 1, fake, nullptr), "null frames");
  expect_invalid((*pre)->Enqueue(frames, 1, nullptr, nullptr), "null output");
  expect_invalid((*pre)->Enqueue(frames, 1, fake + 1, nullptr), "misaligned output");
  DeviceImage bad = good;
  bad.data = nullptr;
  expect_invalid((*pre)->Enqueue(&bad, 1, fake, nullptr), "null frame data");
  bad = good;
  bad.width = 0;
  expect_invalid((*pre)->Enqueue(&bad, 1, fake, nullptr), "zero width");
  bad = good;
  bad.height = 20000;
  expect_invalid((*pre)->Enqueue(&bad, 1, fake, nullptr), "too tall");
  bad = good;
  bad.stride = 1920 * 3 - 1;
  expect_invalid((*pre)->Enqueue(&bad, 1, fake, nullptr), "short stride");
  DeviceImage mixed[2] = {good, bad};
  expect_invalid((*pre)->Enqueue(mixed, 2, fake, nullptr), "second frame bad");
}

}  // namespace
}  // namespace ridge::vision::cuda
