// Conv / ConvTranspose: shape inference (auto_pad, dynamic dims, errors), cost, reference.
#include <gtest/gtest.h>

#include "ops/nn_test_util.h"

namespace ridge::ops {
namespace {
using namespace nn_test;

TEST(ConvInfer, ResNetStem) {
  auto g = Build("Conv", {Act({1, 3, 224, 224}), Const(Tensor(DType::kFloat32, {64, 3, 7, 7}))},
                 {{"strides", AInts({2, 2})}, {"pads", AInts({3, 3, 3, 3})}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "1x64x112x112");
  NodeCost c = Cost(g);
  // 2 * 64*112*112 * 3*49 MACs
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 64 * 112 * 112 * 3 * 49);
  EXPECT_EQ(c.kind, OpKind::kCompute);
  EXPECT_EQ(c.gemm_m, 112 * 112);
  EXPECT_EQ(c.gemm_n, 64);
  EXPECT_EQ(c.gemm_k, 3 * 49);
  EXPECT_DOUBLE_EQ(c.bytes_read, 3 * 224 * 224 * 4.0);
  EXPECT_DOUBLE_EQ(c.weight_bytes, 64 * 3 * 49 * 4.0);
  EXPECT_DOUBLE_EQ(c.bytes_written, 64 * 112 * 112 * 4.0);
  EXPECT_DOUBLE_EQ(Cost(g, Precision::kFp16).bytes_written, 64 * 112 * 112 * 2.0);
}

TEST(ConvInfer, DepthwiseWithBiasAndSymbolicBatch) {
  auto g =
      Build("Conv",
            {Act(Sym({Dim::Symbolic("N"), 32, 112, 112})),
             Const(Tensor(DType::kFloat32, {32, 1, 3, 3})), Const(Tensor(DType::kFloat32, {32}))},
            {{"group", AInt(32)}, {"pads", AInts({1, 1, 1, 1})}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().shape->dims()[0].symbol, "N");
  EXPECT_EQ((*g.out().shape)[2].value, 112);
  // Concrete batch for cost.
  auto g2 = Build("Conv",
                  {Act({2, 32, 112, 112}), Const(Tensor(DType::kFloat32, {32, 1, 3, 3})),
                   Const(Tensor(DType::kFloat32, {32}))},
                  {{"group", AInt(32)}, {"pads", AInts({1, 1, 1, 1})}});
  ASSERT_TRUE(Infer(g2).ok());
  NodeCost c = Cost(g2);
  const double out = 2.0 * 32 * 112 * 112;
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * out * 1 * 9 + out);  // MACs*2 + bias adds
  EXPECT_EQ(c.gemm_n, 1);
  EXPECT_EQ(c.gemm_k, 9);
  EXPECT_EQ(c.gemm_m, 2 * 112 * 112);
}

TEST(ConvInfer, AutoPadAndDilation) {
  auto same = Build("Conv", {Act({1, 8, 15, 20}), Const(Tensor(DType::kFloat32, {4, 8, 3, 3}))},
                    {{"auto_pad", AStr("SAME_UPPER")}, {"strides", AInts({2, 2})}});
  ASSERT_TRUE(Infer(same).ok());
  EXPECT_EQ(same.shape(), "1x4x8x10");
  auto valid = Build("Conv", {Act({1, 8, 15, 20}), Const(Tensor(DType::kFloat32, {4, 8, 3, 3}))},
                     {{"auto_pad", AStr("VALID")}, {"dilations", AInts({2, 3})}});
  ASSERT_TRUE(Infer(valid).ok());
  EXPECT_EQ(valid.shape(), "1x4x11x14");
  // 1-D and 3-D
  auto c1 = Build("Conv", {Act({1, 2, 10}), Const(Tensor(DType::kFloat32, {3, 2, 4}))},
                  {{"strides", AInts({3})}});
  ASSERT_TRUE(Infer(c1).ok());
  EXPECT_EQ(c1.shape(), "1x3x3");
  auto c3 = Build("Conv", {Act({1, 2, 5, 6, 7}), Const(Tensor(DType::kFloat32, {3, 2, 3, 3, 3}))});
  ASSERT_TRUE(Infer(c3).ok());
  EXPECT_EQ(c3.shape(), "1x3x3x4x5");
  // Unknown spatial dim stays unknown, channels known.
  auto dyn =
      Build("Conv", {Act(Sym({1, 8, Dim(), 20})), Const(Tensor(DType::kFloat32, {4, 8, 3, 3}))});
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.shape(), "1x4x?x18");
  // Unknown input rank: rank from W.
  auto ur = Build("Conv", {UnknownRank(), Const(Tensor(DType::kFloat32, {4, 8, 3, 3}))});
  ASSERT_TRUE(Infer(ur).ok());
  EXPECT_EQ(ur.out().shape->rank(), 4u);
}

TEST(ConvInfer, Errors) {
  auto bad_group = Build("Conv", {Act({1, 6, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))},
                         {{"group", AInt(4)}});
  Status s = Infer(bad_group);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("group"), std::string::npos) << s.message();
  auto bad_pads = Build("Conv", {Act({1, 3, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))},
                        {{"pads", AInts({1, 1})}});
  s = Infer(bad_pads);
  EXPECT_NE(s.message().find("pads"), std::string::npos) << s.message();
  auto bad_stride = Build("Conv", {Act({1, 3, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))},
                          {{"strides", AInts({0, 1})}});
  s = Infer(bad_stride);
  EXPECT_NE(s.message().find("strides"), std::string::npos) << s.message();
  auto too_big = Build("Conv", {Act({1, 3, 2, 2}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))});
  EXPECT_FALSE(Infer(too_big).ok());
  auto bad_rank = Build("Conv", {Act({3, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))});
  EXPECT_FALSE(Infer(bad_rank).ok());
  auto bad_bias = Build("Conv", {Act({1, 3, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3})),
                                 Const(Tensor(DType::kFloat32, {5}))});
  s = Infer(bad_bias);
  EXPECT_NE(s.message().find("bias"), std::string::npos) << s.message();
  auto bad_ap = Build("Conv", {Act({1, 3, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))},
                      {{"auto_pad", AStr("FULL")}});
  s = Infer(bad_ap);
  EXPECT_NE(s.message().find("auto_pad"), std::string::npos) << s.message();
}

// Independent naive 2-D conv straight from the definition.
std::vector<float> NaiveConv2d(const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b, int n, int c, int h, int wd, int m,
                               int kh, int kw, int group, int sh, int sw, int ph, int pw, int dh,
                               int dw, int oh, int ow) {
  std::vector<float> y(static_cast<size_t>(n * m * oh * ow));
  int cg = c / group, mg = m / group;
  for (int in = 0; in < n; ++in)
    for (int om = 0; om < m; ++om)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          double s = b.empty() ? 0 : b[om];
          for (int ic = 0; ic < cg; ++ic)
            for (int ky = 0; ky < kh; ++ky)
              for (int kx = 0; kx < kw; ++kx) {
                int iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                int cc = (om / mg) * cg + ic;
                s +=
                    x[((in * c + cc) * h + iy) * wd + ix] * w[((om * cg + ic) * kh + ky) * kw + kx];
              }
          y[((in * m + om) * oh + oy) * ow + ox] = static_cast<float>(s);
        }
  return y;
}

TEST(ConvReference, HandComputed) {
  // 1x1x3x3 input, 2x2 kernel of ones, no pad: each output = sum of a 2x2 window.
  auto out = RunRef("Conv", {F32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}),
                             F32({1, 1, 2, 2}, {1, 1, 1, 1}), F32({1}, {0.5f})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].dims(), (std::vector<int64_t>{1, 1, 2, 2}));
  ExpectNear(Floats((*out)[0]), {12.5f, 16.5f, 24.5f, 28.5f});
}

TEST(ConvReference, MatchesNaiveGroupedStridedDilated) {
  const int n = 2, c = 4, h = 9, wd = 7, m = 6, group = 2, kh = 3, kw = 2;
  auto x = Rand(n * c * h * wd, 1), w = Rand(m * (c / group) * kh * kw, 2), b = Rand(m, 3);
  auto out = RunRef("Conv", {F32({n, c, h, wd}, x), F32({m, c / group, kh, kw}, w), F32({m}, b)},
                    {{"group", AInt(group)},
                     {"strides", AInts({2, 1})},
                     {"dilations", AInts({1, 2})},
                     {"pads", AInts({1, 0, 2, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // oh = (9+1+2-3)/2+1 = 5, ow = (7+0+1-3)/1+1 = 6
  ASSERT_EQ((*out)[0].dims(), (std::vector<int64_t>{n, m, 5, 6}));
  ExpectNear(Floats((*out)[0]),
             NaiveConv2d(x, w, b, n, c, h, wd, m, kh, kw, group, 2, 1, 1, 0, 1, 2, 5, 6), 1e-4f);
}

TEST(ConvReference, SameLowerPutsExtraPadFirst) {
  // 1-D input [1,2,3,4], kernel [1,1] (k=2), SAME_LOWER: total pad 1 at the beginning:
  // windows (0,1),(1,2),(2,3),(3,4) -> 1,3,5,7. SAME_UPPER: pad at end -> 3,5,7,4.
  auto lo = RunRef("Conv", {F32({1, 1, 4}, {1, 2, 3, 4}), F32({1, 1, 2}, {1, 1})},
                   {{"auto_pad", AStr("SAME_LOWER")}});
  ASSERT_TRUE(lo.ok());
  ExpectNear(Floats((*lo)[0]), {1, 3, 5, 7});
  auto up = RunRef("Conv", {F32({1, 1, 4}, {1, 2, 3, 4}), F32({1, 1, 2}, {1, 1})},
                   {{"auto_pad", AStr("SAME_UPPER")}});
  ASSERT_TRUE(up.ok());
  ExpectNear(Floats((*up)[0]), {3, 5, 7, 4});
}

TEST(ConvTranspose, InferAndReference) {
  auto g = Build("ConvTranspose", {Act({1, 4, 5, 5}), Const(Tensor(DType::kFloat32, {4, 2, 3, 3}))},
                 {{"strides", AInts({2, 2})},
                  {"pads", AInts({1, 1, 1, 1})},
                  {"output_padding", AInts({1, 1})}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "1x2x10x10");  // 2*4 + 1 + 3 - 2
  EXPECT_DOUBLE_EQ(Cost(g).flops, 2.0 * 4 * 25 * 2 * 9);
  auto os =
      Build("ConvTranspose", {Act({1, 4, 5, 5}), Const(Tensor(DType::kFloat32, {4, 2, 3, 3}))},
            {{"strides", AInts({2, 2})}, {"output_shape", AInts({10, 10})}});
  ASSERT_TRUE(Infer(os).ok());
  EXPECT_EQ(os.shape(), "1x2x10x10");
  // 1-D hand case: x=[1,2], w=[1,1,1], stride 2 -> [1,1,1+2,2,2]
  auto out = RunRef("ConvTranspose", {F32({1, 1, 2}, {1, 2}), F32({1, 1, 3}, {1, 1, 1})},
                    {{"strides", AInts({2})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Floats((*out)[0]), {1, 1, 3, 2, 2});
  // Transposed conv is the adjoint of conv: <conv(x), y> == <x, convT(y)>.
  auto x = Rand(1 * 3 * 6 * 6, 7), w = Rand(4 * 3 * 3 * 3, 8), y = Rand(4 * 3 * 3, 9);
  auto cy = RunRef("Conv", {F32({1, 3, 6, 6}, x), F32({4, 3, 3, 3}, w)},
                   {{"strides", AInts({2, 2})}, {"pads", AInts({1, 1, 0, 0})}});
  ASSERT_TRUE(cy.ok());
  ASSERT_EQ((*cy)[0].dims(), (std::vector<int64_t>{1, 4, 3, 3}));
  auto ty = RunRef("ConvTranspose", {F32({1, 4, 3, 3}, y), F32({4, 3, 3, 3}, w)},
                   {{"strides", AInts({2, 2})},
                    {"pads", AInts({1, 1, 0, 0})},
                    {"output_padding", AInts({0, 0})}});
  ASSERT_TRUE(ty.ok()) << ty.status().message();
  ASSERT_EQ((*ty)[0].dims(), (std::vector<int64_t>{1, 3, 6, 6}));
  double lhs = 0, rhs = 0;
  auto cv = Floats((*cy)[0]), tv = Floats((*ty)[0]);
  for (size_t i = 0; i < y.size(); ++i) lhs += cv[i] * y[i];
  for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * tv[i];
  EXPECT_NEAR(lhs, rhs, 1e-3);
}

}  // namespace
}  // namespace ridge::ops

namespace ridge::ops {
namespace {
using namespace nn_test;

TEST(ConvGuards, CraftedAttributesFailCleanly) {
  auto dil = Build("Conv", {Act({1, 3, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))},
                   {{"dilations", AInts({int64_t{1} << 40, 1})}});
  Status s = Infer(dil);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("too large"), std::string::npos) << s.message();
  auto pads = Build("Conv", {Act({1, 3, 8, 8}), Const(Tensor(DType::kFloat32, {4, 3, 3, 3}))},
                    {{"pads", AInts({int64_t{1} << 50, 0, 0, 0})}});
  EXPECT_FALSE(Infer(pads).ok());
  // A window pool whose kernel is huge but padded to fit: refused by the work cap, not hung.
  auto pool = RunRef("AveragePool", {F32({1, 1, 1, 1}, {1})},
                     {{"kernel_shape", AInts({1 << 20, 1 << 20})},
                      {"pads", AInts({1 << 20, 1 << 20, 1 << 20, 1 << 20})}});
  EXPECT_FALSE(pool.ok());
  auto pad = Build("Pad", {Act({1, 3}), Const(I64({4}, {0, int64_t{1} << 60, 0, 0}))});
  EXPECT_FALSE(Infer(pad).ok());
  auto resize = RunRef(
      "Resize", {F32({1, 1}, {1}), std::nullopt, std::nullopt, I64({2}, {1 << 20, 1 << 20})});
  EXPECT_FALSE(resize.ok());
  EXPECT_EQ(resize.status().code(), StatusCode::kLimitExceeded);
}

}  // namespace
}  // namespace ridge::ops
