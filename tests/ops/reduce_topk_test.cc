// Reduce*, ArgMax/ArgMin, TopK: shape inference, cost, reference kernels.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/nn_test_util.h"

namespace ridge::ops {
namespace {
using namespace nn_test;

const std::vector<float> k123456 = {1, 2, 3, 4, 5, 6};

TEST(Reduce, AxesInputAndAttribute) {
  auto sum = RunRef("ReduceSum", {F32({2, 3}, k123456), I64({1}, {1})}, {{"keepdims", AInt(0)}});
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  EXPECT_EQ((*sum)[0].dims(), (std::vector<int64_t>{2}));
  ExpectNear(Floats((*sum)[0]), {6, 15});
  auto mean = RunRef("ReduceMean", {F32({2, 3}, k123456)}, {{"axes", AInts({0})}});
  ASSERT_TRUE(mean.ok());
  EXPECT_EQ((*mean)[0].dims(), (std::vector<int64_t>{1, 3}));
  ExpectNear(Floats((*mean)[0]), {2.5f, 3.5f, 4.5f});
  auto mx = RunRef("ReduceMax", {F32({2, 3}, k123456)});
  ASSERT_TRUE(mx.ok());
  EXPECT_EQ((*mx)[0].dims(), (std::vector<int64_t>{1, 1}));
  ExpectNear(Floats((*mx)[0]), {6});
  auto mn = RunRef("ReduceMin", {F32({2, 3}, k123456)}, {{"axes", AInts({-1})}});
  ASSERT_TRUE(mn.ok());
  ExpectNear(Floats((*mn)[0]), {1, 4});
  auto l2 = RunRef("ReduceL2", {F32({2, 2}, {3, 4, 6, 8})}, {{"axes", AInts({1})}});
  ASSERT_TRUE(l2.ok());
  ExpectNear(Floats((*l2)[0]), {5, 10});
  auto ss = RunRef("ReduceSumSquare", {F32({2, 2}, {3, 4, 6, 8})}, {{"axes", AInts({0})}});
  ASSERT_TRUE(ss.ok());
  ExpectNear(Floats((*ss)[0]), {45, 80});
  auto noop = RunRef("ReduceSum", {F32({2, 3}, k123456), I64({0}, {})},
                     {{"noop_with_empty_axes", AInt(1)}});
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ((*noop)[0].dims(), (std::vector<int64_t>{2, 3}));
  ExpectNear(Floats((*noop)[0]), k123456);
  // int64 shape arithmetic: product of dims, exact.
  auto prod = RunRef("ReduceProd", {I64({3}, {3, 224, 224})}, {{"keepdims", AInt(0)}});
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ((*prod)[0].dtype(), DType::kInt64);
  EXPECT_EQ(Ints((*prod)[0]), (std::vector<int64_t>{3 * 224 * 224}));
}

TEST(Reduce, InferDynamicAndErrors) {
  auto g = Build("ReduceMean", {Act(Sym({Dim::Symbolic("N"), 64, 7, 7}))},
                 {{"axes", AInts({2, 3})}, {"keepdims", AInt(0)}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "Nx64");
  auto dyn = Build("ReduceSum", {Act({2, 3, 4}), Act({1}, DType::kInt64)});
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.shape(), "?x?x?");
  auto dyn0 =
      Build("ReduceSum", {Act({2, 3, 4}), Act({1}, DType::kInt64)}, {{"keepdims", AInt(0)}});
  ASSERT_TRUE(Infer(dyn0).ok());
  EXPECT_EQ(dyn0.shape(), "unknown-rank");
  auto dup = Build("ReduceMean", {Act({2, 3})}, {{"axes", AInts({1, -1})}});
  Status s = Infer(dup);
  EXPECT_NE(s.message().find("twice"), std::string::npos) << s.message();
  auto range = Build("ReduceMean", {Act({2, 3})}, {{"axes", AInts({2})}});
  s = Infer(range);
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
  auto c = Build("ReduceMean", {Act({1, 64, 7, 7})}, {{"axes", AInts({2, 3})}});
  ASSERT_TRUE(Infer(c).ok());
  EXPECT_DOUBLE_EQ(Cost(c).flops, 64.0 * 49);
  EXPECT_DOUBLE_EQ(Cost(c).bytes_written, 64.0 * 4);
}

TEST(ArgMaxMin, TiesAndSelectLast) {
  auto am = RunRef("ArgMax", {F32({2, 3}, {1, 5, 5, 7, 0, 7})}, {{"axis", AInt(1)}});
  ASSERT_TRUE(am.ok());
  EXPECT_EQ((*am)[0].dims(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(Ints((*am)[0]), (std::vector<int64_t>{1, 0}));
  auto last = RunRef("ArgMax", {F32({2, 3}, {1, 5, 5, 7, 0, 7})},
                     {{"axis", AInt(1)}, {"select_last_index", AInt(1)}, {"keepdims", AInt(0)}});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(Ints((*last)[0]), (std::vector<int64_t>{2, 2}));
  auto mn = RunRef("ArgMin", {I64({2, 2}, {4, 2, 1, 3})});
  ASSERT_TRUE(mn.ok());
  EXPECT_EQ(Ints((*mn)[0]), (std::vector<int64_t>{1, 0}));
  auto g = Build("ArgMax", {Act({8, 1000})}, {{"axis", AInt(-1)}, {"keepdims", AInt(0)}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(), "8");
  EXPECT_EQ(g.out().dtype, DType::kInt64);
}

TEST(TopK, ReferenceAndInfer) {
  auto top = RunRef("TopK", {F32({1, 4}, {3, 1, 3, 2}), I64({1}, {2})}, {}, 2);
  ASSERT_TRUE(top.ok()) << top.status().message();
  ExpectNear(Floats((*top)[0]), {3, 3});
  EXPECT_EQ(Ints((*top)[1]), (std::vector<int64_t>{0, 2}));
  auto small = RunRef("TopK", {F32({4, 1}, {3, 1, 3, 2}), I64({1}, {3})},
                      {{"largest", AInt(0)}, {"axis", AInt(0)}}, 2);
  ASSERT_TRUE(small.ok());
  ExpectNear(Floats((*small)[0]), {1, 2, 3});
  EXPECT_EQ(Ints((*small)[1]), (std::vector<int64_t>{1, 3, 0}));
  auto g = Build("TopK", {Act(Sym({Dim::Symbolic("N"), 1000})), Const(I64({1}, {5}))}, {}, 2);
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.shape(0), "Nx5");
  EXPECT_EQ(g.out(1).dtype, DType::kInt64);
  auto dyn = Build("TopK", {Act({2, 100}), Act({1}, DType::kInt64)}, {}, 2);
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.shape(0), "2x?");
  auto big = Build("TopK", {Act({2, 4}), Const(I64({1}, {5}))}, {}, 2);
  Status s = Infer(big);
  EXPECT_NE(s.message().find("exceeds"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ridge::ops
