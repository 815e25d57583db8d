// `ridge analyze --pipeline`: reading a `ridge pipeline --json` file (a real CPU run of the zoo
// resnet18, tests/report/data/), refusing bad ones by name, and the section in every rendering.
#include "report/pipeline_section.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../analysis/graph_builder.h"
#include "report/analysis_report.h"

namespace ridge::report {
namespace {

const std::string kFixture =
    std::string(RIDGE_SOURCE_DIR) + "/tests/report/data/pipeline_resnet18_cpu.json";

std::string ReadFixture() {
  std::ifstream in(kFixture);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json FixtureJson() { return nlohmann::json::parse(ReadFixture()); }

// A GPU-like run where the network is a third of the stage time.
nlohmann::json GpuLikeJson() {
  auto j = FixtureJson();
  j["device"] = "cuda";
  auto stage = [](const char* name, double total_ms) {
    return nlohmann::json{{"stage", name},
                          {"count", 10},
                          {"mean_ms", total_ms / 10},
                          {"p50_ms", total_ms / 10},
                          {"p99_ms", total_ms / 10},
                          {"total_ms", total_ms},
                          {"share", 0.0}};
  };
  j["stages"] = {stage("pre", 20), stage("H2D", 10), stage("infer", 30), stage("D2H", 10),
                 stage("post", 20)};
  return j;
}

analysis::Analysis SmallAnalysis(const char* device_name) {
  testing::GraphBuilder b;
  auto x = b.Input("x", {1, 3, 32, 32});
  auto c = b.Act("c", {1, 16, 32, 32});
  b.Conv("conv", x, c, 3, 16);
  b.Output(c);
  auto device = analysis::LoadDeviceProfile(device_name, RIDGE_DATA_DIR);
  EXPECT_TRUE(device.ok());
  auto a = analysis::Analyze(b.g, *device, Precision::kFp32, "resnet18");
  EXPECT_TRUE(a.ok());
  return *a;
}

// The error a mutated fixture gives; asserts it is InvalidModel.
std::string ErrorOf(const nlohmann::json& j) {
  auto p = ParsePipelineJson(j.dump(), "p.json");
  EXPECT_FALSE(p.ok());
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidModel) << p.status().ToString();
  return p.status().message();
}

TEST(PipelineSection, ParsesARealCpuRun) {
  auto p = ParsePipelineJson(ReadFixture(), kFixture);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model, "models/resnet18.onnx");
  EXPECT_EQ(p->device, "cpu");
  EXPECT_EQ(p->frames, 6);
  EXPECT_EQ(p->batch, 1);
  ASSERT_NE(p->Find("infer"), nullptr);
  ASSERT_NE(p->Find("decode"), nullptr);
  EXPECT_EQ(p->Find("H2D"), nullptr);  // a CPU run has no copies
  EXPECT_GT(p->throughput_fps, 0);
  EXPECT_GT(p->latency_p99_ms, 0);
  EXPECT_GE(p->latency_p99_ms, p->latency_p50_ms);
  double sum = 0;
  for (const auto& s : p->stages) sum += s.share;
  EXPECT_NEAR(sum, 1.0, 1e-9);
  EXPECT_NEAR(p->infer_share + p->decode_share + p->pre_post_share + p->copies_share, 1.0, 1e-9);
  EXPECT_EQ(p->copies_share, 0);
  // The recomputed shares agree with what `ridge pipeline` wrote.
  auto j = FixtureJson();
  for (size_t i = 0; i < p->stages.size(); ++i)
    EXPECT_NEAR(p->stages[i].share, j["stages"][i]["share"].get<double>(), 1e-9);
  EXPECT_DOUBLE_EQ(p->infer_mean_ms, p->Find("infer")->mean_ms);
}

TEST(PipelineSection, ParsesADetectRun) {
  // yolov8n, 4 synthetic frames, CPU: its post stage (decode + NMS) is measured too.
  auto p = LoadPipelineJson(
      std::string(RIDGE_SOURCE_DIR) + "/tests/report/data/pipeline_yolov8n_cpu.json",
      "models/yolov8n.onnx");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->task, "detect");
  ASSERT_NE(p->Find("post"), nullptr);
  EXPECT_GT(p->Find("post")->mean_ms, 0);
  double sum = 0;
  for (const auto& s : p->stages) sum += s.share;
  EXPECT_NEAR(sum, 1.0, 1e-9);
  EXPECT_GT(p->infer_share, 0.5);  // the network dominates on 2 CPU cores
}

TEST(PipelineSection, RefusesBadFilesByName) {
  auto j = FixtureJson();
  EXPECT_NE(ErrorOf(nlohmann::json::array()).find("not a JSON object"), std::string::npos);
  {
    auto p = ParsePipelineJson(ReadFixture().substr(0, 200), "p.json");
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.status().message().find("not valid JSON (byte"), std::string::npos)
        << p.status().message();
  }
  auto without = [&](const char* key) {
    auto k = j;
    k.erase(key);
    return ErrorOf(k);
  };
  EXPECT_NE(without("stages").find("\"stages\""), std::string::npos);
  EXPECT_NE(without("model").find("missing field \"model\""), std::string::npos);
  EXPECT_NE(without("throughput_fps").find("throughput_fps"), std::string::npos);
  EXPECT_NE(without("latency_ms").find("latency_ms"), std::string::npos);
  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto k = j;
    edit(k);
    return ErrorOf(k);
  };
  EXPECT_NE(with([](auto& k) {
              k["stages"][1].erase("mean_ms");
            }).find("stages[1]: missing field \"mean_ms\""),
            std::string::npos);
  EXPECT_NE(with([](auto& k) { k["stages"][0]["stage"] = "resize"; }).find("unknown stage"),
            std::string::npos);
  EXPECT_NE(with([](auto& k) { k["stages"][1]["stage"] = "decode"; }).find("repeats"),
            std::string::npos);
  EXPECT_NE(with([](auto& k) { k["stages"].erase(2); }).find("no \"infer\" stage"),
            std::string::npos);  // resnet18's stages: decode, pre, infer, post
  EXPECT_NE(with([](auto& k) { k["wall_ms"] = -1; }).find("finite number >= 0"), std::string::npos);
  EXPECT_NE(with([](auto& k) { k["frames"] = "6"; }).find("\"frames\" is not a number"),
            std::string::npos);
  EXPECT_NE(with([](auto& k) { k["frames"] = 0; }).find("no frames ran"), std::string::npos);
  EXPECT_NE(with([](auto& k) { k["batch"] = 1.5; }).find("whole number"), std::string::npos);
  EXPECT_NE(with([](auto& k) {
              for (auto& s : k["stages"]) s["total_ms"] = 0;
            }).find("sum to 0"),
            std::string::npos);
  EXPECT_NE(with([](auto& k) { k["latency_ms"].erase("p99"); }).find("latency_ms: missing"),
            std::string::npos);
}

TEST(PipelineSection, LoadChecksTheFileAndTheModel) {
  auto missing = LoadPipelineJson("/nonexistent/p.json", "resnet18.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/p.json"), std::string::npos);

  auto dir = LoadPipelineJson(RIDGE_SOURCE_DIR, "resnet18.onnx");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);

  auto other = LoadPipelineJson(kFixture, "models/yolov8n.onnx");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("measured 'models/resnet18.onnx', not "
                                          "'models/yolov8n.onnx'"),
            std::string::npos)
      << other.status().message();

  // Same file name elsewhere: read, with a warning.
  auto elsewhere = LoadPipelineJson(kFixture, "/some/other/dir/resnet18.onnx");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  ASSERT_EQ(elsewhere->warnings.size(), 1u);
  EXPECT_NE(elsewhere->warnings[0].find("same file name"), std::string::npos);
}

TEST(PipelineSection, WarnsWhenPredictionAndRunDiffer) {
  auto p = ParsePipelineJson(ReadFixture(), "p.json");
  ASSERT_TRUE(p.ok());
  auto same = *p;
  CheckAgainstAnalysis(SmallAnalysis("cpu"), 1, &same);
  EXPECT_TRUE(same.warnings.empty());
  auto gpu = *p;
  CheckAgainstAnalysis(SmallAnalysis("h100"), 1, &gpu);
  ASSERT_EQ(gpu.warnings.size(), 1u);
  EXPECT_NE(gpu.warnings[0].find("ran on cpu"), std::string::npos);
  auto batch = *p;
  CheckAgainstAnalysis(SmallAnalysis("cpu"), 8, &batch);
  ASSERT_EQ(batch.warnings.size(), 1u);
  EXPECT_NE(batch.warnings[0].find("--batch 1"), std::string::npos);
}

TEST(PipelineSection, TakeawaySaysWhenPrePostCopiesOutweighTheNetwork) {
  auto gpu = ParsePipelineJson(GpuLikeJson().dump(), "gpu.json");
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  EXPECT_NEAR(gpu->infer_share, 0.3333333, 1e-6);
  EXPECT_NEAR(gpu->copies_share, 0.2222222, 1e-6);
  EXPECT_NEAR(gpu->outside_share(), 0.6666667, 1e-6);
  EXPECT_EQ(PipelineTakeaway(*gpu),
            "pre+post+copies = 67% of end-to-end stage time: more than the network's 33%");
  auto cpu = ParsePipelineJson(ReadFixture(), "cpu.json");
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(PipelineTakeaway(*cpu).rfind("the network dominates", 0), 0u) << PipelineTakeaway(*cpu);
}

TEST(PipelineSection, EveryRenderingCarriesTheSection) {
  auto a = SmallAnalysis("cpu");
  auto p = ParsePipelineJson(GpuLikeJson().dump(), "gpu.json");
  ASSERT_TRUE(p.ok());
  p->warnings.push_back("odd <model> & co");

  std::string text = RenderTextSummary(a, 5, *p);
  EXPECT_NE(text.find("End to end (measured)"), std::string::npos);
  EXPECT_NE(text.find("more than the network's 33%"), std::string::npos);
  EXPECT_NE(text.find("measured / predicted"), std::string::npos);
  EXPECT_NE(text.find("warning: odd <model>"), std::string::npos);
  EXPECT_EQ(RenderTextSummary(a, 5).find("End to end"), std::string::npos);

  auto j = nlohmann::json::parse(RenderJson(a, *p));
  ASSERT_TRUE(j.contains("pipeline"));
  EXPECT_TRUE(j.contains("kernels"));  // the rest of the document is unchanged
  const auto& pj = j["pipeline"];
  for (const char* k : {"model", "device", "batch", "frames", "throughput_fps", "latency_p50_ms",
                        "latency_p99_ms", "overlap", "total_stage_ms", "stages", "network_share",
                        "pre_post_share", "copies_share", "decode_share", "measured_infer_ms",
                        "predicted_network_ms", "measured_over_predicted", "takeaway", "warnings"})
    EXPECT_TRUE(pj.contains(k)) << k;
  double sum = 0;
  for (const auto& s : pj["stages"]) sum += s["share"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-9);
  double predicted_ms = a.prediction.total_s * 1e3;
  ASSERT_GT(predicted_ms, 0);
  EXPECT_NEAR(pj["measured_over_predicted"].get<double>(), 3.0 / predicted_ms, 1e-9);
  EXPECT_FALSE(nlohmann::json::parse(RenderJson(a)).contains("pipeline"));

  std::string html = RenderHtml(a, *p);
  EXPECT_NE(html.find("<h2>End to end (measured)</h2>"), std::string::npos);
  // One rect per stage, widths summing to the bar's 1000 px.
  size_t bar_at = html.find("<svg class=\"e2e-bar\"");
  ASSERT_NE(bar_at, std::string::npos);
  std::string bar = html.substr(bar_at, html.find("</svg>", bar_at) - bar_at);
  size_t rects = 0;
  double width = 0;
  for (size_t at = bar.find("<rect x="); at != std::string::npos;
       at = bar.find("<rect x=", at + 1)) {
    ++rects;
    size_t w = bar.find("width=\"", at);
    ASSERT_NE(w, std::string::npos);
    width += std::stod(bar.substr(w + 7, 16));
  }
  EXPECT_EQ(rects, 5u);
  EXPECT_NEAR(width, 1000, 0.05);
  EXPECT_NE(html.find("odd &lt;model&gt; &amp; co"), std::string::npos);
  EXPECT_EQ(html.find("odd <model>"), std::string::npos);
  // Self-contained: no http(s) reference except the device sources' links.
  for (size_t at = html.find("http"); at != std::string::npos; at = html.find("http", at + 1)) {
    bool in_href = at >= 6 && html.compare(at - 6, 6, "href=\"") == 0;
    bool link_text = at >= 2 && html.compare(at - 2, 2, "\">") == 0;
    EXPECT_TRUE(in_href || link_text) << html.substr(at - 20, 60);
  }
  for (const char* bad : {"src=", "<link", "@import", "url(", "xmlns"})
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  EXPECT_EQ(RenderHtml(a).find("End to end"), std::string::npos);
}

}  // namespace
}  // namespace ridge::report
