// Engine-file compatibility: cuda headers checked against the live environment (other GPU, SM,
// library versions refused with both values named), corrupt or truncated cuda files, and the
// preprocess / tactics sections.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/engine_file.h"
#include "runtime/engine_file_test_util.h"

namespace ridge::runtime {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------- compatibility

TEST(EngineFile, CudaEngineRefusedOnOtherGpuSmOrLibraryVersions) {
  EngineHeader h = CpuHeader();
  h.backend = "cuda";
  h.device_name = "NVIDIA A100-SXM4-80GB";
  h.sm_version = 80;
  h.cuda_version = "12.4";
  h.cudnn_version = "9.1.0";
  h.cublas_version = "12.4.5";
  h.precision = "fp16";
  std::string bytes = EngineBytes(h, SmallGraph());
  EnvironmentInfo same;
  same.backend = "cuda";
  same.ridge_version = "0.1.0";
  same.device_name = h.device_name;
  same.sm_version = 80;
  same.cuda_version = "12.4";
  same.cudnn_version = "9.1.0";
  same.cublas_version = "12.4.5";
  auto ok = LoadEngineFromBytes(bytes, "gpu.ridge", same);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->header.sm_version, 80u);
  EXPECT_EQ(ok->header.cudnn_version, "9.1.0");

  struct Case {
    const char* field;
    EnvironmentInfo env;
  };
  std::vector<Case> cases;
  for (const char* field : {"backend", "device_name", "sm_version", "cuda_version", "cudnn_version",
                            "cublas_version", "ridge_version"}) {
    EnvironmentInfo env = same;
    std::string f = field;
    if (f == "backend") env.backend = "cpu";
    if (f == "device_name") env.device_name = "NVIDIA H100 80GB HBM3";
    if (f == "sm_version") env.sm_version = 90;
    if (f == "cuda_version") env.cuda_version = "12.6";
    if (f == "cudnn_version") env.cudnn_version = "9.3.0";
    if (f == "cublas_version") env.cublas_version = "12.6.1";
    if (f == "ridge_version") env.ridge_version = "0.2.0";
    cases.push_back({field, env});
  }
  for (const Case& c : cases) {
    auto r = LoadEngineFromBytes(bytes, "gpu.ridge", c.env);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << c.field;
    EXPECT_NE(r.status().message().find(c.field), std::string::npos) << r.status().ToString();
    EXPECT_NE(r.status().message().find("rebuild"), std::string::npos) << r.status().ToString();
    EXPECT_EQ(CheckCompatible(ok->header, c.env).code(), StatusCode::kUnsupported) << c.field;
  }
  // A cpu engine ignores GPU fields.
  EnvironmentInfo cpu_env = same;
  cpu_env.backend = "cpu";
  EXPECT_TRUE(CheckCompatible(CpuHeader(), cpu_env).ok());
}

// A cuda engine as `ridge build --device cuda` writes it: the header from the build machine's
// EnvironmentInfo (runtime::LiveCudaEnvironment there), the graph, the build JSON.
EnvironmentInfo H200Env() {
  EnvironmentInfo env;
  env.backend = "cuda";
  env.ridge_version = "0.1.0";
  env.device_name = "NVIDIA H200";
  env.sm_version = 90;
  env.cuda_version = "13.0";
  env.cudnn_version = "9.19.0";
  env.cublas_version = "13.1.0";
  return env;
}

EngineHeader HeaderFor(const EnvironmentInfo& env) {
  EngineHeader h = CpuHeader();
  h.backend = env.backend;
  h.ridge_version = env.ridge_version;
  h.device_name = env.device_name;
  h.sm_version = env.sm_version;
  h.cuda_version = env.cuda_version;
  h.cudnn_version = env.cudnn_version;
  h.cublas_version = env.cublas_version;
  h.precision = "fp16";
  return h;
}

TEST(EngineFile, CudaHeaderRefusalNamesBothValues) {
  const EnvironmentInfo built = H200Env();
  std::string bytes = EngineBytes(HeaderFor(built), SmallGraph());
  auto same = LoadEngineFromBytes(bytes, "h200.ridge", built);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->header.device_name, "NVIDIA H200");
  EXPECT_EQ(same->header.cublas_version, "13.1.0");
  EXPECT_TRUE(CheckCompatible(same->header, built).ok());

  struct Case {
    std::string field, built_value, live_value;
    EnvironmentInfo env;
  };
  std::vector<Case> cases;
  auto add = [&](std::string field, std::string b, std::string l, auto mutate) {
    EnvironmentInfo env = built;
    mutate(env);
    cases.push_back({std::move(field), std::move(b), std::move(l), env});
  };
  add("device_name", "NVIDIA H200", "NVIDIA H100 80GB HBM3",
      [](EnvironmentInfo& e) { e.device_name = "NVIDIA H100 80GB HBM3"; });
  add("sm_version", "sm_90", "sm_100", [](EnvironmentInfo& e) { e.sm_version = 100; });
  add("cuda_version", "13.0", "12.8", [](EnvironmentInfo& e) { e.cuda_version = "12.8"; });
  add("cudnn_version", "9.19.0", "9.10.2", [](EnvironmentInfo& e) { e.cudnn_version = "9.10.2"; });
  add("cublas_version", "13.1.0", "13.0.2",
      [](EnvironmentInfo& e) { e.cublas_version = "13.0.2"; });
  add("backend", "cuda", "cpu", [](EnvironmentInfo& e) { e.backend = "cpu"; });
  for (const Case& c : cases) {
    Status st = CheckCompatible(same->header, c.env);
    ASSERT_EQ(st.code(), StatusCode::kUnsupported) << c.field;
    const std::string& m = st.message();
    EXPECT_EQ(m.rfind(c.field + ":", 0), 0u) << "names the field first: " << m;
    EXPECT_NE(m.find("'" + c.built_value + "'"), std::string::npos) << "built value: " << m;
    EXPECT_NE(m.find("'" + c.live_value + "'"), std::string::npos) << "live value: " << m;
    auto r = LoadEngineFromBytes(bytes, "h200.ridge", c.env);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(r.status().message().find("h200.ridge"), std::string::npos) << "names the file";
  }
  // A cuda file read by a cpu-only runtime: refused on the backend, not loaded as a cpu engine.
  EXPECT_EQ(LoadEngineFromBytes(bytes, "h200.ridge", EnvironmentInfo::Cpu()).status().code(),
            StatusCode::kUnsupported);
}

TEST(EngineFile, CorruptOrTruncatedCudaEngineIsRefused) {
  const EnvironmentInfo env = H200Env();
  const std::string bytes = EngineBytes(HeaderFor(env), SmallGraph());
  ASSERT_TRUE(LoadEngineFromBytes(bytes, "gpu.ridge", env).ok());
  // A flipped byte in a header string (device name), in the section table, and in the payload.
  const size_t name_at = bytes.find("NVIDIA H200");
  ASSERT_NE(name_at, std::string::npos);
  for (size_t at : {name_at + 7, size_t{120}, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x20);
    auto r = LoadEngineFromBytes(bad, "gpu.ridge", env);
    ASSERT_FALSE(r.ok()) << "flip at " << at;
    EXPECT_TRUE(r.status().code() == StatusCode::kDataLoss ||
                r.status().code() == StatusCode::kInvalidModel)
        << r.status().ToString();
  }
  for (size_t keep : {size_t{0}, size_t{50}, size_t{200}, bytes.size() / 2, bytes.size() - 1}) {
    auto r = LoadEngineFromBytes(std::string_view(bytes).substr(0, keep), "gpu.ridge", env);
    ASSERT_FALSE(r.ok()) << "kept " << keep;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  }
  // The same through a file on disk (what ridge run reads).
  fs::path dir = fs::path(RIDGE_TEST_DATA_DIR) / "engine_file_cuda";
  fs::create_directories(dir);
  std::string path = (dir / "truncated.ridge").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 10));
  }
  EXPECT_EQ(LoadEngineFile(path, env).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ReadEngineContainer(path).status().code(), StatusCode::kDataLoss);
}

TEST(EngineFile, PreprocessAndTacticsSections) {
  ir::Graph g = SmallGraph();
  std::vector<EngineSection> s = Sections(g);
  s.push_back({static_cast<uint32_t>(SectionType::kPreprocess), kSectionRequired,
               R"({"spec": "resize=8x8", "frame_width": 16, "frame_height": 12})"});
  s.push_back({static_cast<uint32_t>(SectionType::kTactics), 0, R"({"tactics": []})"});
  auto bytes = SerializeEngine(CpuHeader(), s);
  ASSERT_TRUE(bytes.ok());
  auto loaded = LoadEngineFromBytes(*bytes, "pre.ridge", EnvironmentInfo::Cpu());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_NE(loaded->preprocess_json.find("resize=8x8"), std::string::npos);
  EXPECT_EQ(loaded->tactics_json, R"({"tactics": []})");
  EXPECT_EQ(SectionTypeName(3), "preprocess");
  EXPECT_EQ(SectionTypeName(4), "tactics");
  // Not JSON, and twice: refused, naming the section.
  std::vector<EngineSection> bad = Sections(g);
  bad.push_back({static_cast<uint32_t>(SectionType::kPreprocess), kSectionRequired, "letterbox"});
  auto r =
      LoadEngineFromBytes(*SerializeEngine(CpuHeader(), bad), "pre.ridge", EnvironmentInfo::Cpu());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(r.status().message().find("preprocess section"), std::string::npos);
  std::vector<EngineSection> twice = s;
  twice.push_back(s[2]);
  std::swap(twice[3], twice[4]);  // keep tactics last; file order is free
  r = LoadEngineFromBytes(*SerializeEngine(CpuHeader(), twice), "pre.ridge",
                          EnvironmentInfo::Cpu());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("a second preprocess"), std::string::npos)
      << r.status().ToString();
}

}  // namespace
}  // namespace ridge::runtime
