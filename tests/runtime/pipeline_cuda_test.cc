// `ridge pipeline --device cuda` against the CPU pipeline on yolov8n and resnet18: every
// combination of GPU/CPU pre and post, fp32 engine, batch 2 over an odd frame count (a padded
// last batch), 3 in flight. Skips without a CUDA device or without the zoo.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "backends/cuda/engine.h"

namespace fs = std::filesystem;

namespace ridge {
namespace {

nlohmann::json RunJson(const std::string& args, const std::string& tag) {
  const fs::path json = fs::temp_directory_path() / ("ridge_pipeline_cuda_" + tag + ".json");
  const std::string cmd = std::string(RIDGE_CLI_PATH) + " pipeline " + args + " --quiet --json " +
                          json.string() + " > /dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return nlohmann::json();
  std::ifstream in(json);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  fs::remove(json);
  return j;
}

void SkipWithoutGpu(const std::string& model) {
  std::string why;
  if (!cuda::DeviceAvailable(&why)) GTEST_SKIP() << "no CUDA device (" << why << ")";
  if (!fs::exists(model)) GTEST_SKIP() << "no " << model << " (run scripts/export_zoo.py)";
}

TEST(PipelineCudaTest, DetectMatchesCpuForEveryPrePostCombination) {
  const std::string model = std::string(RIDGE_MODEL_DIR) + "/yolov8n.onnx";
  SkipWithoutGpu(model);
  if (::testing::Test::IsSkipped()) return;
  // The zoo's weights are random: scores are ~1e-4, so a low threshold gives detections.
  const std::string common = model + " --source synthetic:5 --conf 0.0001 --batch 2 ";
  nlohmann::json cpu = RunJson(common + "--device cpu", "cpu");
  ASSERT_EQ(cpu["results"].size(), 5u);
  for (const char* pre : {"cpu", "gpu"}) {
    for (const char* post : {"cpu", "gpu"}) {
      SCOPED_TRACE(std::string("pre ") + pre + ", post " + post);
      nlohmann::json gpu = RunJson(
          common + "--device cuda --precision fp32 --inflight 3 --pre " + pre + " --post " + post,
          std::string(pre) + post);
      ASSERT_EQ(gpu["results"].size(), 5u);
      EXPECT_EQ(gpu["frames"], 5);
      for (size_t i = 0; i < 5; ++i) {
        const auto& a = cpu["results"][i];
        const auto& b = gpu["results"][i];
        EXPECT_EQ(b["id"], i);
        ASSERT_FALSE(b["detections"].empty());
        const double sa = a["detections"][0]["score"], sb = b["detections"][0]["score"];
        EXPECT_NEAR(sb, sa, 0.02 * std::abs(sa) + 1e-6);
        EXPECT_NEAR(static_cast<double>(b["detections"].size()),
                    static_cast<double>(a["detections"].size()),
                    0.1 * static_cast<double>(a["detections"].size()) + 2);
      }
      std::vector<std::string> stages;
      for (const auto& s : gpu["stages"]) stages.push_back(s["stage"]);
      EXPECT_NE(std::find(stages.begin(), stages.end(), "H2D"), stages.end());
      EXPECT_NE(std::find(stages.begin(), stages.end(), "infer"), stages.end());
      // With GPU post the results' copy is inside post: no D2H stage of the raw output.
      EXPECT_EQ(std::find(stages.begin(), stages.end(), "D2H") != stages.end(),
                std::string(post) == "cpu");
    }
  }
}

TEST(PipelineCudaTest, ClassifyFp16MatchesCpuTopClass) {
  const std::string model = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";
  SkipWithoutGpu(model);
  if (::testing::Test::IsSkipped()) return;
  const std::string common = model + " --source synthetic:3 ";
  nlohmann::json cpu = RunJson(common + "--device cpu", "cls_cpu");
  nlohmann::json gpu =
      RunJson(common + "--device cuda --precision fp16 --pre gpu --post gpu --inflight 2", "cls");
  ASSERT_EQ(cpu["results"].size(), 3u);
  ASSERT_EQ(gpu["results"].size(), 3u);
  EXPECT_EQ(gpu["task"], "classify");
  for (size_t i = 0; i < 3; ++i) {
    const double pa = cpu["results"][i]["top"][0]["p"], pb = gpu["results"][i]["top"][0]["p"];
    EXPECT_NEAR(pb, pa, 0.02);
  }
}

// The naive baseline on the GPU: OpenCV (or reference) pre on the CPU, the engine, CPU
// post, one frame at a time. Same frames, same answers as the overlapped pipeline.
TEST(PipelineCudaTest, NaiveOnCudaMatchesTheOverlappedPipeline) {
  const std::string yolo = std::string(RIDGE_MODEL_DIR) + "/yolov8n.onnx";
  SkipWithoutGpu(yolo);
  if (::testing::Test::IsSkipped()) return;
  const std::string common = yolo + " --source synthetic:4 --conf 0.0001 --device cuda ";
  for (const char* precision : {"fp32", "fp16"}) {
    SCOPED_TRACE(precision);
    const std::string p = std::string("--precision ") + precision + " ";
    nlohmann::json naive = RunJson(common + p + "--naive", std::string("naive_") + precision);
    nlohmann::json fast =
        RunJson(common + p + "--pre gpu --post gpu --inflight 3", std::string("fast_") + precision);
    ASSERT_EQ(naive["results"].size(), 4u);
    ASSERT_EQ(fast["results"].size(), 4u);
    EXPECT_TRUE(naive["naive"].get<bool>());
    EXPECT_TRUE(naive["naive_pre"] == "opencv" || naive["naive_pre"] == "reference");
    EXPECT_LE(naive["overlap"].get<double>(), 1.02);  // nothing overlapped
    std::vector<std::string> stages;
    for (const auto& s : naive["stages"]) stages.push_back(s["stage"]);
    EXPECT_EQ(stages, (std::vector<std::string>{"decode", "pre", "H2D", "infer", "D2H", "post"}));
    for (size_t i = 0; i < 4; ++i) {
      const auto& a = naive["results"][i];
      const auto& b = fast["results"][i];
      EXPECT_EQ(a["id"], i);
      ASSERT_FALSE(a["detections"].empty());
      ASSERT_FALSE(b["detections"].empty());
      // OpenCV's resize rounds like the others within 1 LSB: near-equal scores may swap places,
      // so the best naive class must be among the overlapped run's best three.
      bool found = false;
      for (size_t k = 0; k < std::min<size_t>(3, b["detections"].size()); ++k)
        found = found || b["detections"][k]["class"] == a["detections"][0]["class"];
      EXPECT_TRUE(found) << "frame " << i;
      const double sa = a["detections"][0]["score"], sb = b["detections"][0]["score"];
      EXPECT_NEAR(sa, sb, 0.05 * std::abs(sb) + 1e-6);
      EXPECT_NEAR(static_cast<double>(a["detections"].size()),
                  static_cast<double>(b["detections"].size()),
                  0.1 * static_cast<double>(b["detections"].size()) + 2);
    }
  }
  // Classification: the same top class.
  const std::string resnet = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";
  if (!fs::exists(resnet)) return;
  nlohmann::json naive = RunJson(resnet + " --source synthetic:3 --device cuda --naive", "cls_n");
  nlohmann::json fast =
      RunJson(resnet + " --source synthetic:3 --device cuda --pre gpu --post gpu", "cls_f");
  ASSERT_EQ(naive["results"].size(), 3u);
  ASSERT_EQ(fast["results"].size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(naive["results"][i]["top"][0]["class"], fast["results"][i]["top"][0]["class"]);
  // --naive with GPU pre or post is refused.
  EXPECT_TRUE(RunJson(common + "--naive --pre gpu", "naive_bad").is_null());
}

}  // namespace
}  // namespace ridge
