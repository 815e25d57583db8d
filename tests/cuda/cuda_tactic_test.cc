// Tactic selection on the GPU (skips without one): a cold build times candidates and fills the
// cache; a warm build with that cache times nothing, chooses the same tactics and gives the same
// outputs; a cache from another environment or with unusable entries is never trusted; the
// cache survives a file round trip. Each test says what it measured.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "backends/cuda/engine.h"
#include "gpu_skip.h"
#include "runtime/session.h"

namespace ridge::cuda {
namespace {

struct Model {
  std::unique_ptr<runtime::CpuSession> session;
  std::map<std::string, Tensor> inputs;
};

// resnet18 batch 2: convs of every kind (7x7, 3x3, strided 1x1, pointwise), repeated layers,
// residual fusions and the final GEMM.
bool Open(Model* m) {
  const std::string path = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";
  if (!std::filesystem::exists(path)) return false;
  runtime::SessionOptions so;
  so.batch = 2;
  auto s = runtime::CpuSession::Open(path, so);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return false;
  m->session = std::move(*s);
  auto in = runtime::RandomInputs(m->session->graph(), 7);
  EXPECT_TRUE(in.ok());
  if (!in.ok()) return false;
  m->inputs = *in;
  return true;
}

struct Built {
  std::unique_ptr<Engine> engine;
  std::vector<Tensor> outputs;
  std::vector<std::string> log;
};

Built BuildAndRun(const Model& m, Precision p, TacticCache* cache) {
  Built b;
  EngineOptions eo;
  eo.precision = p;
  eo.tactic_cache = cache;
  eo.build_log = [&b](const std::string& line) { b.log.push_back(line); };
  auto e = Engine::Build(m.session->graph(), eo);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) return b;
  b.engine = std::move(*e);
  auto out = b.engine->Run(m.inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (out.ok()) b.outputs = std::move(*out);
  return b;
}

void ExpectSameOutputs(const Built& a, const Built& b) {
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t o = 0; o < a.outputs.size(); ++o) {
    ASSERT_EQ(a.outputs[o].dims(), b.outputs[o].dims());
    int64_t differ = 0;
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < a.outputs[o].num_elements(); ++i) {
      const double x = a.outputs[o].data<float>()[i], y = b.outputs[o].data<float>()[i];
      differ += x != y;
      worst = std::max(worst, std::abs(x - y));
      scale = std::max(scale, std::abs(x));
    }
    // Same tactics on the same inputs run the same kernels in the same order: bit for bit,
    // unless a chosen algo reduces with atomics (split-K), hence the tiny bound.
    std::printf("output %zu: %lld elements differ, max diff %.3g (scale %.3g)\n", o,
                static_cast<long long>(differ), worst, scale);
    EXPECT_LE(worst, 1e-6 * scale) << "output " << o;
  }
}

class Tactics : public ::testing::TestWithParam<Precision> {};

TEST_P(Tactics, WarmCacheTimesNothingAndGivesTheSameOutputs) {
  SKIP_WITHOUT_GPU();
  Model m;
  if (!Open(&m)) GTEST_SKIP() << "resnet18.onnx absent (scripts/export_zoo.py)";
  TacticCache cache;
  Built cold = BuildAndRun(m, GetParam(), &cache);
  ASSERT_TRUE(cold.engine);
  const EngineStats& cs = cold.engine->stats();
  std::printf(
      "cold: build %.1f ms, tactic timing %.1f ms, %d layers timed (%d candidates), %d "
      "reused; cache %zu entries\n",
      cs.build_ms, cs.tactic_ms, cs.tactic_layers_timed, cs.tactic_candidates_timed,
      cs.tactic_layers_cached, cache.size());
  EXPECT_GT(cs.tactic_layers_timed, 0);
  EXPECT_GE(cs.tactic_candidates_timed, cs.tactic_layers_timed);
  EXPECT_GT(cs.tactic_layers_cached, 0) << "resnet18 repeats layers: they are timed once";
  EXPECT_EQ(cache.size(), static_cast<size_t>(cs.tactic_layers_timed));
  EXPECT_GT(cs.tactic_ms, 0);
  EXPECT_LE(cs.tactic_ms, cs.build_ms);
  EXPECT_EQ(cold.log.size(), static_cast<size_t>(cs.tactic_layers_timed + cs.tactic_layers_cached));
  for (const auto& line : cold.log) std::printf("  %s\n", line.c_str());

  const std::string before = cache.ToJson();
  Built warm = BuildAndRun(m, GetParam(), &cache);
  ASSERT_TRUE(warm.engine);
  const EngineStats& ws = warm.engine->stats();
  std::printf("warm: build %.1f ms, tactic timing %.1f ms\n", ws.build_ms, ws.tactic_ms);
  EXPECT_EQ(ws.tactic_layers_timed, 0);
  EXPECT_EQ(ws.tactic_candidates_timed, 0);
  EXPECT_EQ(ws.tactic_ms, 0);
  EXPECT_EQ(ws.tactic_layers_cached, cs.tactic_layers_timed + cs.tactic_layers_cached);
  EXPECT_EQ(cache.ToJson(), before) << "a warm build must not change the cache";
  for (const auto& line : warm.log) EXPECT_NE(line.find("cached"), std::string::npos) << line;
  EXPECT_EQ(ws.step_kinds, cs.step_kinds);
  EXPECT_EQ(ws.workspace_bytes, cs.workspace_bytes);
  ExpectSameOutputs(cold, warm);
}

TEST_P(Tactics, ForeignOrUnusableEntriesAreTimedAgain) {
  SKIP_WITHOUT_GPU();
  Model m;
  if (!Open(&m)) GTEST_SKIP() << "resnet18.onnx absent (scripts/export_zoo.py)";
  TacticCache cache;
  Built cold = BuildAndRun(m, GetParam(), &cache);
  ASSERT_TRUE(cold.engine);
  const int32_t timed = cold.engine->stats().tactic_layers_timed;

  // Another environment: the file parses, but nothing in it is used.
  TacticCache foreign;
  std::string json = cache.ToJson();
  const std::string gpu = "\"gpu\": \"" + cache.environment().gpu_name + "\"";
  ASSERT_NE(json.find(gpu), std::string::npos);
  json.replace(json.find(gpu), gpu.size(), "\"gpu\": \"Some Other GPU\"");
  ASSERT_TRUE(foreign.Parse(json).ok());
  Built b = BuildAndRun(m, GetParam(), &foreign);
  ASSERT_TRUE(b.engine);
  EXPECT_EQ(b.engine->stats().tactic_layers_timed, timed);
  ASSERT_FALSE(b.log.empty());
  EXPECT_NE(b.log[0].find("another environment"), std::string::npos) << b.log[0];

  // Entries that cannot run these layers (a truncated cuBLASLt blob, a cuDNN algorithm id out
  // of range): the build does not fail, it times those layers again.
  TacticCache broken;
  broken.MatchEnvironment(cache.environment());
  size_t i = 0;
  for (const auto& [key, t] : cache.entries()) {
    Tactic bad = t;
    if (i++ % 2) {
      bad.library = "cublaslt";
      bad.blob_hex = "00";
    } else {
      bad.library = "cudnn";
      bad.algo = 999;
    }
    broken.Put(key, bad);
  }
  Built c = BuildAndRun(m, GetParam(), &broken);
  ASSERT_TRUE(c.engine);
  EXPECT_EQ(c.engine->stats().tactic_layers_timed, timed);
  ASSERT_EQ(c.outputs.size(), cold.outputs.size());
  for (const Tensor& t : c.outputs)
    for (int64_t k = 0; k < t.num_elements(); ++k) ASSERT_TRUE(std::isfinite(t.data<float>()[k]));
}

TEST_P(Tactics, CacheFileRoundTripMakesTheNextBuildWarm) {
  SKIP_WITHOUT_GPU();
  Model m;
  if (!Open(&m)) GTEST_SKIP() << "resnet18.onnx absent (scripts/export_zoo.py)";
  const std::string path = ::testing::TempDir() + "ridge_tactic_gpu_test.json";
  TacticCache cache;
  Built cold = BuildAndRun(m, GetParam(), &cache);
  ASSERT_TRUE(cold.engine);
  ASSERT_TRUE(cache.SaveFile(path).ok());
  TacticCache loaded;
  ASSERT_TRUE(loaded.LoadFile(path).ok());
  Built warm = BuildAndRun(m, GetParam(), &loaded);
  ASSERT_TRUE(warm.engine);
  EXPECT_EQ(warm.engine->stats().tactic_layers_timed, 0);
  ExpectSameOutputs(cold, warm);
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Precisions, Tactics, ::testing::Values(Precision::kFp16, Precision::kFp32),
                         [](const auto& info) {
                           return info.param == Precision::kFp16 ? "fp16" : "fp32";
                         });

// The forced 1x1 backends still choose among their own library's candidates.
TEST(TacticsPointwise, ForcedBackendKeepsItsLibrary) {
  SKIP_WITHOUT_GPU();
  Model m;
  if (!Open(&m)) GTEST_SKIP() << "resnet18.onnx absent (scripts/export_zoo.py)";
  for (int32_t backend : {1, 2}) {
    EngineOptions eo;
    eo.precision = Precision::kFp16;
    eo.pointwise_conv_backend = backend;
    TacticCache cache;
    eo.tactic_cache = &cache;
    auto e = Engine::Build(m.session->graph(), eo);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    for (const auto& [key, t] : cache.entries()) {
      if (key.find("|pw=") == std::string::npos) continue;
      EXPECT_EQ(t.library, backend == 1 ? "cudnn" : "cublaslt") << key;
    }
    auto got = (*e)->Run(m.inputs);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
  }
}

}  // namespace
}  // namespace ridge::cuda
