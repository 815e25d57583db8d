// CPU executor on small hand-built graphs (shapes set directly, no loader): fused conv chains,
// depthwise conv, pooling, gemm, SiLU, layouts on/off, memory plan, unsupported-node report.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/cpu/executor.h"

namespace ridge::cpu {
namespace {

using Dims = std::vector<int64_t>;

class Builder {
 public:
  ir::ValueId Input(const std::string& name, Dims dims) {
    ir::ValueId v = Act(name, dims);
    g.value(v).is_graph_input = true;
    g.AddInput(v);
    return v;
  }
  ir::ValueId Act(const std::string& name, Dims dims) {
    ir::ValueId v = g.AddValue(name);
    g.value(v).dtype = DType::kFloat32;
    g.value(v).shape = Shape::FromInts(dims);
    return v;
  }
  ir::ValueId Const(const std::string& name, Dims dims, float scale = 0.5f) {
    Tensor t(DType::kFloat32, dims);
    for (float& x : t.span<float>()) x = scale * static_cast<float>(dist(rng));
    return ConstTensor(name, t);
  }
  ir::ValueId ConstTensor(const std::string& name, const Tensor& t) {
    ir::ValueId v = g.AddValue(name);
    g.value(v).dtype = t.dtype();
    g.value(v).shape = Shape::FromInts(t.dims());
    g.value(v).constant = t;
    g.value(v).is_initializer = true;
    return v;
  }
  ir::ValueId Op(const std::string& type, std::vector<ir::ValueId> ins, Dims out_dims,
                 std::map<std::string, ir::Attribute> attrs = {}) {
    ir::ValueId out = Act(type + std::to_string(g.num_nodes()), out_dims);
    ir::Node n;
    n.name = "n" + std::to_string(g.num_nodes()) + "_" + type;
    n.op_type = type;
    n.inputs = std::move(ins);
    n.outputs = {out};
    n.attributes = std::move(attrs);
    g.AddNode(std::move(n));
    return out;
  }
  void Output(ir::ValueId v) {
    g.value(v).is_graph_output = true;
    g.AddOutput(v);
  }
  Tensor RandomInput(Dims dims) {
    Tensor t(DType::kFloat32, dims);
    for (float& x : t.span<float>()) x = static_cast<float>(dist(rng));
    return t;
  }

  ir::Graph g;
  std::mt19937 rng{42};
  std::uniform_real_distribution<double> dist{-1.0, 1.0};
};

ir::Attribute Ints(Dims v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute Int(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}

// Naive NCHW conv with groups, pads and strides (the test's own reference).
Tensor NaiveConv(const Tensor& x, const Tensor& w, const Tensor* b, int64_t stride, int64_t pad,
                 int64_t group) {
  int64_t n = x.dims()[0], c = x.dims()[1], h = x.dims()[2], wd = x.dims()[3];
  int64_t oc = w.dims()[0], icg = w.dims()[1], kh = w.dims()[2], kw = w.dims()[3];
  int64_t oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1;
  int64_t ocg = oc / group;
  (void)c;
  Tensor y(DType::kFloat32, {n, oc, oh, ow});
  for (int64_t in = 0; in < n; ++in)
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = b ? b->data<float>()[o] : 0;
          int64_t gidx = o / ocg;
          for (int64_t ci = 0; ci < icg; ++ci)
            for (int64_t u = 0; u < kh; ++u)
              for (int64_t v = 0; v < kw; ++v) {
                int64_t yy = i * stride - pad + u, xx = j * stride - pad + v;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                int64_t cin = gidx * icg + ci;
                acc += x.data<float>()[((in * x.dims()[1] + cin) * h + yy) * wd + xx] *
                       w.data<float>()[((o * icg + ci) * kh + u) * kw + v];
              }
          y.data<float>()[((in * oc + o) * oh + i) * ow + j] = static_cast<float>(acc);
        }
  return y;
}

void ExpectNear(const Tensor& got, const Tensor& want, double atol = 1e-4, double rtol = 1e-3) {
  ASSERT_EQ(got.dims(), want.dims());
  int bad = 0;
  for (int64_t i = 0; i < got.num_elements(); ++i) {
    double g = got.data<float>()[i], w = want.data<float>()[i];
    if (!(std::abs(g - w) <= atol + rtol * std::abs(w))) {
      if (++bad < 5) ADD_FAILURE() << "element " << i << ": got " << g << " want " << w;
    }
  }
  EXPECT_EQ(bad, 0);
}

class ConvChain : public ::testing::TestWithParam<bool> {};

// y = Relu(Conv(x) + Conv2(x)) with a second conv as the residual: one fused kernel each.
TEST_P(ConvChain, FusedConvAddReluMatchesNaive) {
  Builder b;
  auto x = b.Input("x", {2, 8, 9, 9});
  auto w1 = b.Const("w1", {16, 8, 3, 3});
  auto b1 = b.Const("b1", {16});
  auto w2 = b.Const("w2", {16, 8, 1, 1});
  std::map<std::string, ir::Attribute> attrs = {{"pads", Ints({1, 1, 1, 1})}};
  auto c2 = b.Op("Conv", {x, w2}, {2, 16, 9, 9});
  auto c1 = b.Op("Conv", {x, w1, b1}, {2, 16, 9, 9}, attrs);
  auto sum = b.Op("Add", {c1, c2}, {2, 16, 9, 9});
  auto y = b.Op("Relu", {sum}, {2, 16, 9, 9});
  b.Output(y);
  ExecutorOptions opt;
  opt.num_threads = 2;
  opt.blocked_layouts = GetParam();
  auto exec = Executor::Create(b.g, opt);
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  auto counts = (*exec)->KernelCounts();
  EXPECT_EQ(counts["dnnl"], 2) << "conv2, then conv1+add+relu";
  EXPECT_EQ(counts["reference"], 0);
  Tensor in = b.RandomInput({2, 8, 9, 9});
  auto out = (*exec)->Run({{"x", in}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Tensor r1 = NaiveConv(in, *b.g.value(w1).constant, &*b.g.value(b1).constant, 1, 1, 1);
  Tensor r2 = NaiveConv(in, *b.g.value(w2).constant, nullptr, 1, 0, 1);
  for (int64_t i = 0; i < r1.num_elements(); ++i) {
    r1.data<float>()[i] = std::max(0.f, r1.data<float>()[i] + r2.data<float>()[i]);
  }
  ExpectNear((*out)[0], r1);
  // A second run gives the same answer (buffers reused, no stale state).
  auto again = (*exec)->Run({{"x", in}});
  ASSERT_TRUE(again.ok());
  ExpectNear((*again)[0], (*out)[0], 0, 0);
}

TEST_P(ConvChain, DepthwiseClipThenSiluAndPoolGemm) {
  Builder b;
  const int64_t c = 24;  // not a multiple of 16: blocked layouts pad channels
  auto x = b.Input("x", {1, c, 10, 10});
  auto wd = b.Const("wd", {c, 1, 3, 3});
  auto lo = b.ConstTensor("lo", Tensor(DType::kFloat32, {}));
  Tensor six(DType::kFloat32, {});
  six.data<float>()[0] = 0.3f;
  auto hi = b.ConstTensor("hi", six);
  auto d = b.Op("Conv", {x, wd}, {1, c, 5, 5},
                {{"pads", Ints({1, 1, 1, 1})}, {"strides", Ints({2, 2})}, {"group", Int(c)}});
  auto clip = b.Op("Clip", {d, lo, hi}, {1, c, 5, 5});
  auto w2 = b.Const("w2", {c, c, 1, 1});
  auto e = b.Op("Conv", {clip, w2}, {1, c, 5, 5});
  auto s = b.Op("Sigmoid", {e}, {1, c, 5, 5});
  auto m = b.Op("Mul", {e, s}, {1, c, 5, 5});
  auto p = b.Op(
      "MaxPool", {m}, {1, c, 3, 3},
      {{"kernel_shape", Ints({3, 3})}, {"strides", Ints({2, 2})}, {"pads", Ints({1, 1, 1, 1})}});
  auto gap = b.Op("GlobalAveragePool", {p}, {1, c, 1, 1});
  auto flat = b.Op("Flatten", {gap}, {1, c});
  auto gw = b.Const("gw", {7, c});
  auto gb = b.Const("gb", {7});
  auto y = b.Op("Gemm", {flat, gw, gb}, {1, 7}, {{"transB", Int(1)}});
  b.Output(y);
  ExecutorOptions opt;
  opt.blocked_layouts = GetParam();
  auto exec = Executor::Create(b.g, opt);
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  EXPECT_EQ((*exec)->KernelCounts()["reference"], 0);
  Tensor in = b.RandomInput({1, c, 10, 10});
  auto out = (*exec)->Run({{"x", in}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  Tensor r = NaiveConv(in, *b.g.value(wd).constant, nullptr, 2, 1, c);
  for (float& v : r.span<float>()) v = std::min(0.3f, std::max(0.f, v));
  r = NaiveConv(r, *b.g.value(w2).constant, nullptr, 1, 0, 1);
  for (float& v : r.span<float>()) v = v / (1 + std::exp(-v));
  std::vector<double> pooled(c, 0);
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        float mx = -INFINITY;
        for (int64_t u = 0; u < 3; ++u)
          for (int64_t v = 0; v < 3; ++v) {
            int64_t yy = i * 2 - 1 + u, xx = j * 2 - 1 + v;
            if (yy < 0 || yy >= 5 || xx < 0 || xx >= 5) continue;
            mx = std::max(mx, r.data<float>()[(ch * 5 + yy) * 5 + xx]);
          }
        pooled[ch] += mx / 9.0;
      }
  }
  Tensor want(DType::kFloat32, {1, 7});
  const Tensor& gwt = *b.g.value(gw).constant;
  for (int64_t o = 0; o < 7; ++o) {
    double acc = b.g.value(gb).constant->data<float>()[o];
    for (int64_t ch = 0; ch < c; ++ch) acc += pooled[ch] * gwt.data<float>()[o * c + ch];
    want.data<float>()[o] = static_cast<float>(acc);
  }
  ExpectNear((*out)[0], want);
}

// Three residual blocks y_k = Relu(Conv(Relu(Conv(y_{k-1}))) + y_{k-1}); the block inputs die
// at their add (accumulated in place, the second one through the first's in-place buffer), and
// a last add whose residual is read again afterwards (must not be overwritten).
TEST_P(ConvChain, ResidualAddsInPlaceMatchNaive) {
  Builder b;
  const Dims d = {1, 16, 6, 6};
  auto x = b.Input("x", d);
  std::map<std::string, ir::Attribute> pad = {{"pads", Ints({1, 1, 1, 1})}};
  std::vector<ir::ValueId> ws;
  ir::ValueId y = x;
  for (int k = 0; k < 3; ++k) {
    ws.push_back(b.Const("wa" + std::to_string(k), {16, 16, 3, 3}, 0.2f));
    ws.push_back(b.Const("wb" + std::to_string(k), {16, 16, 3, 3}, 0.2f));
    auto r = b.Op("Relu", {b.Op("Conv", {y, ws[ws.size() - 2]}, d, pad)}, d);
    y = b.Op("Relu", {b.Op("Add", {b.Op("Conv", {r, ws.back()}, d, pad), y}, d)}, d);
  }
  ws.push_back(b.Const("wz", {16, 16, 1, 1}, 0.2f));
  auto z = b.Op("Add", {b.Op("Conv", {y, ws.back()}, d), y}, d);
  auto out_v = b.Op("Mul", {z, y}, d);  // y is read after z's add
  b.Output(out_v);
  ExecutorOptions opt;
  opt.blocked_layouts = GetParam();
  auto exec = Executor::Create(b.g, opt);
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  Tensor in = b.RandomInput(d);
  auto out = (*exec)->Run({{"x", in}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  auto w = [&](size_t i) { return *b.g.value(ws[i]).constant; };
  Tensor ry = in.Clone();
  for (int k = 0; k < 3; ++k) {
    Tensor r = NaiveConv(ry, w(2 * k), nullptr, 1, 1, 1);
    for (float& v : r.span<float>()) v = std::max(0.f, v);
    r = NaiveConv(r, w(2 * k + 1), nullptr, 1, 1, 1);
    for (int64_t i = 0; i < r.num_elements(); ++i) {
      r.data<float>()[i] = std::max(0.f, r.data<float>()[i] + ry.data<float>()[i]);
    }
    ry = r;
  }
  Tensor rz = NaiveConv(ry, w(6), nullptr, 1, 0, 1);
  for (int64_t i = 0; i < rz.num_elements(); ++i) {
    float yv = ry.data<float>()[i];
    rz.data<float>()[i] = (rz.data<float>()[i] + yv) * yv;
  }
  ExpectNear((*out)[0], rz);
  auto again = (*exec)->Run({{"x", in}});
  ASSERT_TRUE(again.ok());
  ExpectNear((*again)[0], (*out)[0], 0, 0);
}

// convnext's pattern: Conv -> Transpose(NHWC) -> LayerNorm(last axis) -> Transpose(NCHW) ->
// Add(conv output); the transposes relabel axes instead of moving data. A transpose is also a
// graph output (its layout must be made plain on the way out). 24 channels: padded when blocked.
TEST_P(ConvChain, TransposeLayerNormTransposeMatchesNaive) {
  for (int64_t c : {24, 32}) {
    Builder b;
    const int64_t h = 5, wd = 7;
    auto x = b.Input("x", {1, 8, h, wd});
    auto w = b.Const("w", {c, 8, 1, 1});
    auto scale = b.Const("scale", {c});
    auto shift = b.Const("shift", {c});
    auto conv = b.Op("Conv", {x, w}, {1, c, h, wd});
    auto t1 = b.Op("Transpose", {conv}, {1, h, wd, c}, {{"perm", Ints({0, 2, 3, 1})}});
    auto ln = b.Op("LayerNormalization", {t1, scale, shift}, {1, h, wd, c}, {{"axis", Int(-1)}});
    auto t2 = b.Op("Transpose", {ln}, {1, c, h, wd}, {{"perm", Ints({0, 3, 1, 2})}});
    auto y = b.Op("Add", {t2, conv}, {1, c, h, wd});
    b.Output(y);
    b.Output(t1);
    ExecutorOptions opt;
    opt.blocked_layouts = GetParam();
    auto exec = Executor::Create(b.g, opt);
    ASSERT_TRUE(exec.ok()) << exec.status().ToString();
    EXPECT_EQ((*exec)->KernelCounts()["reference"], 0);
    Tensor in = b.RandomInput({1, 8, h, wd});
    auto out = (*exec)->Run({{"x", in}});
    ASSERT_TRUE(out.ok()) << out.status().ToString();

    Tensor rc = NaiveConv(in, *b.g.value(w).constant, nullptr, 1, 0, 1);
    const float* sc = b.g.value(scale).constant->data<float>();
    const float* sh = b.g.value(shift).constant->data<float>();
    Tensor ry(DType::kFloat32, {1, c, h, wd}), rt(DType::kFloat32, {1, h, wd, c});
    const float* cv = rc.data<float>();
    for (int64_t p = 0; p < h * wd; ++p) {
      double mean = 0, var = 0;
      for (int64_t ch = 0; ch < c; ++ch) mean += cv[ch * h * wd + p] / c;
      for (int64_t ch = 0; ch < c; ++ch) {
        double dv = cv[ch * h * wd + p] - mean;
        var += dv * dv / c;
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        float v = cv[ch * h * wd + p];
        rt.data<float>()[p * c + ch] = v;
        float n = static_cast<float>((v - mean) / std::sqrt(var + 1e-5) * sc[ch] + sh[ch]);
        ry.data<float>()[ch * h * wd + p] = n + v;
      }
    }
    ExpectNear((*out)[0], ry);
    ExpectNear((*out)[1], rt);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ConvChain, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "blocked" : "plain"; });

TEST(CpuExecutor, MemoryPlanReusesBuffers) {
  Builder b;
  auto v = b.Input("x", {1, 64, 32, 32});
  for (int i = 0; i < 8; ++i) v = b.Op(i % 2 ? "Relu" : "Sigmoid", {v}, {1, 64, 32, 32});
  b.Output(v);
  auto exec = Executor::Create(b.g, {});
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  const auto& m = (*exec)->memory_stats();
  EXPECT_EQ(m.naive_bytes, 8 * 64 * 32 * 32 * 4);
  EXPECT_LE(m.planned_bytes, 2 * 64 * 32 * 32 * 4) << "a chain needs two live buffers at most";
  Tensor in = b.RandomInput({1, 64, 32, 32});
  auto out = (*exec)->Run({{"x", in}});
  ASSERT_TRUE(out.ok());
  float x0 = in.data<float>()[5];
  for (int i = 0; i < 8; ++i) x0 = i % 2 ? std::max(0.f, x0) : 1 / (1 + std::exp(-x0));
  EXPECT_NEAR((*out)[0].data<float>()[5], x0, 1e-5);
}

TEST(CpuExecutor, ReportsEveryUnsupportedNodeAtOnce) {
  Builder b;
  auto x = b.Input("x", {1, 4});
  auto a = b.Op("FrobnicateA", {x}, {1, 4});
  auto r = b.Op("Relu", {a}, {1, 4});
  auto c = b.Op("FrobnicateB", {r}, {1, 4});
  b.Output(c);
  auto exec = Executor::Create(b.g, {});
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(exec.status().message().find("FrobnicateA"), std::string::npos);
  EXPECT_NE(exec.status().message().find("FrobnicateB"), std::string::npos);
  EXPECT_NE(exec.status().message().find("2 node(s)"), std::string::npos);
  Status st = CheckSupported(b.g);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
}

TEST(CpuExecutor, RejectsWrongInputs) {
  Builder b;
  auto x = b.Input("x", {1, 4});
  b.Output(b.Op("Relu", {x}, {1, 4}));
  auto exec = Executor::Create(b.g, {});
  ASSERT_TRUE(exec.ok());
  EXPECT_EQ((*exec)->Run({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*exec)->Run({{"x", Tensor(DType::kFloat32, {2, 4})}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*exec)->Run({{"x", Tensor(DType::kInt64, {1, 4})}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*exec)->Run({{"x", Tensor(DType::kFloat32, {1, 4})}, {"y", Tensor()}}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ridge::cpu
