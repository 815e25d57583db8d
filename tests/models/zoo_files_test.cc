// Checks the exported model zoo: every model has a plausible .onnx file and a well-formed
// .macs.json record (format: docs/setup.md). Skips, with a message, when models/ was never
// exported; once it exists every model must be there, since a half-exported zoo hides bugs.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace ridge {
namespace {

namespace fs = std::filesystem;

struct ZooModel {
  const char* name;
  int64_t input_hw;
  // Published multiply-accumulate counts at batch 1, as a +-5% window: torchvision's model
  // docs list "GFLOPS" that are in fact MACs (resnet50 4.09, mobilenet_v2 0.30, ...);
  // ultralytics lists yolov8n at 8.7 GFLOPs = 2 x 4.37 GMACs.
  double published_gmacs;
};

constexpr ZooModel kZoo[] = {
    {"resnet18", 224, 1.81},        {"resnet50", 224, 4.09},      {"mobilenet_v2", 224, 0.30},
    {"efficientnet_b0", 224, 0.39}, {"convnext_tiny", 224, 4.46}, {"yolov8n", 640, 4.37},
};

// Keeps gtest from printing the struct as raw bytes in test names and failures.
void PrintTo(const ZooModel& model, std::ostream* os) { *os << model.name; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

fs::path ModelDir() { return fs::path(RIDGE_MODEL_DIR); }

class ZooTest : public ::testing::TestWithParam<ZooModel> {
 protected:
  void SetUp() override {
    if (!fs::is_directory(ModelDir())) {
      GTEST_SKIP() << "model zoo not exported (" << ModelDir().string()
                   << " missing); run: .venv/bin/python scripts/export_zoo.py";
    }
  }
};

TEST_P(ZooTest, OnnxFileLooksLikeAModel) {
  const fs::path path = ModelDir() / (std::string(GetParam().name) + ".onnx");
  ASSERT_TRUE(fs::is_regular_file(path)) << path << " missing; re-run scripts/export_zoo.py";
  // Even the smallest zoo model carries megabytes of weights; a tiny file is a failed export.
  EXPECT_GT(fs::file_size(path), 1'000'000u) << path;
  // A serialized ModelProto starts with field 1 (ir_version) as a varint: tag byte 0x08.
  std::ifstream in(path, std::ios::binary);
  char first = 0;
  in.read(&first, 1);
  EXPECT_EQ(first, 0x08) << path << " does not start like an ONNX ModelProto";
}

TEST_P(ZooTest, MacsRecordIsWellFormedAndPlausible) {
  const ZooModel& model = GetParam();
  const fs::path path = ModelDir() / (std::string(model.name) + ".macs.json");
  ASSERT_TRUE(fs::is_regular_file(path)) << path << " missing; re-run scripts/export_zoo.py";
  const nlohmann::json record = nlohmann::json::parse(ReadFile(path), nullptr, false);
  ASSERT_FALSE(record.is_discarded()) << path << " is not valid JSON";

  EXPECT_EQ(record.value("model", ""), model.name);
  const std::vector<int64_t> expected_shape = {1, 3, model.input_hw, model.input_hw};
  EXPECT_EQ(record.value("input_shape", std::vector<int64_t>{}), expected_shape);
  const int64_t macs = record.value("macs", int64_t{0});
  EXPECT_GT(record.value("params", int64_t{0}), 0);

  ASSERT_TRUE(record.contains("by_type") && record["by_type"].is_object());
  int64_t by_type_sum = 0;
  for (const auto& [type, count] : record["by_type"].items()) {
    ASSERT_TRUE(count.is_number_integer()) << type;
    EXPECT_GE(count.get<int64_t>(), 0) << type;
    by_type_sum += count.get<int64_t>();
  }
  EXPECT_TRUE(record["by_type"].contains("Conv2d"));
  EXPECT_TRUE(record["by_type"].contains("Linear"));
  EXPECT_EQ(by_type_sum, macs) << "by_type must add up to macs";

  const double gmacs = static_cast<double>(macs) / 1e9;
  EXPECT_NEAR(gmacs, model.published_gmacs, 0.05 * model.published_gmacs)
      << model.name << ": counted " << gmacs << " GMACs";
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooTest, ::testing::ValuesIn(kZoo),
                         [](const ::testing::TestParamInfo<ZooModel>& info) {
                           return std::string(info.param.name);
                         });

// The zoo is listed in three places (here, export_zoo.py, setup.sh); keep them in step.
TEST(ZooLists, ScriptsExportEveryTestedModel) {
  const std::string exporter = ReadFile(fs::path(RIDGE_SOURCE_DIR) / "scripts/export_zoo.py");
  const std::string setup = ReadFile(fs::path(RIDGE_SOURCE_DIR) / "scripts/setup.sh");
  ASSERT_FALSE(exporter.empty());
  ASSERT_FALSE(setup.empty());
  for (const ZooModel& model : kZoo) {
    // Built with += rather than "lit" + std::string, which trips GCC 12's -Wrestrict.
    std::string quoted = "\"";
    quoted += model.name;
    quoted += '"';
    EXPECT_NE(exporter.find(quoted), std::string::npos)
        << model.name << " missing from export_zoo.py's ZOO";
    EXPECT_NE(setup.find(model.name), std::string::npos)
        << model.name << " missing from setup.sh's ZOO";
  }
}

}  // namespace
}  // namespace ridge
