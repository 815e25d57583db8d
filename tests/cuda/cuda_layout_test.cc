// Layout changes and channel padding (engine.cc Get / GetNhwcPadded, kernels/layout.cu, the
// padded filters in conv_step.cc) against the CPU executor: an image-like 3-channel input into
// a 7x7 stride-2 conv and into a 1x1 conv (cuBLASLt path, K = 8 after padding), with the
// padding on and off; odd channel and pixel counts through both tiled transposes.
#include "engine_graph_test_util.h"

namespace ridge::cuda {
namespace {

using graph_test::ChainBuilder;

int32_t Count(const std::map<std::string, int32_t>& kinds, const std::string& kind) {
  auto it = kinds.find(kind);
  return it == kinds.end() ? 0 : it->second;
}

struct Case {
  Precision precision;
  bool pad;
};
class CudaLayout : public ::testing::TestWithParam<Case> {
 protected:
  std::map<std::string, int32_t> Run(ChainBuilder& b) {
    EngineOptions eo;
    eo.precision = GetParam().precision;
    eo.pad_input_channels = GetParam().pad;
    const bool half = GetParam().precision == Precision::kFp16;
    return graph_test::RunAndCompare(b, eo, half ? 2e-2 : 1e-4, half ? 2e-2 : 1e-4);
  }
  // Padded transposes expected: fp16 with padding on only.
  int32_t ExpectedPadded() const {
    return GetParam().precision == Precision::kFp16 && GetParam().pad ? 1 : 0;
  }
};

TEST_P(CudaLayout, ImageStemConv7x7Stride2) {
  SKIP_WITHOUT_GPU();
  ChainBuilder b;
  ir::ValueId x = b.Input("image", {2, 3, 33, 31});
  ir::ValueId y = b.ConvK(x, 3, 16, 7, 2, 3, {2, 16, 17, 16});
  y = b.Node("Relu", {y}, {2, 16, 17, 16});
  b.Output(y);
  auto kinds = Run(b);
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(Count(kinds, "layout_transpose_pad"), ExpectedPadded());
}

TEST_P(CudaLayout, PointwiseConvOnThreeChannels) {
  SKIP_WITHOUT_GPU();
  ChainBuilder b;
  ir::ValueId x = b.Input("image", {3, 3, 9, 11});
  b.Output(b.Conv1x1(x, 3, 12, {3, 12, 9, 11}));
  auto kinds = Run(b);
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(Count(kinds, "layout_transpose_pad"), ExpectedPadded());
}

// 37 channels x 35 pixels: partial 32x32 tiles both ways (NCHW input -> NHWC conv -> NCHW
// graph output), batch 3.
TEST_P(CudaLayout, OddTilesBothDirections) {
  SKIP_WITHOUT_GPU();
  ChainBuilder b;
  ir::ValueId x = b.Input("x", {3, 37, 5, 7});
  b.Output(b.ConvK(x, 37, 19, 3, 1, 1, {3, 19, 5, 7}));
  auto kinds = Run(b);
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(Count(kinds, "layout_transpose"), 2) << "one in, one out";
}

INSTANTIATE_TEST_SUITE_P(Modes, CudaLayout,
                         ::testing::Values(Case{Precision::kFp32, true},
                                           Case{Precision::kFp16, true},
                                           Case{Precision::kFp16, false}),
                         [](const auto& info) {
                           return std::string(info.param.precision == Precision::kFp16 ? "fp16"
                                                                                       : "fp32") +
                                  (info.param.pad ? "_pad" : "_nopad");
                         });

}  // namespace
}  // namespace ridge::cuda
