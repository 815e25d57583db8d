// Every zoo model on the CPU backend vs onnxruntime, same inputs and weights, fp32.
// The references come from make_ort_reference.py (a ctest fixture runs it with .venv/bin/python
// before this test); models come from scripts/export_zoo.py. Either absent: a visible skip.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "profiler/stats.h"
#include "runtime/npy.h"
#include "runtime/session.h"

namespace ridge {
namespace {

struct Tolerance {
  double atol = 1e-4, rtol = 1e-3;
};

// The default bound is atol 1e-4 / rtol 1e-3. A model gets a wider one only with a reason here.
Tolerance ToleranceFor(const std::string& model) {
  (void)model;
  return {};
}

class CpuZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(CpuZoo, MatchesOnnxRuntime) {
  const std::string name = GetParam();
  const std::string model = std::string(RIDGE_MODEL_DIR) + "/" + name + ".onnx";
  const std::string dir = std::string(RIDGE_TEST_DATA_DIR) + "/zoo/" + name;
  if (!std::filesystem::exists(model)) {
    GTEST_SKIP() << model << " absent: run scripts/setup.sh (exports the zoo)";
  }
  std::ifstream mf(dir + "/manifest.json");
  if (!mf) {
    GTEST_SKIP() << dir << "/manifest.json absent: the make_ort_reference fixture needs "
                 << ".venv (scripts/setup.sh)";
  }
  nlohmann::json manifest = nlohmann::json::parse(mf, nullptr, false);
  ASSERT_FALSE(manifest.is_discarded()) << "bad manifest";
  std::map<std::string, Tensor> inputs;
  runtime::SessionOptions options;
  options.batch = manifest.value("batch", 1);
  options.cpu.num_threads = 2;
  for (const auto& e : manifest["inputs"]) {
    auto t = runtime::ReadNpy(dir + "/" + e[1].get<std::string>());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    inputs[e[0].get<std::string>()] = *t;
  }
  auto session = runtime::CpuSession::Open(model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  profiler::Timer timer;
  auto outputs = (*session)->Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  std::printf("%s: first run %.1f ms, kernels:", name.c_str(), timer.ElapsedMs());
  for (const auto& [k, n] : (*session)->executor().KernelCounts())
    std::printf(" %s %d", k.c_str(), n);
  std::printf("\n");
  ASSERT_EQ(outputs->size(), manifest["outputs"].size());
  Tolerance tol = ToleranceFor(name);
  for (size_t i = 0; i < outputs->size(); ++i) {
    auto want = runtime::ReadNpy(dir + "/" + manifest["outputs"][i][1].get<std::string>());
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    const Tensor& got = (*outputs)[i];
    ASSERT_EQ(got.dims(), want->dims()) << "output " << i;
    ASSERT_EQ(got.dtype(), DType::kFloat32);
    int64_t bad = 0;
    double worst = 0, scale = 0;
    int64_t worst_i = 0;
    for (int64_t k = 0; k < got.num_elements(); ++k) {
      double g = got.data<float>()[k], w = want->data<float>()[k];
      double err = std::abs(g - w);
      double excess = err - (tol.atol + tol.rtol * std::abs(w));
      if (!(excess <= 0)) ++bad;
      scale = std::max(scale, std::abs(w));
      if (!(err <= worst)) {
        worst = err;
        worst_i = k;
      }
    }
    std::printf("%s output %zu: max abs error %.3g at %lld (got %.6g want %.6g)\n", name.c_str(), i,
                worst, static_cast<long long>(worst_i), got.data<float>()[worst_i],
                want->data<float>()[worst_i]);
    // Random weights can shrink a network's outputs to ~1e-10, where atol alone accepts
    // anything: the largest error must also be small against the largest output.
    EXPECT_LE(worst, tol.rtol * scale)
        << name << " output " << i << ": max error " << worst << " vs output scale " << scale;
    EXPECT_EQ(bad, 0) << name << " output " << i << ": " << bad << " of " << got.num_elements()
                      << " elements outside atol " << tol.atol << " rtol " << tol.rtol;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, CpuZoo,
                         ::testing::Values("resnet18", "resnet50", "mobilenet_v2",
                                           "efficientnet_b0", "convnext_tiny", "yolov8n"));

}  // namespace
}  // namespace ridge
