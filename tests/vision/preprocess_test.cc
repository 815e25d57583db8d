// Preprocessing: the spec's text form, the letterbox/crop geometry, the reference arithmetic on
// hand-checked images, the Halide pipeline against the reference (value by value, odd sizes,
// every layout/type/order), and OpenCV's resize against the reference (1 LSB).
#include "vision/preprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "vision/preprocess_halide.h"

#ifdef RIDGE_TEST_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace ridge::vision {
namespace {

Image RandomImage(int w, int h, ChannelOrder order, uint32_t seed, size_t extra_stride = 0) {
  Image im;
  im.width = w;
  im.height = h;
  im.channels = 3;
  im.stride = size_t(w) * 3 + extra_stride;
  im.order = order;
  im.data.resize(im.stride * h);
  std::mt19937 rng(seed);
  for (auto& b : im.data) b = static_cast<uint8_t>(rng() & 255);
  return im;
}

PreprocessSpec Spec(const std::string& text) {
  auto spec = ParsePreprocessSpec(text);
  EXPECT_TRUE(spec.ok()) << text << ": " << spec.status().ToString();
  return spec.ok() ? spec.value() : PreprocessSpec{};
}

// Output as floats (fp16 widened), read from a buffer that ends in guard bytes.
std::vector<float> AsFloats(const std::vector<uint8_t>& buf, const PreprocessSpec& spec) {
  std::vector<float> v(spec.OutputElements());
  for (size_t i = 0; i < v.size(); ++i) {
    if (spec.type == OutputType::kFloat32) {
      std::memcpy(&v[i], buf.data() + i * 4, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, buf.data() + i * 2, 2);
      v[i] = HalfToFloat(h);
    }
  }
  return v;
}

constexpr size_t kGuard = 64;
constexpr uint8_t kGuardByte = 0xA5;

std::vector<uint8_t> GuardedBuffer(const PreprocessSpec& spec) {
  return std::vector<uint8_t>(spec.OutputBytes() + kGuard, kGuardByte);
}

bool GuardIntact(const std::vector<uint8_t>& buf) {
  for (size_t i = buf.size() - kGuard; i < buf.size(); ++i) {
    if (buf[i] != kGuardByte) return false;
  }
  return true;
}

TEST(ParsePreprocessSpec, GoodStringsAndDefaults) {
  PreprocessSpec s = Spec("letterbox=640");
  EXPECT_EQ(s.mode, ResizeMode::kLetterbox);
  EXPECT_EQ(s.out_width, 640);
  EXPECT_EQ(s.out_height, 640);
  EXPECT_EQ(s.pad_value, 114);
  EXPECT_EQ(s.input_order, ChannelOrder::kBgr);
  EXPECT_EQ(s.output_order, ChannelOrder::kRgb);
  EXPECT_FLOAT_EQ(s.scale, 1.0f / 255.0f);

  s = Spec(
      "resize=224x160,keep,scale=0.017,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,nhwc,"
      "fp16");
  EXPECT_EQ(s.mode, ResizeMode::kStretch);
  EXPECT_EQ(s.out_width, 224);
  EXPECT_EQ(s.out_height, 160);
  EXPECT_EQ(s.input_order, s.output_order);
  EXPECT_FLOAT_EQ(s.mean[1], 0.456f);
  EXPECT_FLOAT_EQ(s.std[2], 0.225f);
  EXPECT_EQ(s.layout, PlaneLayout::kNhwc);
  EXPECT_EQ(s.type, OutputType::kFloat16);

  s = Spec("centercrop=224@256,rgb2bgr,pad=0");
  EXPECT_EQ(s.mode, ResizeMode::kCenterCrop);
  EXPECT_EQ(s.crop_short_side, 256);
  EXPECT_EQ(s.input_order, ChannelOrder::kRgb);
  EXPECT_EQ(s.output_order, ChannelOrder::kBgr);
  EXPECT_EQ(Spec("letterbox=640,resize=32x16").mode, ResizeMode::kStretch);  // later wins
}

TEST(ParsePreprocessSpec, ToStringRoundTrips) {
  for (const char* text :
       {"letterbox=640", "letterbox=640x384,pad=0,keep,nhwc,fp16", "resize=224x224,rgb2bgr",
        "centercrop=224@256,scale=0.017,mean=0.485/0.456/0.406,std=0.229/0.224/0.225",
        "centercrop=300x200"}) {
    PreprocessSpec a = Spec(text);
    auto b = ParsePreprocessSpec(a.ToString());
    ASSERT_TRUE(b.ok()) << a.ToString() << ": " << b.status().ToString();
    EXPECT_EQ(b.value().ToString(), a.ToString()) << text;
    EXPECT_EQ(b.value().out_width, a.out_width);
    EXPECT_EQ(b.value().crop_short_side, a.crop_short_side);
    EXPECT_EQ(b.value().scale, a.scale);
    EXPECT_EQ(b.value().mean[0], a.mean[0]);
    EXPECT_EQ(b.value().std[2], a.std[2]);
  }
}

TEST(ParsePreprocessSpec, BadStringsGiveClearErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "needs a size"},
      {"nchw,fp32", "needs a size"},
      {"letterbox=0", "1..16384"},
      {"letterbox=16385", "1..16384"},
      {"letterbox=abc", "1..16384"},
      {"resize=10x", "1..16384"},
      {"resize=10x-3", "1..16384"},
      {"letterbox=64,pad=256", "pad is an integer"},
      {"letterbox=64,pad=1.5", "pad is an integer"},
      {"letterbox=64,scale=1/0", "divides by zero"},
      {"letterbox=64,scale=x", "not a number"},
      {"letterbox=64,mean=1/2", "three values"},
      {"letterbox=64,std=1/0/1", "std of 0"},
      // scale/std overflows fp32: pixel 0 would give 0 * inf = NaN (a fuzzer found it).
      {"letterbox=64,scale=1e30,std=1e-30/1/1", "overflows fp32 in channel 0"},
      {"letterbox=64,mean=1/1/1e30,std=1/1/1e-30", "overflows fp32 in channel 2"},
      {"letterbox=64,bogus", "unknown preprocess token 'bogus'"},
  };
  for (const auto& [text, needle] : cases) {
    auto r = ParsePreprocessSpec(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << text << " -> " << r.status().message();
  }
}

TEST(ComputeGeometry, LetterboxAndCenterCrop) {
  auto g = ComputeGeometry(1920, 1080, Spec("letterbox=640"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.value().content_x0, 0);
  EXPECT_EQ(g.value().content_x1, 640);
  EXPECT_EQ(g.value().content_y0, 140);
  EXPECT_EQ(g.value().content_y1, 500);  // 640x360 at y offset 140
  EXPECT_FLOAT_EQ(g.value().scale_x, 1.0f / 3.0f);
  EXPECT_FLOAT_EQ(g.value().offset_y, 140.0f);
  EXPECT_FLOAT_EQ(g.value().ToSourceY(140.0f), 0.0f);

  // Shorter side 480 -> 256 (r = 256/480), 224x224 taken from the centre of 341.3x256.
  g = ComputeGeometry(640, 480, Spec("centercrop=224@256"));
  ASSERT_TRUE(g.ok());
  EXPECT_FLOAT_EQ(g.value().scale_x, 256.0f / 480.0f);
  EXPECT_FLOAT_EQ(g.value().offset_x, (224.0f - 640.0f * 256.0f / 480.0f) / 2.0f);
  EXPECT_FLOAT_EQ(g.value().offset_y, -16.0f);
  EXPECT_EQ(g.value().content_x1, 224);
  // No short side: cover the output exactly along the limiting side.
  g = ComputeGeometry(640, 480, Spec("centercrop=224"));
  ASSERT_TRUE(g.ok());
  EXPECT_FLOAT_EQ(g.value().scale_y, 224.0f / 480.0f);
  EXPECT_FLOAT_EQ(g.value().offset_y, 0.0f);

  EXPECT_FALSE(ComputeGeometry(0, 10, Spec("letterbox=64")).ok());
  EXPECT_FALSE(ComputeGeometry(20000, 10, Spec("letterbox=64")).ok());
  // A spec built in code skips the parser; geometry (every implementation's first step) checks.
  PreprocessSpec overflowing = Spec("letterbox=64");
  overflowing.std[1] = 1e-30f;
  overflowing.scale = 1e30f;
  EXPECT_FALSE(ComputeGeometry(64, 64, overflowing).ok());
}

TEST(PreprocessReference, OnePixelEverywhereWithNormalization) {
  Image im;
  im.width = im.height = 1;
  im.channels = 3;
  im.stride = 3;
  im.order = ChannelOrder::kBgr;
  im.data = {10, 20, 30};  // B, G, R
  PreprocessSpec spec = Spec("resize=2x2,bgr2rgb,scale=0.5,mean=1/2/3,std=2/4/5");
  std::vector<float> out(spec.OutputElements(), -1.0f);
  ASSERT_TRUE(PreprocessReference(im, spec, out.data()).ok());
  const float want[3] = {(30 * 0.5f - 1) / 2, (20 * 0.5f - 2) / 4, (10 * 0.5f - 3) / 5};
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out[c * 4 + i], want[c]) << c << "," << i;
  }
}

TEST(PreprocessReference, TwoByTwoToFourByFourHandChecked) {
  // Channel 0: [[0, 100], [200, 255]]. Taps per axis for 2 -> 4 (half-pixel, clamped):
  // (0, 1, 0), (0, 1, .25), (0, 1, .75), (1, 1, 0).
  Image im;
  im.width = im.height = 2;
  im.channels = 3;
  im.stride = 6;
  im.order = ChannelOrder::kRgb;
  im.data = {0, 7, 7, 100, 7, 7, 200, 7, 7, 255, 7, 7};
  PreprocessSpec spec = Spec("resize=4x4,keep,scale=1");
  spec.input_order = spec.output_order = ChannelOrder::kRgb;
  std::vector<float> out(spec.OutputElements());
  ASSERT_TRUE(PreprocessReference(im, spec, out.data()).ok());
  // Row 1: top (0, 25, 75, 100), bottom (200, 213.75, 241.25, 255), fy .25 -> 50, 72.19,
  // 116.56, 138.75; rounded half up.
  const float want[16] = {0, 25, 75, 100, 50, 72, 117, 139, 150, 167, 200, 216, 200, 214, 241, 255};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(out[i], want[i]) << "pixel " << i;
  for (int i = 16; i < 48; ++i) EXPECT_EQ(out[i], 7.0f);  // flat channels stay flat
}

TEST(PreprocessReference, RejectsBadImages) {
  Image im = RandomImage(4, 4, ChannelOrder::kRgb, 1);
  std::vector<float> out(64 * 64 * 3);
  EXPECT_FALSE(PreprocessReference(im, Spec("letterbox=64"), out.data()).ok());  // wants BGR
  im.order = ChannelOrder::kBgr;
  im.channels = 1;
  EXPECT_FALSE(PreprocessReference(im, Spec("letterbox=64"), out.data()).ok());
}

// Largest |halide - reference| in units of one 8-bit step (|mul| per channel), and how many
// values differ at all. fp16 adds its own rounding: half an ulp of the value.
struct Diff {
  double max_steps = 0;
  int64_t differing = 0;
  bool within = true;
};

Diff Compare(const std::vector<float>& got, const std::vector<float>& want,
             const PreprocessSpec& spec) {
  Diff d;
  const int64_t plane = int64_t{spec.out_width} * spec.out_height;
  for (int64_t i = 0; i < int64_t(got.size()); ++i) {
    const int c = spec.layout == PlaneLayout::kNchw ? int(i / plane) : int(i % 3);
    const double step = std::fabs(spec.scale / spec.std[c]);
    const double diff = std::fabs(double(got[i]) - want[i]);
    double tol = step + 1e-6;
    if (spec.type == OutputType::kFloat16) tol += std::fabs(want[i]) * (1.0 / 2048) + 6e-8;
    if (got[i] != want[i] || std::isnan(got[i])) ++d.differing;
    if (!(diff <= tol)) d.within = false;
    d.max_steps = std::max(d.max_steps, diff / step);
  }
  return d;
}

struct Case {
  int w, h;
  const char* spec;
};

const Case kCases[] = {
    {1, 1, "letterbox=64"},
    {1000, 1, "letterbox=640"},
    {1, 1000, "letterbox=640"},
    {37, 23, "letterbox=64x48,pad=0"},
    {37, 23, "resize=300x200"},
    {1920, 1080, "letterbox=640"},
    {500, 375, "centercrop=224@256,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,scale=1/255"},
    {640, 480, "resize=300x200,scale=0.017,mean=0.5/0.25/0.125"},
    {3, 2, "resize=1x1"},
    {17, 9, "resize=15x3"},
    {96, 40, "resize=96x40"},     // identity: every tap is a whole pixel (taps_integral path)
    {500, 100, "resize=100x20"},  // 1/5 decimation: whole pixels too
};

TEST(PreprocessHalide, MatchesReferenceEveryLayoutTypeAndOrder) {
  if (!HalidePreprocessAvailable()) {
    GTEST_SKIP() << "Halide not built in (libhalide14-0-dev missing at configure time)";
  }
  ASSERT_TRUE(SetHalidePreprocessThreads(1).ok());
  int64_t total = 0, differing = 0;
  uint32_t seed = 1;
  for (const Case& k : kCases) {
    for (const char* order : {"bgr2rgb", "keep"}) {
      for (const char* layout : {"nchw", "nhwc"}) {
        for (const char* type : {"fp32", "fp16"}) {
          const std::string text = std::string(k.spec) + "," + order + "," + layout + "," + type;
          PreprocessSpec spec = Spec(text);
          // Padded rows (stride > width * 3) on every other image.
          Image im = RandomImage(k.w, k.h, spec.input_order, seed, (seed % 2) * 5);
          ++seed;
          std::vector<uint8_t> ref = GuardedBuffer(spec), hal = GuardedBuffer(spec);
          ASSERT_TRUE(PreprocessReference(im, spec, ref.data()).ok()) << text;
          Status st = PreprocessHalide(im, spec, hal.data());
          ASSERT_TRUE(st.ok()) << text << ": " << st.ToString();
          ASSERT_TRUE(GuardIntact(hal)) << text << ": Halide wrote past the output";
          Diff d = Compare(AsFloats(hal, spec), AsFloats(ref, spec), spec);
          EXPECT_TRUE(d.within) << k.w << "x" << k.h << " " << text << ": " << d.max_steps
                                << " steps";
          // strict_float keeps the arithmetic identical: any difference is a bug.
          EXPECT_EQ(d.differing, 0) << k.w << "x" << k.h << " " << text;
          total += spec.OutputElements();
          differing += d.differing;
        }
      }
    }
  }
  std::printf("halide vs reference: %lld of %lld values differ\n",
              static_cast<long long>(differing), static_cast<long long>(total));
  // Two threads give the same bits (rows are independent).
  ASSERT_TRUE(SetHalidePreprocessThreads(2).ok());
  PreprocessSpec spec = Spec("letterbox=640");
  Image im = RandomImage(1280, 720, spec.input_order, 99);
  std::vector<uint8_t> a = GuardedBuffer(spec), b = GuardedBuffer(spec);
  ASSERT_TRUE(PreprocessHalide(im, spec, a.data()).ok());
  ASSERT_TRUE(PreprocessReference(im, spec, b.data()).ok());
  EXPECT_EQ(a, b);
  ASSERT_TRUE(SetHalidePreprocessThreads(0).ok());
}

TEST(PreprocessHalide, BadInputIsAStatus) {
  if (!HalidePreprocessAvailable()) {
    EXPECT_EQ(PreprocessHalide(Image{}, PreprocessSpec{}, nullptr).code(),
              StatusCode::kUnsupported);
    GTEST_SKIP() << "Halide not built in; checked the Unsupported status only";
  }
  PreprocessSpec spec = Spec("letterbox=64");
  std::vector<uint8_t> out = GuardedBuffer(spec);
  Image im = RandomImage(8, 8, ChannelOrder::kRgb, 3);
  EXPECT_EQ(PreprocessHalide(im, spec, out.data()).code(), StatusCode::kInvalidArgument);
  im.order = ChannelOrder::kBgr;
  EXPECT_EQ(PreprocessHalide(im, spec, nullptr).code(), StatusCode::kInvalidArgument);
  Image empty;
  empty.channels = 3;
  empty.order = ChannelOrder::kBgr;
  EXPECT_EQ(PreprocessHalide(empty, spec, out.data()).code(), StatusCode::kInvalidArgument);
  im.data.resize(10);  // shorter than stride * height
  EXPECT_EQ(PreprocessHalide(im, spec, out.data()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SetHalidePreprocessThreads(-1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(GuardIntact(out));
}

#ifdef RIDGE_TEST_HAVE_OPENCV
// OpenCV's letterbox/stretch: cv::resize INTER_LINEAR to the content box, copyMakeBorder, then
// the channel swap and normalization by hand with the reference's formula. cv::resize on 8-bit
// images is fixed point (11-bit weights, rounded once at the end) where the reference blends in
// float and rounds, so some pixels land one step apart; never more.
TEST(PreprocessOpenCv, WithinOneStepOfReference) {
  cv::setNumThreads(1);
  const Case cases[] = {{1920, 1080, "letterbox=640"},
                        {1000, 700, "letterbox=640x384,pad=0"},
                        {37, 23, "resize=300x200"},
                        {1280, 720, "resize=640x480"}};
  for (const Case& k : cases) {
    PreprocessSpec spec = Spec(std::string(k.spec) + ",bgr2rgb,nchw,fp32");
    Image im = RandomImage(k.w, k.h, spec.input_order, 7);
    auto g = ComputeGeometry(k.w, k.h, spec);
    ASSERT_TRUE(g.ok());
    const ResizeGeometry& geo = g.value();
    cv::Mat src(im.height, im.width, CV_8UC3, im.data.data(), im.stride), resized, boxed;
    cv::resize(src, resized,
               cv::Size(geo.content_x1 - geo.content_x0, geo.content_y1 - geo.content_y0), 0, 0,
               cv::INTER_LINEAR);
    cv::copyMakeBorder(resized, boxed, geo.content_y0, spec.out_height - geo.content_y1,
                       geo.content_x0, spec.out_width - geo.content_x1, cv::BORDER_CONSTANT,
                       cv::Scalar::all(spec.pad_value));
    ASSERT_EQ(boxed.cols, spec.out_width);
    ASSERT_EQ(boxed.rows, spec.out_height);
    std::vector<float> cvout(spec.OutputElements()), ref(spec.OutputElements());
    const int64_t plane = int64_t{spec.out_width} * spec.out_height;
    for (int y = 0; y < boxed.rows; ++y) {
      for (int x = 0; x < boxed.cols; ++x) {
        const uint8_t* p = boxed.ptr<uint8_t>(y) + x * 3;
        for (int c = 0; c < 3; ++c) {
          const float v = p[2 - c];  // bgr2rgb
          cvout[c * plane + int64_t{y} * spec.out_width + x] =
              v * (spec.scale / spec.std[c]) + (-spec.mean[c] / spec.std[c]);
        }
      }
    }
    ASSERT_TRUE(PreprocessReference(im, spec, ref.data()).ok());
    Diff d = Compare(cvout, ref, spec);
    EXPECT_TRUE(d.within) << k.w << "x" << k.h << " " << k.spec << ": " << d.max_steps;
    EXPECT_LE(d.max_steps, 1.0 + 1e-3);
    std::printf(
        "opencv vs reference, %dx%d %s: %lld of %lld values differ (%.3f%%), max %.2f "
        "steps\n",
        k.w, k.h, k.spec, static_cast<long long>(d.differing), static_cast<long long>(cvout.size()),
        100.0 * d.differing / cvout.size(), d.max_steps);
  }
}
#endif  // RIDGE_TEST_HAVE_OPENCV

}  // namespace
}  // namespace ridge::vision
