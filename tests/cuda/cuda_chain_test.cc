// Pointwise-chain fusion (pointwise_chain_step.cc) against the CPU executor on hand-built
// graphs: ConvNeXt's GELU + layer scale + residual after a conv (NHWC, 16-byte vectors), the
// same with 5 channels (element-by-element path), SE's per-(n, c) scale, broadcasting along a
// middle dim with the value on the right of Sub, and a chain cut at an intermediate graph
// output. Each checks the fused step count, so a chain that silently stops fusing fails too.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../analysis/graph_builder.h"
#include "backends/cpu/executor.h"
#include "backends/cuda/engine.h"

namespace ridge::cuda {
namespace {

using Dims = std::vector<int64_t>;

struct ChainBuilder : ridge::testing::GraphBuilder {
  std::mt19937 rng{7};
  Tensor Random(const Dims& dims, float lo = -1.f, float hi = 1.f) {
    Tensor t(DType::kFloat32, dims);
    std::uniform_real_distribution<float> d(lo, hi);
    for (float& v : t.span<float>()) v = d(rng);
    return t;
  }
  ir::ValueId Const(const std::string& name, const Dims& dims, float lo = -1.f, float hi = 1.f) {
    ir::ValueId v = Weight(name, dims);
    g.value(v).constant = Random(dims, lo, hi);
    return v;
  }
  ir::ValueId Scalar(const std::string& name, float value) {
    ir::ValueId v = Weight(name, {});
    g.value(v).constant->data<float>()[0] = value;
    return v;
  }
  // y = op(a, b) with y's dims given.
  ir::ValueId Node(const std::string& op, std::vector<ir::ValueId> in, const Dims& dims) {
    ir::ValueId y = Act(op + std::to_string(g.num_nodes()), dims);
    Op(op, op + "_" + std::to_string(g.num_nodes()), std::move(in), {y});
    return y;
  }
  ir::ValueId Conv1x1(ir::ValueId x, int64_t cin, int64_t cout, const Dims& out) {
    ir::ValueId y = Act("conv" + std::to_string(g.num_nodes()), out);
    const std::string name = "conv_" + std::to_string(g.num_nodes());
    Conv(name, x, y, cin, cout, 1);
    g.value(g.node(g.num_nodes() - 1).inputs[1]).constant = Random({cout, cin, 1, 1}, -0.5f, 0.5f);
    return y;
  }
};

struct Param {
  Precision precision;
  double atol, rtol;
};
class CudaChain : public ::testing::TestWithParam<Param> {};

// Builds the graph on both backends, feeds seeded inputs, compares every output and returns
// the number of pointwise_chain steps the CUDA engine built (-1 when skipped or failed).
int RunAndCompare(ChainBuilder& b, const Param& p) {
  std::string why;
  if (!DeviceAvailable(&why)) return -1;
  std::map<std::string, Tensor> feed;
  for (ir::ValueId v : b.g.inputs())
    feed[b.g.value(v).name] = b.Random(*b.g.value(v).shape->ToInts());
  cpu::ExecutorOptions co;
  co.num_threads = 1;
  auto exec = cpu::Executor::Create(b.g, co);
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  if (!exec.ok()) return -1;
  auto want = (*exec)->Run(feed);
  EXPECT_TRUE(want.ok()) << want.status().ToString();
  EngineOptions eo;
  eo.precision = p.precision;
  eo.guard_bytes = 64;
  auto engine = Engine::Build(b.g, eo);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok() || !want.ok()) return -1;
  auto got = (*engine)->Run(feed);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok()) return -1;
  EXPECT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size() && o < want->size(); ++o) {
    const Tensor &g = (*got)[o], &w = (*want)[o];
    EXPECT_EQ(g.dims(), w.dims());
    int64_t bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < g.num_elements() && g.dims() == w.dims(); ++i) {
      const double a = g.data<float>()[i], e = w.data<float>()[i], err = std::abs(a - e);
      worst = std::max(worst, err);
      if (!(err <= p.atol + p.rtol * std::abs(e))) ++bad;
    }
    EXPECT_EQ(bad, 0) << "output " << o << ": " << bad << " elements off, worst " << worst;
  }
  const auto& kinds = (*engine)->stats().step_kinds;
  auto it = kinds.find("pointwise_chain");
  return it == kinds.end() ? 0 : it->second;
}

#define SKIP_WITHOUT_GPU()                                                        \
  do {                                                                            \
    std::string why;                                                              \
    if (!DeviceAvailable(&why)) GTEST_SKIP() << "no CUDA device (" << why << ")"; \
  } while (0)

// ConvNeXt block tail: GELU as exported (Div, Erf, Add, Mul by x, Mul 0.5), layer scale (Mul by
// a [C,1,1] constant) and the residual Add of another conv: one step.
void GeluLayerScaleResidual(const Param& p, int64_t c) {
  ChainBuilder b;
  const Dims in{2, 8, 7, 9}, out{2, c, 7, 9};
  ir::ValueId x = b.Input("x", in);
  ir::ValueId skip = b.Conv1x1(x, 8, c, out);
  ir::ValueId y = b.Conv1x1(x, 8, c, out);
  ir::ValueId t = b.Node("Div", {y, b.Scalar("sqrt2", 1.4142135f)}, out);
  t = b.Node("Erf", {t}, out);
  t = b.Node("Add", {t, b.Scalar("one", 1.f)}, out);
  t = b.Node("Mul", {y, t}, out);
  t = b.Node("Mul", {t, b.Scalar("half", 0.5f)}, out);
  t = b.Node("Mul", {t, b.Const("gamma", {c, 1, 1})}, out);
  t = b.Node("Add", {skip, t}, out);
  b.Output(t);
  EXPECT_EQ(RunAndCompare(b, p), 1) << "7 pointwise nodes in one step";
}

TEST_P(CudaChain, GeluLayerScaleResidualVectorized) {
  SKIP_WITHOUT_GPU();
  GeluLayerScaleResidual(GetParam(), 24);
}

TEST_P(CudaChain, GeluLayerScaleResidualOddChannels) {
  SKIP_WITHOUT_GPU();
  GeluLayerScaleResidual(GetParam(), 5);
}

// SE: x * Sigmoid(GlobalAveragePool(x)) with the [N,C,1,1] scale broadcast over H, W.
TEST_P(CudaChain, SqueezeExciteScale) {
  SKIP_WITHOUT_GPU();
  ChainBuilder b;
  const Dims d{3, 16, 5, 7};
  ir::ValueId x = b.Input("x", {3, 8, 5, 7});
  ir::ValueId y = b.Conv1x1(x, 8, 16, d);
  ir::ValueId s = b.Node("GlobalAveragePool", {y}, {3, 16, 1, 1});
  s = b.Node("Sigmoid", {s}, {3, 16, 1, 1});
  ir::ValueId t = b.Node("Mul", {y, s}, d);
  t = b.Node("Relu", {t}, d);
  b.Output(t);
  EXPECT_EQ(RunAndCompare(b, GetParam()), 1);
}

// Plain rank-3 data: 1 - x (value on the right), divided by a [10,1] tensor (one value per
// middle index: the splat path), max with a [40] vector, then Tanh.
TEST_P(CudaChain, MiddleAxisBroadcastAndOperandFirst) {
  SKIP_WITHOUT_GPU();
  ChainBuilder b;
  const Dims d{3, 10, 40};
  ir::ValueId x = b.Input("x", d);
  ir::ValueId t = b.Node("Sub", {b.Scalar("one", 1.f), x}, d);
  t = b.Node("Div", {t, b.Const("den", {10, 1}, 0.5f, 2.f)}, d);
  t = b.Node("Max", {t, b.Const("floor", {40})}, d);
  t = b.Node("Tanh", {t}, d);
  b.Output(t);
  EXPECT_EQ(RunAndCompare(b, GetParam()), 1);
}

// An intermediate that is also a graph output ends the chain there: two chains, both outputs.
TEST_P(CudaChain, IntermediateGraphOutputSplitsChain) {
  SKIP_WITHOUT_GPU();
  ChainBuilder b;
  const Dims d{2, 33};
  ir::ValueId x = b.Input("x", d);
  ir::ValueId a = b.Node("Mul", {x, b.Scalar("k", 3.f)}, d);
  a = b.Node("Add", {a, b.Const("bias", {33})}, d);
  b.Output(a);
  ir::ValueId r = b.Node("Sigmoid", {a}, d);
  r = b.Node("Mul", {r, b.Scalar("k2", 2.f)}, d);
  b.Output(r);
  EXPECT_EQ(RunAndCompare(b, GetParam()), 2);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaChain,
                         ::testing::Values(Param{Precision::kFp32, 1e-4, 1e-4},
                                           Param{Precision::kFp16, 2e-2, 2e-2}),
                         [](const auto& info) {
                           return info.param.precision == Precision::kFp16 ? "fp16" : "fp32";
                         });

}  // namespace
}  // namespace ridge::cuda
