// Resize and Pad: shape inference, cost, reference kernels.
#include <gtest/gtest.h>

#include "ops/nn_test_util.h"

namespace ridge::ops {
namespace {
using namespace nn_test;

std::optional<Tensor> Scales(std::vector<float> s) {
  return F32({static_cast<int64_t>(s.size())}, s);
}

TEST(Resize, NearestAsymmetricFloor) {
  auto out = RunRef(
      "Resize", {F32({1, 1, 2, 2}, {1, 2, 3, 4}), std::nullopt, Scales({1, 1, 2, 2})},
      {{"coordinate_transformation_mode", AStr("asymmetric")}, {"nearest_mode", AStr("floor")}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].dims(), (std::vector<int64_t>{1, 1, 4, 4}));
  ExpectNear(Floats((*out)[0]), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Default (half_pixel, round_prefer_floor) downsample by 2 of [1..4]: x = 2o + 0.5 -> 0.5
  // rounds down to 0, 2.5 -> 2.
  auto down = RunRef("Resize", {F32({1, 4}, {1, 2, 3, 4}), std::nullopt, Scales({1, 0.5f})});
  ASSERT_TRUE(down.ok());
  ExpectNear(Floats((*down)[0]), {1, 3});
  auto ceil = RunRef("Resize", {F32({1, 4}, {1, 2, 3, 4}), std::nullopt, Scales({1, 0.5f})},
                     {{"nearest_mode", AStr("round_prefer_ceil")}});
  ASSERT_TRUE(ceil.ok());
  ExpectNear(Floats((*ceil)[0]), {2, 4});
}

TEST(Resize, LinearModes) {
  Attrs lin = {{"mode", AStr("linear")}};
  auto hp = RunRef("Resize", {F32({1, 2}, {1, 2}), std::nullopt, Scales({1, 2})}, lin);
  ASSERT_TRUE(hp.ok());
  ExpectNear(Floats((*hp)[0]), {1, 1.25f, 1.75f, 2});
  lin["coordinate_transformation_mode"] = AStr("align_corners");
  auto ac = RunRef("Resize", {F32({1, 2}, {1, 2}), std::nullopt, Scales({1, 2})}, lin);
  ASSERT_TRUE(ac.ok());
  ExpectNear(Floats((*ac)[0]), {1, 4.f / 3, 5.f / 3, 2});
  // Bilinear 2x2 -> 3x3 with sizes (align_corners): centre is the mean.
  auto bi = RunRef("Resize",
                   {F32({2, 2}, {0, 2, 4, 6}), std::nullopt, std::nullopt, I64({2}, {3, 3})}, lin);
  ASSERT_TRUE(bi.ok()) << bi.status().message();
  ExpectNear(Floats((*bi)[0]), {0, 1, 2, 2, 3, 4, 4, 5, 6});
  // pytorch_half_pixel with an output of 1 samples coordinate 0.
  lin["coordinate_transformation_mode"] = AStr("pytorch_half_pixel");
  auto one = RunRef("Resize",
                    {F32({1, 4}, {5, 6, 7, 8}), std::nullopt, std::nullopt, I64({2}, {1, 1})}, lin);
  ASSERT_TRUE(one.ok());
  ExpectNear(Floats((*one)[0]), {5});
}

TEST(Resize, CubicCoefficients) {
  // asymmetric x2: output 3 samples x = 1.5 between 2 and 4 with a = -0.75.
  auto out =
      RunRef("Resize", {F32({1, 4}, {1, 2, 4, 8}), std::nullopt, Scales({1, 2})},
             {{"mode", AStr("cubic")}, {"coordinate_transformation_mode", AStr("asymmetric")}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  auto y = Floats((*out)[0]);
  ASSERT_EQ(y.size(), 8u);
  EXPECT_NEAR(y[2], 2, 1e-6);
  EXPECT_NEAR(y[3], -0.09375 * 1 + 0.59375 * 2 + 0.59375 * 4 - 0.09375 * 8, 1e-5);
  auto flat = RunRef("Resize", {F32({1, 3}, {7, 7, 7}), std::nullopt, Scales({1, 2.5f})},
                     {{"mode", AStr("cubic")}});
  ASSERT_TRUE(flat.ok());
  for (float v : Floats((*flat)[0])) EXPECT_NEAR(v, 7, 1e-5);
}

TEST(Resize, InferAndErrors) {
  auto g = Build(
      "Resize", {Act(Sym({Dim::Symbolic("N"), 3, 20, 20})), None(), Const(F32({4}, {1, 1, 2, 2}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "Nx3x40x40");
  auto sz = Build("Resize", {Act({1, 3, 20, 20}), Const(F32({0}, {})), Const(F32({0}, {})),
                             Const(I64({4}, {1, 3, 64, 48}))});
  ASSERT_TRUE(Infer(sz).ok());
  EXPECT_EQ(sz.shape(), "1x3x64x48");
  auto dyn = Build("Resize", {Act({1, 3, 20, 20}), None(), Act({4})});
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.out().shape->rank(), 4u);
  EXPECT_FALSE((*dyn.out().shape)[2].known());
  auto none = Build("Resize", {Act({1, 3, 20, 20})});
  Status s = Infer(none);
  EXPECT_NE(s.message().find("scales"), std::string::npos) << s.message();
  auto badmode = Build("Resize", {Act({1, 3, 20, 20}), None(), Const(F32({4}, {1, 1, 2, 2}))},
                       {{"mode", AStr("area")}});
  s = Infer(badmode);
  EXPECT_NE(s.message().find("mode"), std::string::npos) << s.message();
  auto badlen = Build("Resize", {Act({1, 3, 20, 20}), None(), Const(F32({2}, {2, 2}))});
  EXPECT_FALSE(Infer(badlen).ok());
  auto axes = Build("Resize", {Act({1, 3, 20, 20}), None(), Const(F32({2}, {2, 3}))},
                    {{"axes", AInts({2, 3})}}, 1, 18);
  ASSERT_TRUE(Infer(axes).ok());
  EXPECT_EQ(axes.shape(), "1x3x40x60");
  NodeCost c = Cost(g);
  EXPECT_EQ(c.kind, OpKind::kDataMovement);
  EXPECT_DOUBLE_EQ(c.flops, 0);
}

TEST(Pad, Modes) {
  auto con = RunRef("Pad", {F32({2}, {1, 2}), I64({2}, {1, 2}), F32({1}, {9})});
  ASSERT_TRUE(con.ok()) << con.status().message();
  ExpectNear(Floats((*con)[0]), {9, 1, 2, 9, 9});
  auto ref = RunRef("Pad", {F32({3}, {1, 2, 3}), I64({2}, {2, 2})}, {{"mode", AStr("reflect")}});
  ASSERT_TRUE(ref.ok());
  ExpectNear(Floats((*ref)[0]), {3, 2, 1, 2, 3, 2, 1});
  auto edge = RunRef("Pad", {F32({3}, {1, 2, 3}), I64({2}, {2, 2})}, {{"mode", AStr("edge")}});
  ASSERT_TRUE(edge.ok());
  ExpectNear(Floats((*edge)[0]), {1, 1, 1, 2, 3, 3, 3});
  auto crop = RunRef("Pad", {F32({3}, {1, 2, 3}), I64({2}, {-1, 1})});
  ASSERT_TRUE(crop.ok());
  ExpectNear(Floats((*crop)[0]), {2, 3, 0});
  // int64 data with axes (opset 18): pad only axis 1 of a 2x2.
  auto ax =
      RunRef("Pad", {I64({2, 2}, {1, 2, 3, 4}), I64({2}, {1, 0}), I64({1}, {-7}), I64({1}, {1})});
  ASSERT_TRUE(ax.ok()) << ax.status().message();
  EXPECT_EQ(Ints((*ax)[0]), (std::vector<int64_t>{-7, 1, 2, -7, 3, 4}));
}

TEST(Pad, InferAndErrors) {
  auto g = Build("Pad", {Act(Sym({Dim::Symbolic("N"), 3, 224, 224})),
                         Const(I64({8}, {0, 0, 1, 1, 0, 0, 1, 1}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "Nx3x226x226");
  NodeCost c = Cost(g);
  EXPECT_EQ(c.kind, OpKind::kDataMovement);
  EXPECT_DOUBLE_EQ(c.weight_bytes, 0);
  auto dyn = Build("Pad", {Act({1, 3, 8, 8}), Act({8}, DType::kInt64)});
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.shape(), "?x?x?x?");
  auto len = Build("Pad", {Act({1, 3, 8, 8}), Const(I64({4}, {0, 0, 1, 1}))});
  Status s = Infer(len);
  EXPECT_NE(s.message().find("pads"), std::string::npos) << s.message();
  auto refl =
      Build("Pad", {Act({1, 3}), Const(I64({4}, {0, 3, 0, 0}))}, {{"mode", AStr("reflect")}});
  s = Infer(refl);
  EXPECT_NE(s.message().find("reflect"), std::string::npos) << s.message();
  auto mode =
      Build("Pad", {Act({1, 3}), Const(I64({4}, {0, 1, 0, 0}))}, {{"mode", AStr("mirror")}});
  EXPECT_FALSE(Infer(mode).ok());
  auto legacy = Build("Pad", {Act({2, 3})}, {{"pads", AInts({1, 0, 1, 0})}}, 1, 2);
  ASSERT_TRUE(Infer(legacy).ok());
  EXPECT_EQ(legacy.shape(), "4x3");
}

}  // namespace
}  // namespace ridge::ops

namespace ridge::ops {
namespace {
using namespace nn_test;

TEST(Resize, SymbolicDimsSurvive) {
  // Scales 1 on a symbolic batch keep the symbol; non-constant scales only lose resized dims.
  auto g = Build("Resize", {Act(Sym({Dim::Symbolic("N"), 3, Dim::Symbolic("H"), 8})), None(),
                            Const(F32({4}, {1, 1, 2, 2}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "Nx3x?x16");
  auto dyn = Build("Resize", {Act(Sym({Dim::Symbolic("N"), 3, 8, 8})), None(), Act({2})},
                   {{"axes", AInts({2, 3})}}, 1, 18);
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.shape(), "Nx3x?x?");
  auto sz = Build(
      "Resize",
      {Act(Sym({Dim::Symbolic("N"), 3, Dim(), Dim()})), None(), None(), Const(I64({2}, {32, 48}))},
      {{"axes", AInts({2, 3})}}, 1, 18);
  ASSERT_TRUE(Infer(sz).ok());
  EXPECT_EQ(sz.shape(), "Nx3x32x48");
}

}  // namespace
}  // namespace ridge::ops
