// Frame sources, and `ridge pipeline` end to end on the CPU backend (yolov8n from the zoo; the
// model tests skip when it has not been exported).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vision/frame_source.h"

namespace fs = std::filesystem;

namespace ridge::vision {
namespace {

const std::string kSeeds = std::string(RIDGE_SOURCE_DIR) + "/tests/fuzz/seeds/image_decode/";

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("ridge_pipeline_" + name + "_" +
                  std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A folder with two good images (a.jpg, c.png) and a corrupt one between them (b.jpg).
fs::path FolderWithBadFile() {
  fs::path dir = TempDir("folder");
  fs::copy_file(kSeeds + "rgb_8x8_420.jpg", dir / "a.jpg");
  fs::copy_file(kSeeds + "rgb_3x2.png", dir / "c.png");
  std::ofstream(dir / "b.jpg", std::ios::binary) << "\xFF\xD8\xFF\xE0 not really a jpeg";
  std::ofstream(dir / "notes.txt") << "ignored";
  return dir;
}

TEST(FrameSourceTest, SyntheticIsDeterministicAndMoves) {
  auto src = MakeSyntheticSource(3);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ((*src)->size(), 3);
  Frame a, b, c;
  ASSERT_TRUE((*src)->Read(0, &a).ok());
  ASSERT_TRUE((*src)->Read(1, &b).ok());
  ASSERT_TRUE((*src)->Read(0, &c).ok());
  EXPECT_EQ(a.image.width, 1920);
  EXPECT_EQ(a.image.height, 1080);
  EXPECT_EQ(a.image.order, ChannelOrder::kBgr);
  EXPECT_EQ(a.image.data.size(), 1920u * 1080 * 3);
  EXPECT_EQ(a.image.data, c.image.data);
  EXPECT_NE(a.image.data, b.image.data);
  EXPECT_EQ(b.id, 1);
  EXPECT_FALSE((*src)->Read(3, &a).ok());
  EXPECT_FALSE((*src)->Read(-1, &a).ok());
}

TEST(FrameSourceTest, FolderIsSortedAndNamesTheCorruptFile) {
  fs::path dir = FolderWithBadFile();
  auto src = OpenFrameSource(dir.string(), {});
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_EQ((*src)->size(), 3);
  Frame f;
  ASSERT_TRUE((*src)->Read(0, &f).ok());
  EXPECT_EQ(f.image.width, 8);
  Status bad = (*src)->Read(1, &f);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("b.jpg"), std::string::npos) << bad.message();
  ASSERT_TRUE((*src)->Read(2, &f).ok());
  EXPECT_EQ(f.image.width, 3);
  fs::remove_all(dir);
}

TEST(FrameSourceTest, RawFramesAndBadSpecs) {
  fs::path dir = TempDir("raw");
  std::string bytes(4 * 2 * 3 * 2, '\0');
  bytes[0] = 7;
  std::ofstream(dir / "two.raw", std::ios::binary) << bytes;
  auto src = OpenFrameSource("raw:" + (dir / "two.raw").string() + ":4x2", {});
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->size(), 2);
  Frame f;
  ASSERT_TRUE((*src)->Read(1, &f).ok());
  EXPECT_EQ(f.image.width, 4);
  EXPECT_FALSE(OpenFrameSource("raw:" + (dir / "two.raw").string() + ":5x2", {}).ok());
  EXPECT_FALSE(OpenFrameSource("raw:" + (dir / "two.raw").string() + ":0x2", {}).ok());
  EXPECT_FALSE(OpenFrameSource("synthetic:-1", {}).ok());
  EXPECT_FALSE(OpenFrameSource("synthetic:abc", {}).ok());
  EXPECT_FALSE(OpenFrameSource("synthetic:2:99999x2", {}).ok());
  EXPECT_FALSE(OpenFrameSource((dir / "no_such_folder").string(), {}).ok());
  EXPECT_FALSE(OpenFrameSource(dir.string(), {}).ok());  // no images in it
  fs::remove_all(dir);
}

// ---- `ridge pipeline` end to end on the CPU backend ---------------------------------------

const std::string kYolo = std::string(RIDGE_MODEL_DIR) + "/yolov8n.onnx";

int RunCli(const std::string& args) {
  const std::string cmd = std::string(RIDGE_CLI_PATH) + " pipeline " + args + " > /dev/null 2>&1";
  return std::system(cmd.c_str());
}

nlohmann::json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

TEST(PipelineCliTest, Yolov8nOnCpuDeliversEveryFrameInOrder) {
  if (!fs::exists(kYolo)) GTEST_SKIP() << "no " << kYolo << " (run scripts/export_zoo.py)";
  fs::path dir = TempDir("cli");
  const fs::path json = dir / "run.json", trace = dir / "trace.json";
  ASSERT_EQ(RunCli(kYolo +
                   " --source synthetic:8 --device cpu --pre cpu --post cpu "
                   "--inflight 2 --quiet --json " +
                   json.string() + " --trace " + trace.string()),
            0);
  nlohmann::json j = ReadJson(json);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["task"], "detect");
  EXPECT_EQ(j["frames"], 8);
  ASSERT_EQ(j["results"].size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(j["results"][i]["id"], i);
  EXPECT_GT(j["throughput_fps"].get<double>(), 0);
  EXPECT_GE(j["overlap"].get<double>(), 0.5);
  std::vector<std::string> stages;
  for (const auto& s : j["stages"]) stages.push_back(s["stage"]);
  EXPECT_EQ(stages, (std::vector<std::string>{"decode", "pre", "infer", "post"}));
  nlohmann::json t = ReadJson(trace);
  ASSERT_FALSE(t.is_discarded());
  int slices = 0;
  for (const auto& e : t["traceEvents"]) slices += e["ph"] == "X";
  EXPECT_EQ(slices, 8 * 4);

  // The naive sequential run gives the same detections.
  const fs::path naive = dir / "naive.json";
  ASSERT_EQ(
      RunCli(kYolo + " --source synthetic:3 --device cpu --naive --quiet --json " + naive.string()),
      0);
  nlohmann::json n = ReadJson(naive);
  ASSERT_EQ(n["results"].size(), 3u);
  EXPECT_TRUE(n["naive_pre"] == "opencv" || n["naive_pre"] == "reference") << n["naive_pre"];
  EXPECT_TRUE(j["naive_pre"].is_null());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(n["results"][i]["detections"].size(), j["results"][i]["detections"].size());
  fs::remove_all(dir);
}

TEST(PipelineCliTest, CorruptFrameIsAnErrorOrSkipped) {
  if (!fs::exists(kYolo)) GTEST_SKIP() << "no " << kYolo << " (run scripts/export_zoo.py)";
  fs::path dir = FolderWithBadFile();
  const fs::path json = fs::temp_directory_path() / "ridge_pipeline_skip.json";
  EXPECT_NE(RunCli(kYolo + " --source " + dir.string() + " --device cpu --quiet"), 0);
  ASSERT_EQ(RunCli(kYolo + " --source " + dir.string() + " --device cpu --skip-bad --quiet " +
                   "--batch 2 --json " + json.string()),
            0);
  nlohmann::json j = ReadJson(json);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["frames"], 2);
  EXPECT_EQ(j["bad_frames"], 1);
  ASSERT_EQ(j["results"].size(), 3u);
  EXPECT_TRUE(j["results"][1].value("bad", false));
  fs::remove_all(dir);
  fs::remove(json);
}

// Batches of 4 decoded on several threads: every frame once, in order, exactly the corrupt ones
// marked, each result with its own file's size.
TEST(PipelineCliTest, ParallelDecodeKeepsOrderWithCorruptFrames) {
  if (!fs::exists(kYolo)) GTEST_SKIP() << "no " << kYolo << " (run scripts/export_zoo.py)";
  fs::path dir = TempDir("parallel");
  const char* corrupt = "\xFF\xD8\xFF\xE0 not really a jpeg";
  std::vector<int> widths;  // expected per frame; 0: corrupt
  for (int i = 0; i < 7; ++i) {
    const std::string name = "f" + std::to_string(i);
    if (i == 1 || i == 4) {
      std::ofstream(dir / (name + ".jpg"), std::ios::binary) << corrupt;
      widths.push_back(0);
    } else if (i % 2 == 0) {
      fs::copy_file(kSeeds + "rgb_8x8_420.jpg", dir / (name + ".jpg"));
      widths.push_back(8);
    } else {
      fs::copy_file(kSeeds + "rgb_3x2.png", dir / (name + ".png"));
      widths.push_back(3);
    }
  }
  const fs::path json = dir / "run.json";
  EXPECT_NE(RunCli(kYolo + " --source " + dir.string() + " --batch 4 --quiet"), 0);
  ASSERT_EQ(RunCli(kYolo + " --source " + dir.string() +
                   " --skip-bad --batch 4 --inflight 2 --quiet --json " + json.string()),
            0);
  nlohmann::json j = ReadJson(json);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["frames"], 5);
  EXPECT_EQ(j["bad_frames"], 2);
  ASSERT_EQ(j["results"].size(), 7u);
  for (int i = 0; i < 7; ++i) {
    const auto& r = j["results"][i];
    EXPECT_EQ(r["id"], i);
    EXPECT_EQ(r.value("bad", false), widths[i] == 0) << i;
    if (widths[i] != 0) {
      EXPECT_EQ(r["width"], widths[i]) << i;
    }
  }
  fs::remove_all(dir);
}

TEST(PipelineCliTest, BadFlagsAreUsageErrors) {
  if (!fs::exists(kYolo)) GTEST_SKIP() << "no " << kYolo << " (run scripts/export_zoo.py)";
  for (const char* flags : {"--inflight 0", "--batch 0", "--task segment", "--source synthetic:x",
                            "--pre gpu", "--preprocess letterbox=320"}) {
    EXPECT_NE(RunCli(kYolo + " --source synthetic:1 --device cpu " + flags), 0) << flags;
  }
}

}  // namespace
}  // namespace ridge::vision
