// Malformed and truncated exports are refused cleanly: truncate every sample at many offsets and
// flip bytes; every case must be an error Status or a consistent parse, never a crash or throw.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "trt/engine_analysis.h"
#include "trt/engine_compare.h"
#include "trt/engine_data.h"
#include "trt/engine_render.h"
#include "trt_samples.h"

namespace ridge::trt {
namespace {

// A parse that succeeded must still analyze and render without trouble.
void CheckConsistent(const std::vector<EngineLayer>& layers) {
  ASSERT_FALSE(layers.empty());
  EngineData e;
  e.layers = layers;
  e.timing.resize(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) e.timing[i].average_ms = 0.001 * (i + 1);
  EngineReport r = AnalyzeEngine(e, nullptr);
  EXPECT_EQ(r.layers.size(), layers.size());
  for (const LayerRecord& l : r.layers) {
    EXPECT_GE(l.flops, 0);
    EXPECT_GE(l.bytes, 0);
  }
  EXPECT_FALSE(RenderEngineJson(r).empty());
  EngineComparison c = CompareEngines(r, r);
  size_t n = 0;
  for (const LayerPair& p : c.pairs) n += p.b_layers.size();
  EXPECT_EQ(n, layers.size());
}

TEST(TrtRobustness, RefusesBrokenFilesWithClearErrors) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"", "not valid JSON"},
      {"{\"Layers\": [", "not valid JSON"},
      {"{}", "no \"Layers\""},
      {"{\"Layers\": 5}", "no \"Layers\""},
      {"{\"Layers\": []}", "no layers"},
      {"{\"Layers\": [42]}", "not an object"},
      {"{\"Layers\": [{\"LayerType\": \"Reformat\"}]}", "has no name"},
  };
  for (const Case& c : cases) {
    auto r = ParseLayerInfo(c.text, "x.graph.json");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidModel) << c.text;
    EXPECT_NE(r.status().ToString().find(c.needle), std::string::npos) << r.status().ToString();
    EXPECT_NE(r.status().ToString().find("x.graph.json"), std::string::npos);
  }
  EXPECT_FALSE(ParseProfile("[{\"count\": 1}]", "p").ok());
  EXPECT_FALSE(ParseProfile("[{\"name\": \"a\"}]", "p").ok());  // no time at all
  EXPECT_FALSE(ParseProfile("[{\"count\": -3}, {\"name\": \"a\", \"timeMs\": 1}]", "p").ok());
  EXPECT_FALSE(ParseRunSummary("{\"x\": 1}", "", "m").ok());
}

TEST(TrtRobustness, HostileValuesDoNotOverflowOrAllocate) {
  // Huge, negative, fractional and wrongly-typed dims: parsed as unknown, never multiplied out.
  auto r = ParseLayerInfo(R"({"Layers":[{"Name":"Conv_1","LayerType":"CaskConvolution",
      "ParameterType":"Convolution","Groups":0,"Kernel":[1e300, -5],
      "Inputs":[{"Name":"x","Dimensions":[9e18,3,224,224],"Format/Datatype":"Int8 NC/32HW32"}],
      "Outputs":[{"Name":"y","Dimensions":[1,"64",-1,7],"Format/Datatype":"FP16"}],
      "Weights":{"Type":"Int8","Count":-7}}]})",
                          "hostile");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckConsistent(*r);
  EXPECT_TRUE((*r)[0].inputs[0].dims.empty());
  EXPECT_EQ((*r)[0].groups, 1);
  EXPECT_EQ((*r)[0].weight_count, 0);
}

TEST(TrtRobustness, TruncatedAndBitFlippedSamples) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  std::mt19937 rng(1234);  // fixed seed: the same cases every run
  int errors = 0, parsed = 0;
  for (const std::string& stem : {testing::ResnetStem("qat"),
                                  testing::SampleDir() + "/mobilenet/mobilenet.qat.onnx.engine"}) {
    auto graph = ReadTextFile(stem + ".graph.json");
    auto profile = ReadTextFile(stem + ".profile.json");
    auto meta = ReadTextFile(stem + ".profile.metadata.json");
    ASSERT_TRUE(graph.ok() && profile.ok() && meta.ok());
    // Truncation at ~150 offsets spread over each file (plus the first and last bytes).
    for (const std::string* text : {&*graph, &*profile, &*meta}) {
      const size_t step = std::max<size_t>(1, text->size() / 150);
      for (size_t cut = 0; cut < text->size(); cut += step) {
        std::string t = text->substr(0, cut);
        // Cutting only trailing whitespace leaves the whole document.
        if (text->find_first_not_of(" \n\r\t", cut) == std::string::npos) continue;
        auto a = ParseLayerInfo(t, "t");
        auto b = ParseProfile(t, "t");
        auto c = ParseRunSummary(t, "", "t");
        // A prefix of a JSON document is never itself a complete document here.
        EXPECT_FALSE(a.ok() || b.ok() || c.ok()) << "cut at " << cut;
        errors += 3;
      }
    }
    // Byte flips: each case is an error or a parse that analyzes consistently.
    for (int i = 0; i < 300; ++i) {
      std::string t = *graph;
      for (int k = 0; k < 1 + i % 4; ++k) t[rng() % t.size()] = static_cast<char>(rng() & 0xff);
      auto a = ParseLayerInfo(t, "flip");
      if (a.ok()) {
        CheckConsistent(*a);
        ++parsed;
      } else {
        EXPECT_EQ(a.status().code(), StatusCode::kInvalidModel);
        ++errors;
      }
      std::string p = *profile;
      p[rng() % p.size()] = static_cast<char>(rng() & 0xff);
      auto pp = ParseProfile(p, "flip");
      if (pp.ok()) {
        for (const LayerTiming& lt : pp->layers) EXPECT_TRUE(std::isfinite(lt.average_ms));
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(parsed, 0);  // some flips land inside strings and still parse
}

}  // namespace
}  // namespace ridge::trt
