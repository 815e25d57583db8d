// Execution contexts (execution_context.cc): several contexts of one ResNet-18 engine share its
// weights, own their activations, and give the engine's answers when run at the same time from
// different threads on different streams.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "backends/cuda/engine.h"
#include "gpu_skip.h"
#include "runtime/session.h"

namespace ridge::cuda {
namespace {

// Largest |a - b| relative to max |b|.
double RelError(const Tensor& a, const Tensor& b) {
  double worst = 0, scale = 1e-30;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    worst = std::max(worst, std::abs(double{a.data<float>()[i]} - b.data<float>()[i]));
    scale = std::max(scale, std::abs(double{b.data<float>()[i]}));
  }
  return worst / scale;
}

class CudaContext : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    const std::string path = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent (scripts/export_zoo.py)";
    runtime::SessionOptions so;
    so.batch = 2;
    auto cpu = runtime::CpuSession::Open(path, so);
    ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
    cpu_ = std::move(*cpu);
  }
  const ir::Graph& graph() const { return cpu_->graph(); }
  std::unique_ptr<runtime::CpuSession> cpu_;
};

TEST_F(CudaContext, ContextsShareWeightsAndRunConcurrently) {
  EngineOptions eo;
  eo.precision = Precision::kFp16;
  auto engine = Engine::Build(graph(), eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  Engine& e = **engine;
  std::vector<std::map<std::string, Tensor>> inputs;
  std::vector<Tensor> want;
  for (uint64_t seed : {1, 2, 3}) {
    auto in = runtime::RandomInputs(graph(), seed);
    ASSERT_TRUE(in.ok());
    auto out = e.Run(*in);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    inputs.push_back(*in);
    want.push_back((*out)[0]);
  }
  ASSERT_GT(RelError(want[0], want[1]), 1e-3) << "different inputs must give different outputs";

  std::vector<std::unique_ptr<ExecutionContext>> contexts;
  for (int i = 0; i < 2; ++i) {
    auto ctx = e.CreateContext();
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    contexts.push_back(std::move(*ctx));
  }
  const EngineStats& st = e.stats();
  for (const auto& ctx : contexts) {
    EXPECT_EQ(ctx->shared_weight_bytes(), st.weight_bytes) << "every weight is shared";
    EXPECT_GE(ctx->own_bytes(), st.arena_bytes);
    EXPECT_LT(ctx->own_bytes(), st.arena_bytes + st.workspace_bytes + (int64_t{40} << 20))
        << "a context allocates activations and workspaces, not weights";
    EXPECT_NE(ctx->InputBuffers()[0].data, e.InputBuffers()[0].data);
    EXPECT_NE(ctx->OutputBuffers()[0].data, e.OutputBuffers()[0].data);
  }
  std::printf("resnet18 b2 fp16: weights %.1f MiB shared, each context owns %.1f MiB\n",
              st.weight_bytes / 1048576.0, contexts[0]->own_bytes() / 1048576.0);

  // The engine and both contexts at once, each on its own thread and stream, 20 runs each.
  std::vector<double> worst(3, 0.0);
  std::vector<std::string> errors(3);
  auto work = [&](int k) {
    for (int r = 0; r < 20; ++r) {
      auto out = k == 0 ? e.Run(inputs[0]) : contexts[k - 1]->Run(inputs[k]);
      if (!out.ok()) {
        errors[k] = out.status().ToString();
        return;
      }
      worst[k] = std::max(worst[k], RelError((*out)[0], want[k]));
    }
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < 3; ++k) threads.emplace_back(work, k);
  for (auto& t : threads) t.join();
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(errors[k], "") << "runner " << k;
    EXPECT_LT(worst[k], 1e-3) << "runner " << k << " disagrees with the sequential answer";
  }
}

TEST_F(CudaContext, NeedsTheCapturedGraph) {
  EngineOptions eo;
  eo.use_cuda_graph = false;
  auto engine = Engine::Build(graph(), eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto ctx = (*engine)->CreateContext();
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().ToString().find("use_cuda_graph"), std::string::npos)
      << ctx.status().ToString();
}

}  // namespace
}  // namespace ridge::cuda
