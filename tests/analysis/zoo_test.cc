// Model-zoo checks (label `models`): MAC totals against published figures and against the
// export script's independent torch counts, and `ridge analyze` on every model at fp32/fp16 x
// batch 1/32. Skips with a message when the zoo was not exported.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/analyzer.h"
#include "onnx/loader.h"
#include "ops/shape_inference.h"

namespace ridge::analysis {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ZooModels() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(RIDGE_MODEL_DIR, ec)) {
    if (e.path().extension() == ".onnx") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<double> Macs(const std::string& model, int64_t batch) {
  RIDGE_ASSIGN_OR_RETURN(auto graph,
                         onnx::LoadModel(std::string(RIDGE_MODEL_DIR) + "/" + model + ".onnx"));
  ops::InferOptions options;
  options.batch = batch;
  RIDGE_RETURN_IF_ERROR(ops::InferShapes(graph, options));
  RIDGE_ASSIGN_OR_RETURN(auto costs, ComputeCosts(graph, Precision::kFp32));
  if (!costs.missing_cost_ops.empty())
    return Internal("ops without cost: " + costs.missing_cost_ops[0]);
  return costs.totals.macs;
}

TEST(Zoo, PublishedMacs) {
  if (!fs::exists(std::string(RIDGE_MODEL_DIR) + "/resnet50.onnx"))
    GTEST_SKIP() << "model zoo not exported under " RIDGE_MODEL_DIR " (scripts/export_zoo.py)";
  auto r50 = Macs("resnet50", 1);
  ASSERT_TRUE(r50.ok()) << r50.status().ToString();
  EXPECT_NEAR(*r50 / 4.1e9, 1.0, 0.01) << *r50;
  auto mv2 = Macs("mobilenet_v2", 1);
  ASSERT_TRUE(mv2.ok()) << mv2.status().ToString();
  EXPECT_NEAR(*mv2 / 0.30e9, 1.0, 0.02) << *mv2;
}

TEST(Zoo, MacsAgreeWithTorchCounts) {
  auto models = ZooModels();
  if (models.empty()) GTEST_SKIP() << "model zoo not exported under " RIDGE_MODEL_DIR;
  for (const auto& m : models) {
    std::ifstream in(std::string(RIDGE_MODEL_DIR) + "/" + m + ".macs.json");
    if (!in) {
      ADD_FAILURE() << m << ": no .macs.json next to the model";
      continue;
    }
    auto j = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << m;
    double expected = j.value("macs", 0.0);
    int64_t batch = 1;
    if (j.contains("input_shape") && j["input_shape"].is_array() && !j["input_shape"].empty())
      batch = j["input_shape"][0].get<int64_t>();
    auto macs = Macs(m, batch);
    ASSERT_TRUE(macs.ok()) << m << ": " << macs.status().ToString();
    EXPECT_NEAR(*macs / expected, 1.0, 0.01) << m << ": ridge " << *macs << " torch " << expected;
  }
}

TEST(Zoo, CliAnalyzesEveryModel) {
  auto models = ZooModels();
  if (models.empty()) GTEST_SKIP() << "model zoo not exported under " RIDGE_MODEL_DIR;
  fs::create_directories(RIDGE_TEST_DATA_DIR);
  for (const auto& m : models) {
    for (const char* precision : {"fp32", "fp16"}) {
      for (int batch : {1, 32}) {
        std::string json = std::string(RIDGE_TEST_DATA_DIR) + "/zoo_" + m + ".json";
        std::string cmd = std::string(RIDGE_CLI_PATH) + " analyze " + RIDGE_MODEL_DIR + "/" + m +
                          ".onnx --precision " + precision + " --batch " + std::to_string(batch) +
                          " --json " + json + " > /dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        std::ifstream in(json);
        auto j = nlohmann::json::parse(in, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << cmd;
        EXPECT_GT(j["totals"]["flops"].get<double>(), 0) << cmd;
        EXPECT_GT(j["totals"]["predicted_time_s"].get<double>(), 0) << cmd;
      }
    }
  }
}

}  // namespace
}  // namespace ridge::analysis
