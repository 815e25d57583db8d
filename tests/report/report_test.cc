#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "../analysis/graph_builder.h"
#include "report/analysis_report.h"
#include "report/roofline_svg.h"

namespace ridge::report {
namespace {

analysis::Analysis SmallAnalysis() {
  testing::GraphBuilder b;
  auto x = b.Input("x", {1, 3, 32, 32});
  auto c = b.Act("c", {1, 16, 32, 32}), r = b.Act("r", {1, 16, 32, 32});
  b.Conv("conv<&>", x, c, 3, 16);
  b.Op("Relu", "relu", {c}, {r});
  b.Output(r);
  auto device = analysis::LoadDeviceProfile("h100", RIDGE_DATA_DIR);
  EXPECT_TRUE(device.ok());
  auto a = analysis::Analyze(b.g, *device, Precision::kFp16, "small");
  EXPECT_TRUE(a.ok());
  return *a;
}

TEST(Report, JsonHasDocumentedKeys) {
  auto j = nlohmann::json::parse(RenderJson(SmallAnalysis()));
  EXPECT_EQ(j["schema_version"], kAnalysisSchemaVersion);
  for (const char* k : {"model", "precision", "device", "totals", "kinds", "nodes", "kernels",
                        "lints", "missing_cost_ops"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"num_nodes", "num_kernels", "params", "flops", "macs", "bytes_read",
                        "weight_bytes", "bytes_written", "predicted_time_s", "launch_time_s"})
    EXPECT_TRUE(j["totals"].contains(k)) << k;
  ASSERT_EQ(j["nodes"].size(), 2u);
  for (const char* k : {"id", "name", "op_type", "kind", "flops", "bytes_read", "weight_bytes",
                        "bytes_written", "intensity_flops_per_byte", "folded", "kernel"})
    EXPECT_TRUE(j["nodes"][0].contains(k)) << k;
  ASSERT_EQ(j["kernels"].size(), 1u);
  for (const char* k : {"members", "flops", "predicted_time_s", "bound", "compute_s", "memory_s",
                        "launch_s", "tensor_core"})
    EXPECT_TRUE(j["kernels"][0].contains(k)) << k;
  EXPECT_EQ(j["kernels"][0]["members"].size(), 2u);
  EXPECT_GT(j["totals"]["flops"].get<double>(), 0);
}

TEST(Report, HtmlIsSelfContained) {
  std::string html = RenderHtml(SmallAnalysis());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("<circle class=\"point\""), std::string::npos);
  EXPECT_NE(html.find("conv&lt;&amp;&gt;"), std::string::npos);  // names are escaped
  EXPECT_EQ(html.find("conv<&>"), std::string::npos);
  // Every URL is a source link the reader may follow; nothing is fetched.
  for (size_t at = html.find("http"); at != std::string::npos; at = html.find("http", at + 1)) {
    bool in_href = at >= 6 && html.compare(at - 6, 6, "href=\"") == 0;
    bool link_text = at >= 2 && html.compare(at - 2, 2, "\">") == 0;
    EXPECT_TRUE(in_href || link_text) << html.substr(at - 20, 60);
  }
  for (const char* bad : {"src=", "<link", "@import", "url("})
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
}

TEST(Report, TextSummaryAndSpearman) {
  std::string text = RenderTextSummary(SmallAnalysis(), 5);
  EXPECT_NE(text.find("predicted"), std::string::npos);
  EXPECT_NE(text.find("Conv+Relu"), std::string::npos);
  EXPECT_DOUBLE_EQ(SpearmanCorrelation({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(SpearmanCorrelation({1, 2, 3, 4}, {40, 30, 20, 10}), -1.0);
  EXPECT_NEAR(SpearmanCorrelation({1, 2, 3}, {1, 3, 2}), 0.5, 1e-12);
}

TEST(Report, RooflineSvgSurvivesOddInput) {
  RooflineChart chart;
  chart.title = "t";
  chart.points.push_back({"zero", 0, 0, "memory"});
  chart.points.push_back({"nan", std::nan(""), 1e9, "memory"});
  std::string svg = RenderRooflineSvg(chart, -5, 1e9);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(HtmlEscape("<a href='x'>&\""), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
}

}  // namespace
}  // namespace ridge::report
