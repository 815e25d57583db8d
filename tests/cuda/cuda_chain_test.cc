// Pointwise-chain fusion (pointwise_chain_step.cc) against the CPU executor on hand-built
// graphs: ConvNeXt's GELU + layer scale + residual after a conv (NHWC, 16-byte vectors), the
// same with 5 channels (element-by-element path), SE's per-(n, c) scale, broadcasting along a
// middle dim with the value on the right of Sub, and a chain cut at an intermediate graph
// output. Each checks the fused step count, so a chain that silently stops fusing fails too.
#include <cuda_runtime.h>

#include <functional>

#include "backends/cuda/kernels/elementwise.cuh"
#include "backends/cuda/kernels/pointwise_chain.cuh"
#include "engine_graph_test_util.h"

namespace ridge::cuda {
namespace {

using graph_test::ChainBuilder;
using Dims = std::vector<int64_t>;

struct Param {
  Precision precision;
  double atol, rtol;
};
class CudaChain : public ::testing::TestWithParam<Param> {};

// Pointwise_chain steps the engine built for b's graph (outputs checked against the CPU).
int Chains(ChainBuilder& b, const Param& p) {
  EngineOptions eo;
  eo.precision = p.precision;
  auto kinds = graph_test::RunAndCompare(b, eo, p.atol, p.rtol);
  auto it = kinds.find("pointwise_chain");
  return it == kinds.end() ? 0 : it->second;
}

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
  EXPECT_EQ(Chains(b, p), 1) << "7 pointwise nodes in one step";
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
  EXPECT_EQ(Chains(b, GetParam()), 1);
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
  EXPECT_EQ(Chains(b, GetParam()), 1);
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
  EXPECT_EQ(Chains(b, GetParam()), 2);
}

// ConvNeXt's MLP head: MatMul, bias Add, GELU as exported. With gemm_gelu_epilogue (fp16) the
// GELU runs in cuBLASLt's epilogue (tanh form, within fp16 tolerance of the erf form): no chain
// step is left; without it, or in fp32, the GELU is a chain after the GEMM.
void MatMulBiasGelu(Precision precision, bool epilogue, int expect_chains) {
  ChainBuilder b;
  const Dims in{2, 7, 24}, out{2, 7, 40};
  ir::ValueId x = b.Input("x", in);
  ir::ValueId y = b.Node("MatMul", {x, b.Const("w", {24, 40}, -0.3f, 0.3f)}, out);
  y = b.Node("Add", {y, b.Const("bias", {40})}, out);
  ir::ValueId t = b.Node("Div", {y, b.Scalar("sqrt2", 1.4142135f)}, out);
  t = b.Node("Erf", {t}, out);
  t = b.Node("Add", {b.Scalar("one", 1.f), t}, out);
  t = b.Node("Mul", {t, y}, out);
  t = b.Node("Mul", {t, b.Scalar("half", 0.5f)}, out);
  b.Output(t);
  EngineOptions eo;
  eo.precision = precision;
  eo.gemm_gelu_epilogue = epilogue;
  const double tol = precision == Precision::kFp16 ? 2e-2 : 1e-4;
  auto kinds = graph_test::RunAndCompare(b, eo, tol, tol);
  EXPECT_EQ(kinds["gemm_lt"], 1);
  EXPECT_EQ(kinds["pointwise_chain"], expect_chains);
}

TEST(CudaGemmGelu, EpilogueFusesGeluInFp16) {
  SKIP_WITHOUT_GPU();
  MatMulBiasGelu(Precision::kFp16, true, 0);
}

TEST(CudaGemmGelu, ChainWithoutTheOptionOrInFp32) {
  SKIP_WITHOUT_GPU();
  MatMulBiasGelu(Precision::kFp16, false, 1);
  MatMulBiasGelu(Precision::kFp32, true, 1);
}

// The chain kernel called directly on ConvNeXt's largest GELU ([32,56,56,384] fp16): the 5-op
// GELU chain against the single GeluErf activation (same values), and 1-op chains, with
// [timing] lines in ms and GB/s.
TEST(CudaChainKernel, GeluChainMatchesActivationAndTiming) {
  SKIP_WITHOUT_GPU();
  using kernels::ChainOp;
  const int64_t n = int64_t{32} * 56 * 56 * 384;
  void *x = nullptr, *y_chain = nullptr, *y_act = nullptr;
  ASSERT_EQ(cudaMalloc(&x, n * 2), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&y_chain, n * 2), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&y_act, n * 2), cudaSuccess);
  std::vector<uint16_t> host(static_cast<size_t>(n));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-3.f, 3.f);
  for (auto& h : host) h = FloatToHalf(d(rng));
  ASSERT_EQ(cudaMemcpy(x, host.data(), n * 2, cudaMemcpyHostToDevice), cudaSuccess);
  auto scalar = [](kernels::BinOp op, float v) {
    ChainOp o;
    o.kind = ChainOp::kScalar;
    o.op = op;
    o.scalar = v;
    return o;
  };
  kernels::ChainParams gelu;
  gelu.num_ops = 5;
  gelu.ops[0] = scalar(kernels::BinOp::kDiv, 1.4142135f);
  gelu.ops[1].act.act = kernels::Act::kErf;
  gelu.ops[2] = scalar(kernels::BinOp::kAdd, 1.f);
  gelu.ops[3].kind = ChainOp::kInput;
  gelu.ops[3].op = kernels::BinOp::kMul;
  gelu.ops[4] = scalar(kernels::BinOp::kMul, 0.5f);
  kernels::ChainParams mul;
  mul.num_ops = 1;
  mul.ops[0] = scalar(kernels::BinOp::kMul, 0.5f);
  const void* none[kernels::kMaxChainOps] = {};
  kernels::ActParams act;
  act.act = kernels::Act::kGeluErf;
  auto time_ms = [&](const std::function<void()>& launch) {
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    launch();
    cudaEventRecord(a);
    for (int i = 0; i < 20; ++i) launch();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ms / 20;
  };
  const double gb = 2.0 * n * 2 / 1e9;
  auto report = [&](const char* what, float ms) {
    std::printf("[timing] chain %-34s %.3f ms (%.0f GB/s)\n", what, ms, gb / ms * 1e3);
  };
  report("GELU as 5 ops [32,56,56,384] fp16",
         time_ms([&] { kernels::LaunchPointwiseChain(true, x, y_chain, n, gelu, none, nullptr); }));
  report("GeluErf activation (unary kernel)",
         time_ms([&] { kernels::LaunchUnary(true, x, y_act, n, act, nullptr); }));
  report("1 op: Mul by a scalar",
         time_ms([&] { kernels::LaunchPointwiseChain(true, x, y_chain, n, mul, none, nullptr); }));
  kernels::LaunchPointwiseChain(true, x, y_chain, n, gelu, none, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<uint16_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  ASSERT_EQ(cudaMemcpy(a.data(), y_chain, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(b.data(), y_act, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i)
    bad += std::abs(HalfToFloat(a[i]) - HalfToFloat(b[i])) >
           2e-3f + 2e-3f * std::abs(HalfToFloat(b[i]));
  EXPECT_EQ(bad, 0) << "GELU chain vs GeluErf";
  cudaFree(x);
  cudaFree(y_chain);
  cudaFree(y_act);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaChain,
                         ::testing::Values(Param{Precision::kFp32, 1e-4, 1e-4},
                                           Param{Precision::kFp16, 2e-2, 2e-2}),
                         [](const auto& info) {
                           return info.param.precision == Precision::kFp16 ? "fp16" : "fp32";
                         });

}  // namespace
}  // namespace ridge::cuda
