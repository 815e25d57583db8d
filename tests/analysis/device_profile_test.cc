#include "analysis/device_profile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ridge::analysis {
namespace {

namespace fs = std::filesystem;

// Writes `text` as devices/<name>.json under a fresh scratch data dir and returns the dir.
std::string ScratchDataDir(const std::string& tag, const std::string& name,
                           const std::string& text) {
  fs::path dir = fs::path(RIDGE_TEST_DATA_DIR) / ("device_profile_" + tag);
  fs::remove_all(dir);
  fs::create_directories(dir / "devices");
  std::ofstream(dir / "devices" / (name + ".json")) << text;
  return dir.string();
}

TEST(DeviceProfile, EveryShippedProfileLoadsWithSources) {
  auto names = ListDeviceProfiles(RIDGE_DATA_DIR);
  ASSERT_GE(names.size(), 11u);
  for (const std::string& name : names) {
    auto p = LoadDeviceProfile(name, RIDGE_DATA_DIR);
    ASSERT_TRUE(p.ok()) << name << ": " << p.status().ToString();
    EXPECT_EQ(p->name, name);
    EXPECT_GT(p->peak_fp32_flops_per_s, 0) << name;
    EXPECT_GT(p->memory_bytes_per_s, 0) << name;
    EXPECT_GT(p->launch_overhead_s, 0) << name;
    // 7 figures + the alignment, each with a source (and the optional kernel model's figures,
    // each with its own, in calibrated profiles).
    const size_t model_figures = name.find("calibrated") != std::string::npos ? 5 : 0;
    EXPECT_EQ(p->sources.size(), 8u + model_figures) << name;
    if (model_figures) {
      EXPECT_GT(p->sm_count, 0) << name;
      EXPECT_GT(p->kernel_floor_s, 0) << name;
    }
    for (const auto& s : p->sources) EXPECT_GT(s.size(), 20u) << name << ": " << s;
    EXPECT_GE(p->PeakFlopsPerS(Precision::kFp16), p->PeakFlopsPerS(Precision::kFp32)) << name;
  }
}

TEST(DeviceProfile, H100FiguresAndAliases) {
  auto p = LoadDeviceProfile("h100", RIDGE_DATA_DIR);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "h100-sxm");
  EXPECT_DOUBLE_EQ(p->PeakFlopsPerS(Precision::kFp16), 989.4e12);
  EXPECT_DOUBLE_EQ(p->PeakFlopsPerS(Precision::kFp32), 67e12);
  EXPECT_DOUBLE_EQ(p->memory_bytes_per_s, 3.35e12);
  EXPECT_NEAR(p->RidgePoint(Precision::kFp16), 295.3, 0.5);  // BENCHMARKS.md: ~295
  auto a100 = LoadDeviceProfile("a100", RIDGE_DATA_DIR);
  ASSERT_TRUE(a100.ok());
  EXPECT_EQ(a100->name, "a100-sxm");
}

TEST(DeviceProfile, MissingTensorCoreModesFallBack) {
  auto t4 = LoadDeviceProfile("t4", RIDGE_DATA_DIR);
  ASSERT_TRUE(t4.ok());
  EXPECT_DOUBLE_EQ(t4->PeakFlopsPerS(Precision::kTf32), t4->peak_fp32_flops_per_s);
  auto cpu = LoadDeviceProfile("cpu", RIDGE_DATA_DIR);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->kind, "cpu");
  EXPECT_DOUBLE_EQ(cpu->PeakFlopsPerS(Precision::kFp16), cpu->peak_fp32_flops_per_s);
}

TEST(DeviceProfile, UnknownNameListsAvailable) {
  auto p = LoadDeviceProfile("nonexistent-gpu", RIDGE_DATA_DIR);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("h100-sxm"), std::string::npos);
}

TEST(DeviceProfile, GarbageJsonIsAnError) {
  auto dir = ScratchDataDir("garbage", "bad", "{ this is not json");
  auto p = LoadDeviceProfile("bad", dir);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("not valid JSON"), std::string::npos);
}

TEST(DeviceProfile, MissingAndWrongFieldsAreNamed) {
  auto dir = ScratchDataDir("missing", "bad",
                            R"({"name":"bad","display_name":"x","kind":"gpu","sources":{}})");
  auto p = LoadDeviceProfile("bad", dir);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("peak_fp32_flops_per_s"), std::string::npos);

  dir = ScratchDataDir("string", "bad", R"({"name":"bad","display_name":"x","kind":"gpu",
      "sources":{}, "peak_fp32_flops_per_s":"fast"})");
  p = LoadDeviceProfile("bad", dir);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("must be a number"), std::string::npos);

  dir = ScratchDataDir("kind", "bad", R"({"name":"bad","display_name":"x","kind":"tpu"})");
  p = LoadDeviceProfile("bad", dir);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("kind"), std::string::npos);

  dir = ScratchDataDir("array", "bad", "[1,2,3]");
  p = LoadDeviceProfile("bad", dir);
  ASSERT_FALSE(p.ok());
}

TEST(DeviceProfile, UnsourcedFigureIsRejected) {
  auto text = R"({"name":"x","display_name":"x","kind":"gpu","peak_fp32_flops_per_s":1e12,
    "peak_tf32_flops_per_s":0,"peak_fp16_flops_per_s":0,"peak_int8_ops_per_s":0,
    "memory_bytes_per_s":1e11,"l2_bytes":1,"launch_overhead_s":1e-6,
    "tensor_core_align_fp16":8,"tensor_core_align_int8":16,
    "sources":{"peak_fp32_flops_per_s":"a datasheet"}})";
  auto dir = ScratchDataDir("unsourced", "x", text);
  auto p = LoadDeviceProfile("x", dir);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("peak_tf32_flops_per_s"), std::string::npos);
  EXPECT_NE(p.status().message().find("sources"), std::string::npos);
}

TEST(DeviceProfile, NegativeBandwidthIsRejected) {
  auto dir = ScratchDataDir("negative", "x", R"({"name":"x","display_name":"x","kind":"gpu",
    "sources":{"peak_fp32_flops_per_s":"s"},"peak_fp32_flops_per_s":-1})");
  auto p = LoadDeviceProfile("x", dir);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("positive"), std::string::npos);
}

}  // namespace
}  // namespace ridge::analysis
