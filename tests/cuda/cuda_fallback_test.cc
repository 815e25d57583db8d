// The CUDA engine's CPU fallback (EngineOptions::allow_cpu_fallback). Without a GPU: the
// unsupported-node error names the node and ends with the flag's hint, nodes the CPU cannot run
// either still fail, and the CLI's summary line. On a GPU (skipped here): conv -> ReduceMax (no
// GPU kernel, on the host) -> conv -> Sigmoid matches the CPU backend in fp32 and fp16, with and
// without the CUDA graph; the stats count the exact bytes copied; profiles, replays and
// Enqueue see the fallback step.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backends/cpu/executor.h"
#include "backends/cuda/engine.h"
#include "cuda_fallback_graph.h"
#include "ops/shape_inference.h"
#include "runtime/engine_runner.h"
#include "runtime/session.h"

namespace ridge::cuda {
namespace {

std::vector<Tensor> CpuReference(const ir::Graph& g, const std::map<std::string, Tensor>& in) {
  auto ex = cpu::Executor::Create(g, {});
  EXPECT_TRUE(ex.ok()) << ex.status().ToString();
  if (!ex.ok()) return {};
  auto out = (*ex)->Run(in);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : std::vector<Tensor>{};
}

double MaxDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.dims(), b.dims());
  if (a.dims() != b.dims()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i)
    worst = std::max(worst, std::abs(a.GetAsDouble(i) - b.GetAsDouble(i)));
  return worst;
}

// --- without a GPU: the build refuses before touching the device -------------------------

TEST(CpuFallback, WithoutTheFlagTheErrorNamesTheNodeAndEndsWithTheHint) {
  const ir::Graph g = ConvReduceMaxConv();
  auto e = Engine::Build(g, {});
  ASSERT_FALSE(e.ok());
  const std::string msg = e.status().message();
  std::printf("%s\n", msg.c_str());
  EXPECT_EQ(e.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(msg.find("rmax"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ReduceMax"), std::string::npos) << msg;
  const std::string hint = "--allow-cpu-fallback (EngineOptions::allow_cpu_fallback) runs it";
  ASSERT_NE(msg.find(hint), std::string::npos) << msg;
  EXPECT_EQ(msg.substr(msg.size() - std::string(" on the CPU").size()), " on the CPU") << msg;
}

// A node in a custom domain has no reference kernel: the flag cannot help it, the message says
// so, and the hint counts only the nodes the flag would rescue.
TEST(CpuFallback, NodesTheCpuCannotRunFailEvenWithTheFlag) {
  ir::Graph g = ConvReduceMaxConv();
  const ir::ValueId in = g.inputs()[0];
  ir::Node n;
  n.name = "mystery";
  n.op_type = "MysteryOp";
  n.domain = "com.example";
  n.inputs = {in};
  n.outputs = {g.AddValue("mystery_out")};
  g.value(n.outputs[0]).dtype = DType::kFloat32;
  g.value(n.outputs[0]).shape = Shape::FromInts({1, 3, 8, 8});
  const ir::ValueId out = n.outputs[0];
  g.AddNode(std::move(n));
  g.value(out).is_graph_output = true;
  g.AddOutput(out);

  auto off = Engine::Build(g, {});
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.status().message().find("runs 1 of them on the CPU"), std::string::npos)
      << off.status().message();

  EngineOptions on;
  on.allow_cpu_fallback = true;
  auto e = Engine::Build(g, on);
  ASSERT_FALSE(e.ok());
  const std::string msg = e.status().message();
  std::printf("%s\n", msg.c_str());
  EXPECT_EQ(e.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(msg.find("1 node(s)"), std::string::npos) << msg;  // rmax is no longer listed
  EXPECT_EQ(msg.find("rmax"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mystery"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the CPU fallback cannot run it: domain 'com.example'"), std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("--allow-cpu-fallback"), std::string::npos) << msg;
}

TEST(CpuFallback, SummaryLine) {
  runtime::CpuFallbackReport r;
  EXPECT_EQ(runtime::CpuFallbackLine(r), "");
  r = {1, {"rmax"}, 2304, 1};
  EXPECT_EQ(runtime::CpuFallbackLine(r),
            "CPU fallback: 1 node (rmax), 2.3 KB copied per run, 1 host sync per run");
  r = {10, {}, 12'500'000, 10};
  for (int i = 0; i < 10; ++i) r.node_names.push_back("n" + std::to_string(i));
  EXPECT_EQ(runtime::CpuFallbackLine(r),
            "CPU fallback: 10 nodes (n0, n1, n2, n3, n4, n5, n6, n7, +2 more), 12.50 MB copied "
            "per run, 10 host syncs per run");
  r = {1, {"x"}, 960, 1};
  EXPECT_NE(runtime::CpuFallbackLine(r).find(" 960 B copied"), std::string::npos);
}

// --- on a GPU ---------------------------------------------------------------------------------

struct Param {
  Precision precision;
  bool cuda_graph;
  double atol;
};

class CpuFallbackGpu : public ::testing::TestWithParam<Param> {};

TEST_P(CpuFallbackGpu, MatchesTheCpuBackendAndCountsTheCopies) {
  SKIP_WITHOUT_GPU();
  const Param p = GetParam();
  const ir::Graph g = ConvReduceMaxConv();
  auto inputs = runtime::RandomInputs(g, 11);
  ASSERT_TRUE(inputs.ok());
  const std::vector<Tensor> want = CpuReference(g, *inputs);
  ASSERT_EQ(want.size(), 1u);

  EngineOptions o;
  o.precision = p.precision;
  o.use_cuda_graph = p.cuda_graph;
  o.allow_cpu_fallback = true;
  o.guard_bytes = 64;
  auto e = Engine::Build(g, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Engine& engine = **e;
  const EngineStats& s = engine.stats();
  const int64_t esize = p.precision == Precision::kFp16 ? 2 : 4;
  EXPECT_EQ(s.cpu_fallback_nodes, 1);
  EXPECT_EQ(s.cpu_fallback_node_names, std::vector<std::string>{"rmax"});
  EXPECT_EQ(s.cpu_fallback_bytes_per_run, kFallbackElements * esize);
  EXPECT_EQ(s.cpu_fallback_host_syncs, 1);
  EXPECT_EQ(s.step_kinds.count("cpu_fallback") ? s.step_kinds.at("cpu_fallback") : 0, 1);

  for (int run = 0; run < 2; ++run) {  // the second run reuses the staging
    auto got = engine.Run(*inputs);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 1u);
    const double diff = MaxDiff((*got)[0], want[0]);
    std::printf("run %d: max |gpu+cpu fallback - cpu backend| = %.3g (bound %.3g)\n", run, diff,
                p.atol);
    EXPECT_LE(diff, p.atol);
  }

  auto times = engine.TimeReplays(1, 3);
  ASSERT_TRUE(times.ok()) << times.status().ToString();
  auto steps = engine.ProfileSteps(2);
  ASSERT_TRUE(steps.ok()) << steps.status().ToString();
  int found = 0;
  for (const auto& st : *steps) {
    if (st.kind != "cpu_fallback") continue;
    ++found;
    EXPECT_EQ(st.node, "rmax");
    EXPECT_GT(st.ms, 0);
    std::printf("cpu_fallback step: %.3f ms per run\n", st.ms);
  }
  EXPECT_EQ(found, 1);
}

// Enqueue on the caller's stream (pipelines): same outputs as Run.
TEST_P(CpuFallbackGpu, EnqueueOnAnotherStream) {
  SKIP_WITHOUT_GPU();
  const Param p = GetParam();
  const ir::Graph g = ConvReduceMaxConv();
  auto inputs = runtime::RandomInputs(g, 12);
  ASSERT_TRUE(inputs.ok());
  EngineOptions o;
  o.precision = p.precision;
  o.use_cuda_graph = p.cuda_graph;
  o.allow_cpu_fallback = true;
  auto e = Engine::Build(g, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto ran = (*e)->Run(*inputs);  // also leaves the inputs in the engine's buffers
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  const Engine::DeviceTensor out = (*e)->OutputBuffers()[0];
  const size_t n = static_cast<size_t>((*ran)[0].num_elements());
  ASSERT_EQ(cudaMemset(out.data, 0, n * DTypeSize(out.dtype)), cudaSuccess);  // Enqueue rewrites
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  Status st = (*e)->Enqueue(stream);
  const cudaError_t sync = cudaStreamSynchronize(stream);
  cudaStreamDestroy(stream);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(sync, cudaSuccess) << cudaGetErrorString(sync);
  std::vector<float> got(n);
  if (out.dtype == DType::kFloat16) {
    std::vector<uint16_t> h(n);
    ASSERT_EQ(cudaMemcpy(h.data(), out.data, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
    for (size_t i = 0; i < n; ++i) got[i] = HalfToFloat(h[i]);
  } else {
    ASSERT_EQ(cudaMemcpy(got.data(), out.data, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  }
  // The same kernels on the same inputs; the bound only allows for a non-deterministic algo.
  for (size_t i = 0; i < n; ++i) {
    const float want = (*ran)[0].data<float>()[i];
    ASSERT_NEAR(got[i], want, 1e-6 * std::max(1.f, std::abs(want))) << "element " << i;
  }
}

// The fallback node reads a graph input and writes the graph output (no GPU op around it).
TEST_P(CpuFallbackGpu, FallbackNodeAtBothEnds) {
  SKIP_WITHOUT_GPU();
  const Param p = GetParam();
  GraphBuilder b;
  b.Output(b.Node("floor", "Floor", {b.Input("x", {2, 3, 4, 5})}));
  ASSERT_TRUE(ops::InferShapes(b.g, {}).ok());
  EngineOptions o;
  o.precision = p.precision;
  o.use_cuda_graph = p.cuda_graph;
  o.allow_cpu_fallback = true;
  auto e = Engine::Build(b.g, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const int64_t esize = p.precision == Precision::kFp16 ? 2 : 4;
  EXPECT_EQ((*e)->stats().cpu_fallback_bytes_per_run, 2 * 120 * esize);
  Tensor x = Random({2, 3, 4, 5}, 5, 4.f);
  auto got = (*e)->Run({{"x", x}});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    // fp16 storage rounds the input first; floor of a half is a half.
    float v = x.data<float>()[i];
    if (p.precision == Precision::kFp16) v = HalfToFloat(FloatToHalf(v));
    ASSERT_EQ((*got)[0].data<float>()[i], std::floor(v)) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, CpuFallbackGpu,
    ::testing::Values(Param{Precision::kFp32, true, 1e-4}, Param{Precision::kFp32, false, 1e-4},
                      Param{Precision::kFp16, true, 2e-2}, Param{Precision::kFp16, false, 2e-2}),
    [](const auto& info) {
      return std::string(info.param.precision == Precision::kFp16 ? "fp16" : "fp32") +
             (info.param.cuda_graph ? "_graph" : "_stream");
    });

}  // namespace
}  // namespace ridge::cuda
