// Pools, normalizations, Softmax/LogSoftmax: shape inference, cost, reference kernels.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/nn_test_util.h"

namespace ridge::ops {
namespace {
using namespace nn_test;

TEST(PoolInfer, MaxPoolStemAndCeilMode) {
  auto g = Build(
      "MaxPool", {Act(Sym({Dim::Symbolic("N"), 64, 112, 112}))},
      {{"kernel_shape", AInts({3, 3})}, {"strides", AInts({2, 2})}, {"pads", AInts({1, 1, 1, 1})}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "Nx64x56x56");
  auto c =
      Build("MaxPool", {Act({1, 1, 5, 5})},
            {{"kernel_shape", AInts({2, 2})}, {"strides", AInts({2, 2})}, {"ceil_mode", AInt(1)}});
  ASSERT_TRUE(Infer(c).ok());
  EXPECT_EQ(c.shape(), "1x1x3x3");
  auto f = Build("AveragePool", {Act({1, 1, 5, 5})},
                 {{"kernel_shape", AInts({2, 2})}, {"strides", AInts({2, 2})}});
  ASSERT_TRUE(Infer(f).ok());
  EXPECT_EQ(f.shape(), "1x1x2x2");
  auto cost = Build(
      "MaxPool", {Act({1, 64, 112, 112})},
      {{"kernel_shape", AInts({3, 3})}, {"strides", AInts({2, 2})}, {"pads", AInts({1, 1, 1, 1})}});
  ASSERT_TRUE(Infer(cost).ok());
  NodeCost nc = Cost(cost);
  EXPECT_DOUBLE_EQ(nc.flops, 64.0 * 56 * 56 * 9);
  EXPECT_DOUBLE_EQ(nc.bytes_read, 64.0 * 112 * 112 * 4);
  EXPECT_EQ(nc.kind, OpKind::kReduction);
  auto gap = Build("GlobalAveragePool", {Act({2, 2048, 7, 7})});
  ASSERT_TRUE(Infer(gap).ok());
  EXPECT_EQ(gap.shape(), "2x2048x1x1");
  EXPECT_DOUBLE_EQ(Cost(gap).flops, 2.0 * 2048 * 49);
}

TEST(PoolInfer, Errors) {
  auto nok = Build("MaxPool", {Act({1, 1, 5, 5})});
  Status s = Infer(nok);
  EXPECT_NE(s.message().find("kernel_shape"), std::string::npos) << s.message();
  auto rank = Build("MaxPool", {Act({1, 1, 5})}, {{"kernel_shape", AInts({2, 2})}});
  EXPECT_FALSE(Infer(rank).ok());
  auto dil = Build("MaxPool", {Act({1, 1, 5, 5})},
                   {{"kernel_shape", AInts({2, 2})}, {"dilations", AInts({1})}});
  s = Infer(dil);
  EXPECT_NE(s.message().find("dilations"), std::string::npos) << s.message();
}

TEST(PoolReference, MaxPoolWithIndices) {
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
  auto out = RunRef("MaxPool", {F32({1, 1, 4, 4}, x)},
                    {{"kernel_shape", AInts({2, 2})}, {"strides", AInts({2, 2})}}, 2);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Floats((*out)[0]), {5, 7, 13, 15});
  EXPECT_EQ(Ints((*out)[1]), (std::vector<int64_t>{5, 7, 13, 15}));
  auto neg = RunRef("MaxPool", {F32({1, 1, 1, 3}, {-3, -2, -5})},
                    {{"kernel_shape", AInts({1, 3})}, {"pads", AInts({0, 1, 0, 1})}});
  ASSERT_TRUE(neg.ok());
  ExpectNear(Floats((*neg)[0]), {-2, -2, -2});  // padding never wins a max
}

TEST(PoolReference, AveragePoolPadsAndCeil) {
  std::vector<float> ones(9, 1.0f);
  Attrs a = {{"kernel_shape", AInts({3, 3})}, {"pads", AInts({1, 1, 1, 1})}};
  auto ex = RunRef("AveragePool", {F32({1, 1, 3, 3}, ones)}, a);
  ASSERT_TRUE(ex.ok());
  ExpectNear(Floats((*ex)[0]), std::vector<float>(9, 1.0f));
  a["count_include_pad"] = AInt(1);
  auto inc = RunRef("AveragePool", {F32({1, 1, 3, 3}, ones)}, a);
  ASSERT_TRUE(inc.ok());
  const float c = 4.f / 9, e = 6.f / 9;
  ExpectNear(Floats((*inc)[0]), {c, e, c, e, 1, e, c, e, c});
  auto ceil = RunRef("AveragePool", {F32({1, 1, 1, 5}, {1, 2, 3, 4, 5})},
                     {{"kernel_shape", AInts({1, 2})},
                      {"strides", AInts({1, 2})},
                      {"ceil_mode", AInt(1)},
                      {"count_include_pad", AInt(1)}});
  ASSERT_TRUE(ceil.ok());
  ExpectNear(Floats((*ceil)[0]), {1.5f, 3.5f, 5});
  auto gap = RunRef("GlobalAveragePool", {F32({1, 2, 2, 1}, {1, 2, 3, 5})});
  ASSERT_TRUE(gap.ok());
  ExpectNear(Floats((*gap)[0]), {1.5f, 4});
  auto gmp = RunRef("GlobalMaxPool", {F32({1, 2, 2, 1}, {1, 2, 3, 5})});
  ASSERT_TRUE(gmp.ok());
  ExpectNear(Floats((*gmp)[0]), {2, 5});
}

TEST(Norm, BatchNorm) {
  auto out = RunRef("BatchNormalization",
                    {F32({1, 2, 2, 1}, {1, 2, 3, 4}), F32({2}, {1, 2}), F32({2}, {0, 1}),
                     F32({2}, {1, 2}), F32({2}, {1, 4})},
                    {{"epsilon", AFloat(0)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Floats((*out)[0]), {0, 1, 2, 3});
  auto w = Const(Tensor(DType::kFloat32, {2}));
  auto g = Build("BatchNormalization", {Act({1, 2, 8, 8}), w, w, w, w});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "1x2x8x8");
  EXPECT_DOUBLE_EQ(Cost(g).flops, 2.0 * 128);
  EXPECT_DOUBLE_EQ(Cost(g).weight_bytes, 4 * 2 * 4.0);
  auto bad = Build("BatchNormalization", {Act({1, 3, 8, 8}), w, w, w, w});
  Status s = Infer(bad);
  EXPECT_NE(s.message().find("scale"), std::string::npos) << s.message();
  auto train = Build("BatchNormalization", {Act({1, 2, 8, 8}), w, w, w, w}, {}, 3);
  s = Infer(train);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
}

TEST(Norm, LayerNorm) {
  auto g = Build("LayerNormalization",
                 {Act(Sym({Dim::Symbolic("B"), 197, 768})), Const(Tensor(DType::kFloat32, {768})),
                  Const(Tensor(DType::kFloat32, {768}))},
                 {}, 3);
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(0), "Bx197x768");
  EXPECT_EQ(g.shape(1), "Bx197x1");
  auto g2 = Build("LayerNormalization", {Act({2, 3, 4}), Const(Tensor(DType::kFloat32, {3, 4}))},
                  {{"axis", AInt(1)}}, 2);
  ASSERT_TRUE(Infer(g2).ok());
  EXPECT_EQ(g2.shape(1), "2x1x1");
  auto bad = Build("LayerNormalization", {Act({2, 3, 4}), Const(Tensor(DType::kFloat32, {5}))});
  EXPECT_FALSE(Infer(bad).ok());
  auto badaxis = Build("LayerNormalization", {Act({2, 3, 4}), Const(Tensor(DType::kFloat32, {4}))},
                       {{"axis", AInt(3)}});
  Status s = Infer(badaxis);
  EXPECT_NE(s.message().find("axis"), std::string::npos) << s.message();

  auto out =
      RunRef("LayerNormalization",
             {F32({1, 4}, {1, 2, 3, 4}), F32({4}, {1, 1, 2, 1}), F32({4}, {0, 0, 0, 1})}, {}, 3);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const float inv = 1.0f / std::sqrt(1.25f + 1e-5f);
  ExpectNear(Floats((*out)[0]), {-1.5f * inv, -0.5f * inv, 2 * 0.5f * inv, 1.5f * inv + 1});
  ExpectNear(Floats((*out)[1]), {2.5f});
  ExpectNear(Floats((*out)[2]), {inv});
}

TEST(Norm, InstanceNormMatchesNaive) {
  auto x = Rand(2 * 3 * 5, 4);
  auto out = RunRef("InstanceNormalization",
                    {F32({2, 3, 5}, x), F32({3}, {1, 2, 3}), F32({3}, {0, 1, -1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<float> want(x.size());
  const float sc[3] = {1, 2, 3}, b[3] = {0, 1, -1};
  for (int p = 0; p < 6; ++p) {
    double m = 0, v = 0;
    for (int i = 0; i < 5; ++i) m += x[p * 5 + i] / 5.0;
    for (int i = 0; i < 5; ++i) v += (x[p * 5 + i] - m) * (x[p * 5 + i] - m) / 5.0;
    for (int i = 0; i < 5; ++i)
      want[p * 5 + i] =
          static_cast<float>((x[p * 5 + i] - m) / std::sqrt(v + 1e-5) * sc[p % 3] + b[p % 3]);
  }
  ExpectNear(Floats((*out)[0]), want, 1e-4f);
}

TEST(Softmax, Opset13AxisAndLegacyCoercion) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  auto s13 = RunRef("Softmax", {F32({2, 2, 2}, x)}, {{"axis", AInt(1)}}, 1, 13);
  ASSERT_TRUE(s13.ok());
  // Along axis 1: pairs (1,3), (2,4), ... differ by 2.
  const float a = 1 / (1 + std::exp(2.0f)), b = 1 - a;
  ExpectNear(Floats((*s13)[0]), {a, a, b, b, a, a, b, b});
  auto s11 = RunRef("Softmax", {F32({2, 2, 2}, x)}, {{"axis", AInt(1)}}, 1, 11);
  ASSERT_TRUE(s11.ok());
  // Coerced to 2x4: softmax over each row of 4.
  double z = 0;
  for (int i = 0; i < 4; ++i) z += std::exp(i);
  std::vector<float> want;
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 4; ++i) want.push_back(static_cast<float>(std::exp(i) / z));
  ExpectNear(Floats((*s11)[0]), want);
  auto ls = RunRef("LogSoftmax", {F32({1, 3}, {1, 2, 3})});
  ASSERT_TRUE(ls.ok());
  double z3 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  ExpectNear(Floats((*ls)[0]),
             {static_cast<float>(1 - std::log(z3)), static_cast<float>(2 - std::log(z3)),
              static_cast<float>(3 - std::log(z3))});
  auto big = RunRef("Softmax", {F32({1, 2}, {1000, 1000})});  // stable
  ASSERT_TRUE(big.ok());
  ExpectNear(Floats((*big)[0]), {0.5f, 0.5f});
  auto g = Build("Softmax", {Act({2, 12, 197, 197})});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "2x12x197x197");
  EXPECT_DOUBLE_EQ(Cost(g).flops, 5.0 * 2 * 12 * 197 * 197);
  auto bad = Build("Softmax", {Act({2, 3})}, {{"axis", AInt(2)}});
  EXPECT_FALSE(Infer(bad).ok());
}

}  // namespace
}  // namespace ridge::ops
