// Gemm / MatMul: shape inference, cost, reference kernels.
#include <gtest/gtest.h>

#include "ops/nn_test_util.h"

namespace ridge::ops {
namespace {
using namespace nn_test;

TEST(GemmInfer, TransBAndBias) {
  auto g =
      Build("Gemm",
            {Act(Sym({Dim::Symbolic("N"), 2048})), Const(Tensor(DType::kFloat32, {1000, 2048})),
             Const(Tensor(DType::kFloat32, {1000}))},
            {{"transB", AInt(1)}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "Nx1000");
  auto g1 = Build("Gemm",
                  {Act({4, 2048}), Const(Tensor(DType::kFloat32, {1000, 2048})),
                   Const(Tensor(DType::kFloat32, {1000}))},
                  {{"transB", AInt(1)}});
  ASSERT_TRUE(Infer(g1).ok());
  NodeCost c = Cost(g1);
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 4 * 1000 * 2048 + 4 * 1000);
  EXPECT_EQ(c.gemm_m, 4);
  EXPECT_EQ(c.gemm_n, 1000);
  EXPECT_EQ(c.gemm_k, 2048);
  EXPECT_DOUBLE_EQ(c.weight_bytes, (1000 * 2048 + 1000) * 4.0);
}

TEST(GemmInfer, Errors) {
  auto g = Build("Gemm", {Act({4, 10}), Act({11, 3})});
  Status s = Infer(g);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("inner"), std::string::npos) << s.message();
  auto c = Build("Gemm", {Act({4, 10}), Act({10, 3}), Act({5, 3})});
  s = Infer(c);
  EXPECT_NE(s.message().find("C"), std::string::npos) << s.message();
  auto r = Build("Gemm", {Act({4, 10, 1}), Act({10, 3})});
  EXPECT_FALSE(Infer(r).ok());
}

TEST(GemmReference, AlphaBetaTransposes) {
  // A^T where A = [[1,3],[2,4]] (2x2 stored), B = [[1,0,1],[0,1,1]] (2x3), C row [1,2,3].
  auto out = RunRef(
      "Gemm", {F32({2, 2}, {1, 3, 2, 4}), F32({2, 3}, {1, 0, 1, 0, 1, 1}), F32({3}, {1, 2, 3})},
      {{"transA", AInt(1)}, {"alpha", AFloat(2)}, {"beta", AFloat(0.5f)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // A^T = [[1,2],[3,4]]; A^T B = [[1,2,3],[3,4,7]]; *2 + 0.5*C
  ExpectNear(Floats((*out)[0]), {2.5f, 5, 7.5f, 6.5f, 9, 15.5f});
  auto tb =
      RunRef("Gemm", {F32({1, 2}, {1, 2}), F32({3, 2}, {1, 0, 0, 1, 1, 1}), F32({1, 1}, {10})},
             {{"transB", AInt(1)}});
  ASSERT_TRUE(tb.ok());
  ExpectNear(Floats((*tb)[0]), {11, 12, 13});
}

TEST(MatMulInfer, BroadcastAnd1D) {
  auto g = Build("MatMul", {Act(Sym({Dim::Symbolic("B"), 1, 8, 16})), Act({12, 16, 4})});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "Bx12x8x4");
  auto v = Build("MatMul", {Act({16}), Act({3, 16, 4})});
  ASSERT_TRUE(Infer(v).ok());
  EXPECT_EQ(v.shape(), "3x4");
  auto w = Build("MatMul", {Act({3, 5, 16}), Act({16})});
  ASSERT_TRUE(Infer(w).ok());
  EXPECT_EQ(w.shape(), "3x5");
  auto dot = Build("MatMul", {Act({16}), Act({16})});
  ASSERT_TRUE(Infer(dot).ok());
  EXPECT_EQ(dot.shape(), "scalar");
  auto bad = Build("MatMul", {Act({2, 8, 16}), Act({3, 16, 4})});
  EXPECT_FALSE(Infer(bad).ok());
  auto badk = Build("MatMul", {Act({8, 16}), Act({15, 4})});
  EXPECT_FALSE(Infer(badk).ok());
  auto cost = Build("MatMul", {Act({2, 12, 197, 64}), Act({2, 12, 64, 197})});
  ASSERT_TRUE(Infer(cost).ok());
  NodeCost c = Cost(cost);
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 24 * 197 * 197 * 64);
  EXPECT_EQ(c.gemm_m, 24 * 197);
  EXPECT_EQ(c.gemm_n, 197);
  EXPECT_EQ(c.gemm_k, 64);
}

TEST(MatMulReference, BatchedBroadcastMatchesNaive) {
  auto a = Rand(2 * 1 * 3 * 4, 1), b = Rand(5 * 4 * 2, 2);
  auto out = RunRef("MatMul", {F32({2, 1, 3, 4}, a), F32({5, 4, 2}, b)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].dims(), (std::vector<int64_t>{2, 5, 3, 2}));
  auto y = Floats((*out)[0]);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j)
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 2; ++c) {
          double s = 0;
          for (int k = 0; k < 4; ++k) s += a[(i * 3 + r) * 4 + k] * b[(j * 4 + k) * 2 + c];
          EXPECT_NEAR(y[((i * 5 + j) * 3 + r) * 2 + c], s, 1e-5);
        }
  auto v = RunRef("MatMul", {F32({2}, {1, 2}), F32({2, 2}, {1, 2, 3, 4})});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0].dims(), (std::vector<int64_t>{2}));
  ExpectNear(Floats((*v)[0]), {7, 10});
}

}  // namespace
}  // namespace ridge::ops

namespace ridge::ops {
namespace {
using namespace nn_test;

TEST(Float16, KernelsConvertAndKeepDtype) {
  Tensor a(DType::kFloat16, {1, 2}), b(DType::kFloat16, {2, 1});
  a.data<uint16_t>()[0] = FloatToHalf(1.5f);
  a.data<uint16_t>()[1] = FloatToHalf(-2.0f);
  b.data<uint16_t>()[0] = FloatToHalf(2.0f);
  b.data<uint16_t>()[1] = FloatToHalf(0.25f);
  auto out = RunRef("MatMul", {a, b});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].dtype(), DType::kFloat16);
  EXPECT_FLOAT_EQ(HalfToFloat((*out)[0].data<uint16_t>()[0]), 2.5f);
  auto bad = RunRef("MatMul", {I64({1, 1}, {2}), I64({1, 1}, {3})});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace ridge::ops
