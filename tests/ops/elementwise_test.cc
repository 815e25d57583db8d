// Elementwise binary/unary ops: inference (broadcasting, dynamic dims, errors), cost, reference.
#include <algorithm>
#include <cmath>
#include <random>

#include "ops/util_tensor.h"
#include "opsb_test_util.h"

namespace ridge::ops::opsb_test {
namespace {

TEST(UtilTensor, BroadcastDims) {
  Shape a({Dim::Symbolic("N"), 3, 1});
  Shape b({4});
  auto r = BroadcastShapes(a, b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ToString(), "Nx3x4");
  EXPECT_EQ(BroadcastShapes(Shape({Dim()}), Shape({5}))->ToString(), "5");
  EXPECT_FALSE(BroadcastShapes(Shape({2, 3}), Shape({4})).ok());
  EXPECT_EQ(*NormalizeAxis(-1, 4), 3);
  EXPECT_FALSE(NormalizeAxis(4, 4).ok());
  EXPECT_FALSE(NormalizeAxes(std::vector<int64_t>{1, -3}, 4).ok());  // duplicate
}

TEST(Binary, InferBroadcastWithSymbolicBatch) {
  auto g = Build("Add", {Act(Shape({Dim::Symbolic("N"), 3, 4, 4})), Act(Shape({3, 1, 1}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().shape->ToString(), "Nx3x4x4");
  EXPECT_EQ(g.out().dtype, DType::kFloat32);
}

TEST(Binary, InferErrors) {
  auto g = Build("Mul", {Act(Shape({2, 3})), Act(Shape({4}))});
  Status s = Infer(g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("cannot be broadcast"), std::string::npos) << s.message();
  auto g2 = Build("Add", {Act(Shape({2}), DType::kFloat32), Act(Shape({2}), DType::kInt64)});
  s = Infer(g2);
  EXPECT_NE(s.message().find("share one dtype"), std::string::npos) << s.message();
  auto g3 = Build("And", {Act(Shape({2}), DType::kFloat32), Act(Shape({2}), DType::kFloat32)});
  EXPECT_NE(Infer(g3).message().find("must be bool"), std::string::npos);
  auto g4 = Build("Mod", {Act(Shape({2})), Act(Shape({2}))});
  EXPECT_NE(Infer(g4).message().find("fmod"), std::string::npos);
}

TEST(Binary, ComparisonGivesBool) {
  auto g = Build("Less", {Act(Shape({2, 3})), Act(Shape({1}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().dtype, DType::kBool);
}

TEST(Binary, CostResidualAddVsBias) {
  auto g = Build("Add", {Act(Shape({1, 64, 8, 8})), Act(Shape({1, 64, 8, 8}))});
  ASSERT_TRUE(Infer(g).ok());
  NodeCost c = Cost(g, Precision::kFp16);
  EXPECT_EQ(c.kind, OpKind::kShortcutAdd);
  EXPECT_DOUBLE_EQ(c.flops, 4096);
  EXPECT_DOUBLE_EQ(c.bytes_read, 2 * 4096 * 2);
  EXPECT_DOUBLE_EQ(c.bytes_written, 4096 * 2);
  auto b =
      Build("Add", {Act(Shape({1, 64, 8, 8})), Const(F32({64, 1, 1}, std::vector<float>(64)))});
  ASSERT_TRUE(Infer(b).ok());
  c = Cost(b);
  EXPECT_EQ(c.kind, OpKind::kElementwise);
  EXPECT_DOUBLE_EQ(c.weight_bytes, 64 * 4);
  EXPECT_DOUBLE_EQ(c.bytes_read, 4096 * 4);
  auto s = Build("Sum", {Act(Shape({10})), Act(Shape({10})), Act(Shape({10}))});
  ASSERT_TRUE(Infer(s).ok());
  EXPECT_DOUBLE_EQ(Cost(s).flops, 20);
}

TEST(Binary, ReferenceBroadcastAgainstNaive) {
  std::vector<float> av(2 * 3 * 4), bv(3 * 1);
  for (size_t i = 0; i < av.size(); ++i) av[i] = static_cast<float>(i) * 0.5f - 3;
  for (size_t i = 0; i < bv.size(); ++i) bv[i] = static_cast<float>(i) + 1;
  auto r = RunRef("Sub", {F32({2, 3, 4}, av), F32({3, 1}, bv)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)[0].dims(), (std::vector<int64_t>{2, 3, 4}));
  auto out = Values<float>((*r)[0]);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 4; ++w)
        EXPECT_FLOAT_EQ(out[n * 12 + c * 4 + w], av[n * 12 + c * 4 + w] - bv[c]);
}

TEST(Binary, IntegerDivTruncatesAndModSigns) {
  auto d = RunRef("Div", {I64({4}, {7, -7, 7, -7}), I64({4}, {2, 2, -2, -2})});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Values<int64_t>((*d)[0]), (std::vector<int64_t>{3, -3, -3, 3}));
  auto m = RunRef("Mod", {I64({4}, {7, -7, 7, -7}), I64({4}, {3, 3, -3, -3})});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Values<int64_t>((*m)[0]), (std::vector<int64_t>{1, 2, -2, -1}));
  auto f = RunRef("Mod", {I64({4}, {7, -7, 7, -7}), I64({4}, {3, 3, -3, -3})}, {{"fmod", AInt(1)}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Values<int64_t>((*f)[0]), (std::vector<int64_t>{1, -1, 1, -1}));
  auto ff = RunRef("Mod", {F32({2}, {-7.5f, 7.5f}), F32({2}, {2, -2})}, {{"fmod", AInt(1)}});
  ASSERT_TRUE(ff.ok());
  EXPECT_EQ(Values<float>((*ff)[0]), (std::vector<float>{-1.5f, 1.5f}));
  auto z = RunRef("Div", {I32({1}, {1}), I32({1}, {0})});
  EXPECT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("division by zero"), std::string::npos);
  auto ov = RunRef("Div", {I64({1}, {INT64_MIN}), I64({1}, {-1})});  // wraps, no UB
  ASSERT_TRUE(ov.ok());
  EXPECT_EQ(Values<int64_t>((*ov)[0])[0], INT64_MIN);
}

TEST(Binary, ComparisonsLogicWhere) {
  auto r = RunRef("GreaterOrEqual", {F32({3}, {1, 2, 3}), F32({1}, {2})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values<uint8_t>((*r)[0]), (std::vector<uint8_t>{0, 1, 1}));
  auto e = RunRef("Equal", {I64({3}, {1, 2, 3}), I64({3}, {1, 0, 3})});
  EXPECT_EQ(Values<uint8_t>((*e)[0]), (std::vector<uint8_t>{1, 0, 1}));
  auto x = RunRef("Xor", {Bool({4}, {0, 0, 1, 1}), Bool({4}, {0, 1, 0, 1})});
  EXPECT_EQ(Values<uint8_t>((*x)[0]), (std::vector<uint8_t>{0, 1, 1, 0}));
  auto w = RunRef("Where", {Bool({2, 1}, {1, 0}), F32({1, 3}, {1, 2, 3}), F32({1}, {-1})});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Values<float>((*w)[0]), (std::vector<float>{1, 2, 3, -1, -1, -1}));
}

TEST(Binary, VariadicAndPowAndPRelu) {
  auto m = RunRef("Max", {F32({2}, {1, 5}), F32({1}, {3}), F32({2}, {0, 9})});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Values<float>((*m)[0]), (std::vector<float>{3, 9}));
  auto mean = RunRef("Mean", {F32({2}, {1, 5}), F32({2}, {2, 7})});
  EXPECT_EQ(Values<float>((*mean)[0]), (std::vector<float>{1.5f, 6}));
  auto p = RunRef("Pow", {F32({3}, {2, 4, 9}), I64({1}, {2})});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Values<float>((*p)[0]), (std::vector<float>{4, 16, 81}));
  auto pr = RunRef("PRelu", {F32({2, 2}, {-1, 2, -3, 4}), F32({2, 1}, {0.5f, 0.25f})});
  ASSERT_TRUE(pr.ok());
  EXPECT_EQ(Values<float>((*pr)[0]), (std::vector<float>{-0.5f, 2, -0.75f, 4}));
}

TEST(Binary, HalfComputedInFloat) {
  Tensor a(DType::kFloat16, {2});
  a.data<uint16_t>()[0] = FloatToHalf(1.5f);
  a.data<uint16_t>()[1] = FloatToHalf(-2.0f);
  auto r = RunRef("Mul", {a, a});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].dtype(), DType::kFloat16);
  EXPECT_FLOAT_EQ((*r)[0].GetAsDouble(0), 2.25);
  EXPECT_FLOAT_EQ((*r)[0].GetAsDouble(1), 4.0);
}

TEST(Unary, InferAndCost) {
  auto g = Build("Sigmoid", {Act(Shape({Dim::Symbolic("N"), 8}))});
  ASSERT_TRUE(Infer(g, {.batch = 4}).ok());
  EXPECT_EQ(g.out().shape->ToString(), "4x8");
  NodeCost c = Cost(g);
  EXPECT_DOUBLE_EQ(c.flops, 4 * 32);
  EXPECT_DOUBLE_EQ(c.bytes_read, 32 * 4);
  auto id = Build("Identity", {Act(Shape({4, 8}))});
  ASSERT_TRUE(Infer(id).ok());
  c = Cost(id);
  EXPECT_EQ(c.kind, OpKind::kDataMovement);
  EXPECT_DOUBLE_EQ(c.total_bytes(), 0);
  auto cast = Build("Cast", {Act(Shape({4, 8}))}, {{"to", AInt(10)}});
  ASSERT_TRUE(Infer(cast).ok());
  EXPECT_EQ(cast.out().dtype, DType::kFloat16);
  c = Cost(cast, Precision::kFp32);
  EXPECT_DOUBLE_EQ(c.bytes_read + c.bytes_written, 32 * 4 * 2);
  auto bad = Build("Cast", {Act(Shape({4}))}, {{"to", AInt(99)}});
  EXPECT_NE(Infer(bad).message().find("'to'"), std::string::npos);
  auto gelu = Build("Gelu", {Act(Shape({4}))}, {{"approximate", AStr("fast")}});
  EXPECT_NE(Infer(gelu).message().find("approximate"), std::string::npos);
  auto sig_int = Build("Sigmoid", {Act(Shape({4}), DType::kInt64)});
  EXPECT_FALSE(Infer(sig_int).ok());
}

TEST(Unary, ReferenceAgainstFormulas) {
  std::vector<float> xs = {-3.0f, -0.5f, 0.0f, 0.7f, 2.5f};
  auto check = [&](const std::string& op, auto ref, std::map<std::string, ir::Attribute> a = {}) {
    auto r = RunRef(op, {F32({5}, xs)}, a);
    ASSERT_TRUE(r.ok()) << op << ": " << r.status().ToString();
    for (size_t i = 0; i < xs.size(); ++i) {
      EXPECT_NEAR((*r)[0].data<float>()[i], ref(static_cast<double>(xs[i])), 1e-5)
          << op << " " << xs[i];
    }
  };
  check("Relu", [](double x) { return x > 0 ? x : 0; });
  check("LeakyRelu", [](double x) { return x > 0 ? x : 0.1 * x; }, {{"alpha", AFloat(0.1f)}});
  check("Sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); });
  check("HardSigmoid", [](double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); });
  check("HardSwish", [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); });
  check("Elu", [](double x) { return x < 0 ? std::exp(x) - 1 : x; });
  check("Selu", [](double x) {
    return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1));
  });
  check("Softplus", [](double x) { return std::log(std::exp(x) + 1); });
  check("Gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); });
  check("Gelu",
        [](double x) {
          return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
        },
        {{"approximate", AStr("tanh")}});
  check("Abs", [](double x) { return std::fabs(x); });
  check("Sign", [](double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); });
  check("Clip", [](double x) { return std::clamp(x, -1.0, 1.0); },
        {{"min", AFloat(-1)}, {"max", AFloat(1)}});
}

TEST(Unary, RoundHalfToEvenClipInputsCast) {
  auto r = RunRef("Round", {F32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.6f})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values<float>((*r)[0]), (std::vector<float>{0, 2, 2, -0, -2, 3}));
  auto c = RunRef("Clip", {I64({4}, {-5, 0, 5, 10}), I64({}, {0}), I64({}, {6})});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Values<int64_t>((*c)[0]), (std::vector<int64_t>{0, 0, 5, 6}));
  auto c2 = RunRef("Clip", {F32({3}, {-5, 0, 5}), Tensor(), F32({}, {1})});
  ASSERT_TRUE(c2.ok()) << c2.status().ToString();
  EXPECT_EQ(Values<float>((*c2)[0]), (std::vector<float>{-5, 0, 1}));
  auto t = RunRef("Cast", {F32({4}, {-2.7f, 2.7f, 0.0f, 1e20f})}, {{"to", AInt(7)}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Values<int64_t>((*t)[0]), (std::vector<int64_t>{-2, 2, 0, INT64_MAX}));
  auto b = RunRef("Cast", {F32({3}, {-0.5f, 0.0f, 3.0f})}, {{"to", AInt(9)}});
  EXPECT_EQ(Values<uint8_t>((*b)[0]), (std::vector<uint8_t>{1, 0, 1}));
  auto h = RunRef("Cast", {I64({2}, {3, -7})}, {{"to", AInt(10)}});
  ASSERT_TRUE(h.ok());
  EXPECT_FLOAT_EQ((*h)[0].GetAsDouble(1), -7.0);
  auto d = RunRef("Dropout", {F32({2}, {1, 2})}, {}, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Values<float>((*d)[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(Values<uint8_t>((*d)[1]), (std::vector<uint8_t>{1, 1}));
  auto n = RunRef("Neg", {I32({2}, {INT32_MIN, 3})});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(Values<int32_t>((*n)[0]), (std::vector<int32_t>{INT32_MIN, -3}));
}

// Random shapes with broadcast axes against an independent naive index formula.
TEST(Binary, RandomBroadcastMatchesNaive) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 50; ++iter) {
    size_t rank = 1 + rng() % 4;
    std::vector<int64_t> out(rank), a(rank), b;
    for (size_t i = 0; i < rank; ++i) {
      out[i] = 1 + rng() % 4;
      a[i] = rng() % 3 == 0 ? 1 : out[i];
    }
    size_t brank = rng() % (rank + 1);  // b may have fewer dims (right-aligned)
    for (size_t i = rank - brank; i < rank; ++i) b.push_back(rng() % 3 == 0 ? 1 : out[i]);
    auto fill = [&](const std::vector<int64_t>& d) {
      int64_t n = 1;
      for (int64_t x : d) n *= x;
      std::vector<float> v(static_cast<size_t>(n));
      for (float& f : v) f = static_cast<float>(static_cast<int>(rng() % 200) - 100) / 8;
      return F32(d, v);
    };
    Tensor ta = fill(a), tb = fill(b);
    auto r = RunRef("Mul", {ta, tb});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Tensor& o = (*r)[0];
    std::vector<int64_t> expect_dims(rank);
    for (size_t i = 0; i < rank; ++i) {
      size_t j = i + brank - rank;
      expect_dims[i] = std::max(a[i], i + brank >= rank ? b[j] : int64_t{1});
    }
    ASSERT_EQ(o.dims(), expect_dims);
    std::vector<int64_t> idx(rank, 0);
    for (int64_t flat = 0; flat < o.num_elements(); ++flat) {
      int64_t rem = flat;
      for (size_t i = rank; i-- > 0;) {
        idx[i] = rem % expect_dims[i];
        rem /= expect_dims[i];
      }
      int64_t ia = 0, ib = 0;
      for (size_t i = 0; i < rank; ++i) ia = ia * a[i] + (a[i] == 1 ? 0 : idx[i]);
      for (size_t j = 0; j < brank; ++j) {
        size_t i = j + rank - brank;
        ib = ib * b[j] + (b[j] == 1 ? 0 : idx[i]);
      }
      ASSERT_EQ(o.data<float>()[flat], ta.data<float>()[ia] * tb.data<float>()[ib]);
    }
  }
}

TEST(Binary, IntegerPowAndWrap) {
  auto p = RunRef("Pow", {I64({3}, {2, -3, 5}), I64({3}, {10, 3, 0})});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Values<int64_t>((*p)[0]), (std::vector<int64_t>{1024, -27, 1}));
  auto w = RunRef("Add", {I32({1}, {INT32_MAX}), I32({1}, {1})});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Values<int32_t>((*w)[0])[0], INT32_MIN);  // wraps, no UB
  auto bad = RunRef("Add", {Bool({1}, {1}), Bool({1}, {1})});
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace ridge::ops::opsb_test
