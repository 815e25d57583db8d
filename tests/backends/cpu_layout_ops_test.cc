// Native Slice / Split / nearest Resize / blocked Concat kernels (builders_layout.cc) against
// the ops' reference kernels, on odd shapes, with blocked layouts on and off. A 1x1 conv makes
// the operand blocked (nChw16c/8c) so the blocked-view paths run, and is itself a graph
// output, so the reference kernel sees exactly the executor's operand.
#include <gtest/gtest.h>

#include <random>

#include "backends/cpu/executor.h"
#include "ops/op.h"

namespace ridge::cpu {
namespace {

using Dims = std::vector<int64_t>;

struct G {
  ir::Graph g;
  std::mt19937 rng{7};

  ir::ValueId Act(const std::string& name, Dims dims) {
    ir::ValueId v = g.AddValue(name);
    g.value(v).dtype = DType::kFloat32;
    g.value(v).shape = Shape::FromInts(dims);
    return v;
  }
  ir::ValueId Const(const std::string& name, const Tensor& t) {
    ir::ValueId v = g.AddValue(name);
    g.value(v).dtype = t.dtype();
    g.value(v).shape = Shape::FromInts(t.dims());
    g.value(v).constant = t;
    g.value(v).is_initializer = true;
    return v;
  }
  ir::ValueId Ints(const std::string& name, Dims v) {
    Tensor t(DType::kInt64, {static_cast<int64_t>(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.span<int64_t>()[i] = v[i];
    return Const(name, t);
  }
  Tensor Random(Dims dims) {
    Tensor t(DType::kFloat32, dims);
    std::uniform_real_distribution<float> d(-1, 1);
    for (float& x : t.span<float>()) x = d(rng);
    return t;
  }
  ir::NodeId Node(const std::string& type, std::vector<ir::ValueId> ins,
                  std::vector<ir::ValueId> outs, std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = "n" + std::to_string(g.num_nodes()) + "_" + type;
    n.op_type = type;
    n.inputs = std::move(ins);
    n.outputs = std::move(outs);
    n.attributes = std::move(attrs);
    g.AddNode(std::move(n));
    return static_cast<ir::NodeId>(g.num_nodes() - 1);
  }
  void Output(ir::ValueId v) {
    g.value(v).is_graph_output = true;
    g.AddOutput(v);
  }
  // x [1,cin,h,w] -> 1x1 conv -> [1,cout,h,w], also a graph output.
  ir::ValueId ConvInput(const std::string& name, int64_t cin, int64_t cout, int64_t h, int64_t w) {
    ir::ValueId x = Act(name, {1, cin, h, w});
    g.value(x).is_graph_input = true;
    g.AddInput(x);
    ir::ValueId wt = Const(name + "_w", Random({cout, cin, 1, 1}));
    ir::ValueId y = Act(name + "_conv", {1, cout, h, w});
    Node("Conv", {x, wt}, {y});
    Output(y);
    return y;
  }
};

ir::Attribute Str(const std::string& s) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kString;
  a.s = s;
  return a;
}
ir::Attribute Int(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}

// Runs g (inputs random) with and without blocked layouts; checks that every output after the
// conv operands equals the reference kernel of node `op` applied to the executor's operands, and
// that `op` ran natively (no reference kernel in the program).
void CheckAgainstReference(G& b, ir::NodeId op, size_t num_conv_outputs) {
  std::map<std::string, Tensor> inputs;
  for (ir::ValueId v : b.g.inputs()) {
    inputs[b.g.value(v).name] = b.Random(*b.g.value(v).shape->ToInts());
  }
  for (bool blocked : {true, false}) {
    SCOPED_TRACE(blocked ? "blocked layouts" : "plain layouts");
    auto exec = Executor::Create(b.g, {.num_threads = 1, .blocked_layouts = blocked});
    ASSERT_TRUE(exec.ok()) << exec.status().ToString();
    EXPECT_EQ((*exec)->KernelCounts().count("reference"), 0u);
    auto out = (*exec)->Run(inputs);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const ir::Node& node = b.g.node(op);
    const ops::OpDef* def = ops::FindOp("", node.op_type);
    ASSERT_NE(def, nullptr);
    std::vector<const Tensor*> ref_in;
    size_t next_conv = 0;
    for (ir::ValueId in : node.inputs) {
      if (in == ir::kNoValue) {
        ref_in.push_back(nullptr);
      } else if (b.g.value(in).constant) {
        ref_in.push_back(&*b.g.value(in).constant);
      } else {
        ref_in.push_back(&(*out)[next_conv++]);
      }
    }
    ASSERT_EQ(next_conv, num_conv_outputs);
    ops::KernelContext ctx(node, ref_in, node.outputs.size());
    ASSERT_TRUE(def->reference(ctx).ok());
    ASSERT_EQ(out->size(), num_conv_outputs + node.outputs.size());
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const Tensor& want = ctx.output(i);
      const Tensor& got = (*out)[num_conv_outputs + i];
      ASSERT_EQ(got.dims(), want.dims()) << "output " << i;
      for (int64_t e = 0; e < want.num_elements(); ++e) {
        ASSERT_EQ(got.span<float>()[e], want.span<float>()[e]) << "output " << i << " at " << e;
      }
    }
  }
}

struct SliceCase {
  int64_t cout, h, w;
  Dims starts, ends, axes, out;
};

class NativeSlice : public ::testing::TestWithParam<SliceCase> {};

TEST_P(NativeSlice, MatchesReference) {
  const SliceCase& p = GetParam();
  G b;
  ir::ValueId t = b.ConvInput("x", 5, p.cout, p.h, p.w);
  ir::ValueId y = b.Act("y", p.out);
  ir::NodeId n =
      b.Node("Slice", {t, b.Ints("s", p.starts), b.Ints("e", p.ends), b.Ints("a", p.axes)}, {y});
  b.Output(y);
  CheckAgainstReference(b, n, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NativeSlice,
    ::testing::Values(
        // Block-aligned channel halves (YOLO's C2f split): stays blocked.
        SliceCase{32, 5, 7, {0}, {16}, {1}, {1, 16, 5, 7}},
        SliceCase{32, 5, 7, {16}, {32}, {1}, {1, 16, 5, 7}},
        // Unaligned channel window and a spatial window; negative start, huge end.
        SliceCase{24, 6, 9, {3, 1}, {17, 5}, {1, 2}, {1, 14, 4, 9}},
        SliceCase{20, 3, 11, {-7, 2}, {INT64_MAX, -1}, {1, -1}, {1, 7, 3, 8}}));

TEST(NativeSplit, AlignedAndUnalignedParts) {
  for (Dims parts : {Dims{16, 16}, Dims{5, 19, 8}}) {
    G b;
    int64_t c = 0;
    for (int64_t p : parts) c += p;
    ir::ValueId t = b.ConvInput("x", 3, c, 4, 5);
    std::vector<ir::ValueId> outs;
    for (size_t i = 0; i < parts.size(); ++i) {
      outs.push_back(b.Act("y" + std::to_string(i), {1, parts[i], 4, 5}));
    }
    ir::NodeId n = b.Node("Split", {t, b.Ints("split", parts)}, outs, {{"axis", Int(1)}});
    for (ir::ValueId o : outs) b.Output(o);
    CheckAgainstReference(b, n, 1);
  }
}

TEST(NativeResize, NearestIntegerFactors) {
  struct Case {
    std::string coord, rounding;
    int64_t c, h, w, fh, fw;
    bool with_scales;
  };
  for (const Case& k : {Case{"asymmetric", "floor", 32, 5, 3, 2, 2, true},
                        Case{"asymmetric", "floor", 12, 3, 7, 3, 1, false},
                        Case{"half_pixel", "round_prefer_floor", 17, 4, 5, 2, 3, true}}) {
    SCOPED_TRACE(k.coord + " " + std::to_string(k.c));
    G b;
    ir::ValueId t = b.ConvInput("x", 4, k.c, k.h, k.w);
    Dims out = {1, k.c, k.h * k.fh, k.w * k.fw};
    ir::ValueId y = b.Act("y", out);
    ir::ValueId roi = ir::kNoValue;
    ir::ValueId scales = ir::kNoValue, sizes = ir::kNoValue;
    if (k.with_scales) {
      Tensor s(DType::kFloat32, {4});
      s.span<float>()[0] = 1;
      s.span<float>()[1] = 1;
      s.span<float>()[2] = static_cast<float>(k.fh);
      s.span<float>()[3] = static_cast<float>(k.fw);
      scales = b.Const("scales", s);
    } else {
      sizes = b.Ints("sizes", out);
    }
    std::vector<ir::ValueId> ins = {t, roi, scales};
    if (sizes != ir::kNoValue) ins.push_back(sizes);
    ir::NodeId n = b.Node("Resize", ins, {y},
                          {{"mode", Str("nearest")},
                           {"coordinate_transformation_mode", Str(k.coord)},
                           {"nearest_mode", Str(k.rounding)}});
    b.Output(y);
    CheckAgainstReference(b, n, 1);
  }
}

TEST(NativeConcat, BlockedAndUnalignedChannels) {
  for (Dims cs : {Dims{32, 16}, Dims{24, 8}, Dims{16, 5}}) {
    G b;
    ir::ValueId t0 = b.ConvInput("a", 3, cs[0], 3, 4);
    ir::ValueId t1 = b.ConvInput("b", 2, cs[1], 3, 4);
    ir::ValueId y = b.Act("y", {1, cs[0] + cs[1], 3, 4});
    ir::NodeId n = b.Node("Concat", {t0, t1}, {y}, {{"axis", Int(1)}});
    b.Output(y);
    CheckAgainstReference(b, n, 2);
  }
}

TEST(NativeSoftmax, NonInnermostAxes) {
  for (const char* type : {"Softmax", "LogSoftmax"}) {
    for (int64_t axis : {1, 2, -2}) {
      SCOPED_TRACE(std::string(type) + " axis " + std::to_string(axis));
      G b;
      b.g.opset_version = 13;
      ir::ValueId t = b.ConvInput("x", 3, 17, 5, 601);  // inner 3005: several 512-wide tiles
      ir::ValueId y = b.Act("y", {1, 17, 5, 601});
      ir::NodeId n = b.Node(type, {t}, {y}, {{"axis", Int(axis)}});
      b.Output(y);
      std::map<std::string, Tensor> in = {{"x", b.Random({1, 3, 5, 601})}};
      auto exec = Executor::Create(b.g, {.num_threads = 2});
      ASSERT_TRUE(exec.ok()) << exec.status().ToString();
      EXPECT_EQ((*exec)->KernelCounts().count("native"), 1u);
      auto out = (*exec)->Run(in);
      ASSERT_TRUE(out.ok());
      ops::KernelContext ctx(b.g.node(n), {&(*out)[0]}, 1);
      ASSERT_TRUE(ops::FindOp("", type)->reference(ctx).ok());
      for (int64_t i = 0; i < ctx.output(0).num_elements(); ++i) {
        ASSERT_NEAR((*out)[1].span<float>()[i], ctx.output(0).span<float>()[i], 2e-6f) << i;
      }
    }
  }
}

// MatMul -> Add(bias) -> GELU (PyTorch's erf subgraph) and MatMul -> Add(bias) -> Mul(scale), on
// odd sizes: the fused single kernel must match the unfused graph (which runs Erf on its
// reference kernel and the rest as separate primitives).
TEST(MatMulEpilogue, BiasGeluAndBiasScaleMatchUnfused) {
  for (bool gelu : {true, false}) {
    SCOPED_TRACE(gelu ? "bias+gelu" : "bias+scale");
    G b;
    const int64_t m = 7, k = 13, n = 19;
    ir::ValueId x = b.Act("x", {1, 3, m, k});
    b.g.value(x).is_graph_input = true;
    b.g.AddInput(x);
    ir::ValueId w = b.Const("w", b.Random({k, n}));
    ir::ValueId mm = b.Act("mm", {1, 3, m, n});
    b.Node("MatMul", {x, w}, {mm});
    ir::ValueId biased = b.Act("biased", {1, 3, m, n});
    b.Node("Add", {mm, b.Const("bias", b.Random({n}))}, {biased});
    ir::ValueId y = b.Act("y", {1, 3, m, n});
    auto scalar = [&](const std::string& name, float v) {
      Tensor t(DType::kFloat32, {});
      t.span<float>()[0] = v;
      return b.Const(name, t);
    };
    if (gelu) {
      ir::ValueId d = b.Act("d", {1, 3, m, n}), e = b.Act("e", {1, 3, m, n});
      ir::ValueId a = b.Act("a", {1, 3, m, n}), p = b.Act("p", {1, 3, m, n});
      b.Node("Div", {biased, scalar("sqrt2", 1.41421356f)}, {d});
      b.Node("Erf", {d}, {e});
      b.Node("Add", {e, scalar("one", 1.f)}, {a});
      b.Node("Mul", {biased, a}, {p});
      b.Node("Mul", {p, scalar("half", 0.5f)}, {y});
    } else {
      b.Node("Mul", {b.Const("gamma", b.Random({1, 1, n})), biased}, {y});
    }
    b.Output(y);
    std::map<std::string, Tensor> in = {{"x", b.Random({1, 3, m, k})}};
    auto fused = Executor::Create(b.g, {.num_threads = 1});
    auto plain = Executor::Create(b.g, {.num_threads = 1, .fuse = false});
    ASSERT_TRUE(fused.ok() && plain.ok());
    EXPECT_EQ((*fused)->num_kernels(), 1u);
    EXPECT_GT((*plain)->num_kernels(), 2u);
    auto got = (*fused)->Run(in);
    auto want = (*plain)->Run(in);
    ASSERT_TRUE(got.ok() && want.ok());
    for (int64_t i = 0; i < (*want)[0].num_elements(); ++i) {
      ASSERT_NEAR((*got)[0].span<float>()[i], (*want)[0].span<float>()[i], 1e-5f) << i;
    }
  }
}

}  // namespace
}  // namespace ridge::cpu
