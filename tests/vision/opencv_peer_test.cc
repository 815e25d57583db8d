// The OpenCV peer (`ridge pipeline --naive`'s preprocessing) against PreprocessReference for
// every resize mode, layout, output type and normalization: equal within OpenCV's fixed-point
// resize rounding (1 LSB before scaling; centercrop: <= 2% of values beyond 1 LSB, as its
// resized size is rounded to whole pixels and a hard edge can move by one).
#include "vision/opencv_peer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ridge::vision {
namespace {

// Smooth content (small position differences give small value differences) plus a hard edge.
Image TestImage(int w, int h) {
  Image im;
  im.width = w;
  im.height = h;
  im.channels = 3;
  im.stride = static_cast<size_t>(w) * 3;
  im.order = ChannelOrder::kBgr;
  im.data.resize(im.stride * h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = im.data.data() + y * im.stride + 3 * x;
      p[0] = static_cast<uint8_t>(x * 255 / (w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / (h - 1));
      p[2] = static_cast<uint8_t>(x < w / 2 ? 30 : 220);
    }
  }
  return im;
}

std::vector<float> AsFloat(const std::vector<uint8_t>& bytes, const PreprocessSpec& spec) {
  std::vector<float> v(static_cast<size_t>(spec.OutputElements()));
  for (size_t i = 0; i < v.size(); ++i) {
    if (spec.type == OutputType::kFloat32) {
      std::memcpy(&v[i], bytes.data() + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      v[i] = HalfToFloat(h);
    }
  }
  return v;
}

struct Case {
  std::string spec;
  double lsb;      // tolerated difference in 8-bit steps
  double max_bad;  // fraction of values allowed beyond 1 LSB (the hard edge moves a little)
};

TEST(OpenCvPeerTest, MatchesTheReference) {
  const Image im = TestImage(301, 173);
  OpenCvPreprocessor peer;
  for (const Case& c : std::vector<Case>{
           {"letterbox=128,bgr2rgb,scale=1/255", 1, 0},
           {"letterbox=96x128,pad=0,keep,scale=1,fp16", 1, 0},
           {"resize=64x48,bgr2rgb,scale=1/255,nhwc", 1, 0},
           {"resize=64x48,bgr2rgb,scale=1/255,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,fp16", 1,
            0},
           {"centercrop=112@128,bgr2rgb,scale=1/255,mean=0.485/0.456/0.406,std=0.229/0.224/0.225",
            255, 0.02},  // the hard edge may move by a pixel: bounded by the count
       }) {
    SCOPED_TRACE(c.spec);
    auto spec = ParsePreprocessSpec(c.spec);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    std::vector<uint8_t> ref(static_cast<size_t>(spec->OutputBytes())),
        got(static_cast<size_t>(spec->OutputBytes()) + 8, 0x5A);
    ASSERT_TRUE(PreprocessReference(im, *spec, ref.data()).ok());
    Status st = peer.Run(im, *spec, got.data());
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(got[spec->OutputBytes()], 0x5A);  // nothing written past the output
    got.resize(ref.size());
    const std::vector<float> a = AsFloat(ref, *spec), b = AsFloat(got, *spec);
    // One 8-bit step in output units, per channel (the largest of the three) plus fp16 rounding.
    double step = 0;
    for (float sd : spec->std) step = std::max(step, static_cast<double>(spec->scale / sd));
    const double fp16 = spec->type == OutputType::kFloat16 ? 3e-3 : 1e-5;
    int64_t beyond_one = 0;
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double d = std::abs(static_cast<double>(a[i]) - b[i]);
      worst = std::max(worst, d / step);
      beyond_one += d > step * 1.001 + fp16 * (1 + std::abs(a[i]));
    }
    EXPECT_LE(worst, c.lsb + 0.01 + fp16 / step * 8);
    EXPECT_LE(static_cast<double>(beyond_one), c.max_bad * static_cast<double>(a.size()))
        << beyond_one << " of " << a.size() << " values differ by more than 1 LSB";
  }
}

TEST(OpenCvPeerTest, BadInputIsAStatus) {
  OpenCvPreprocessor peer;
  auto spec = ParsePreprocessSpec("letterbox=64,bgr2rgb");
  ASSERT_TRUE(spec.ok());
  std::vector<float> out(static_cast<size_t>(spec->OutputElements()));
  Image im = TestImage(10, 10);
  im.order = ChannelOrder::kRgb;  // the spec expects BGR
  EXPECT_FALSE(peer.Run(im, *spec, out.data()).ok());
  Image empty;
  EXPECT_FALSE(peer.Run(empty, *spec, out.data()).ok());
  Image truncated = TestImage(10, 10);
  truncated.data.resize(10);
  EXPECT_FALSE(peer.Run(truncated, *spec, out.data()).ok());
  auto fn = MakeOpenCvPreprocess();
  EXPECT_TRUE(fn(TestImage(10, 10), *spec, out.data()).ok());
  EXPECT_STRNE(OpenCvVersion(), "");
}

}  // namespace
}  // namespace ridge::vision
