// The sample TensorRT exports (shared/data/tensorrt-engines, beside the clone): paths and a
// loader that skips the test visibly when the folder is absent.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "trt/engine_data.h"

namespace ridge::trt::testing {

inline std::string SampleDir() { return RIDGE_SOURCE_DIR "/../shared/data/tensorrt-engines"; }

inline std::string ResnetStem(const std::string& variant) {
  const std::string dir = SampleDir() + "/pytorch/resnet/A100/" + variant + "/";
  return variant == "fp16" || variant == "fp32" ? dir + "resnet.onnx.engine"
                                                : dir + "resnet-" + variant + ".onnx.engine";
}

inline std::vector<std::string> AllSampleStems() {
  std::vector<std::string> stems;
  for (const char* v : {"fp32", "fp16", "qat", "qat-residual", "qat-residual-qgap"})
    stems.push_back(ResnetStem(v));
  stems.push_back(SampleDir() + "/mobilenet/mobilenet.qat.onnx.engine");
  stems.push_back(SampleDir() + "/mobilenet/mobilenet_v2_residuals.qat.onnx.engine");
  return stems;
}

#define RIDGE_REQUIRE_TRT_SAMPLES()                                                               \
  do {                                                                                            \
    if (!std::filesystem::is_directory(::ridge::trt::testing::SampleDir()))                       \
      GTEST_SKIP() << "TensorRT sample exports not found at "                                     \
                   << ::ridge::trt::testing::SampleDir() << " (shared/ is not beside the clone)"; \
  } while (0)

inline EngineData LoadSample(const std::string& stem) {
  auto files = LocateEngineFiles(stem + ".graph.json");
  EXPECT_TRUE(files.ok()) << files.status().ToString();
  if (!files.ok()) return {};
  auto data = LoadEngine(*files);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? std::move(data).value() : EngineData{};
}

}  // namespace ridge::trt::testing
