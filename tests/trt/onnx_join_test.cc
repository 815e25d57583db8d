// The --onnx join: engine layers named after one export's nodes resolved against a model with
// another export's names, FLOPs summed from the cost model, unmatched layers listed.
#include "trt/onnx_join.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../analysis/graph_builder.h"
#include "analysis/device_profile.h"
#include "onnx/loader.h"
#include "trt/engine_render.h"
#include "trt_samples.h"

namespace ridge::trt {
namespace {

// x -> conv1 -> relu -> conv2 -> Add(+x) -> relu_1, with torch>=1.13 path-style names.
ridge::testing::GraphBuilder Block() {
  ridge::testing::GraphBuilder b;
  auto x = b.Input("x", {1, 16, 8, 8});
  auto c1 = b.Act("c1", {1, 16, 8, 8}), r1 = b.Act("r1", {1, 16, 8, 8});
  auto c2 = b.Act("c2", {1, 16, 8, 8}), a = b.Act("a", {1, 16, 8, 8});
  auto y = b.Act("y", {1, 16, 8, 8});
  b.Conv("/conv1/Conv", x, c1, 16, 16);
  b.Op("Relu", "/relu/Relu", {c1}, {r1});
  b.Conv("/conv2/Conv", r1, c2, 16, 16);
  b.Op("Add", "/Add", {c2, x}, {a});
  b.Op("Relu", "/relu_1/Relu", {a}, {y});
  b.Output(y);
  return b;
}

// A hand-written layer-info export of the same block at batch 4, named by an older exporter.
std::string LayerInfo(const std::string& l1, const std::string& l2) {
  const std::string t = R"("Format/Datatype": "Row major linear FP32")";
  auto tensor = [&](const std::string& name) {
    return R"({"Name": ")" + name + R"(", "Dimensions": [4, 16, 8, 8], )" + t + "}";
  };
  auto conv = [&](const std::string& name, const std::string& in, const std::string& out) {
    return R"({"Name": ")" + name +
           R"(", "LayerType": "CaskConvolution", "ParameterType": "Convolution", "Inputs": [)" +
           tensor(in) + R"(], "Outputs": [)" + tensor(out) +
           R"(], "Kernel": [3, 3], "NbOutputMaps": 16, "Groups": 1})";
  };
  return R"({"Layers": [)" + conv(l1, "x", "r1") + "," + conv(l2, "r1", "y") +
         R"(, {"Name": "reshape_after_Gemm_48", "LayerType": "Shuffle", "Inputs": [)" +
         tensor("y") + R"(], "Outputs": [)" + tensor("z") +
         R"(]}, {"Name": "Softmax_9", "LayerType": "Softmax", "Inputs": [)" + tensor("z") +
         R"(], "Outputs": [)" + tensor("out") + "]}]}";
}

struct Joined {
  EngineData engine;
  EngineReport report;
  analysis::Analysis analysis;
  OnnxJoin join;
};

void Join(const std::string& l1, const std::string& l2, Joined* out) {
  auto layers = ParseLayerInfo(LayerInfo(l1, l2), "inline");
  ASSERT_TRUE(layers.ok()) << layers.status().ToString();
  out->engine.layers = *layers;
  out->engine.timing.resize(layers->size());
  out->report = AnalyzeEngine(out->engine, nullptr);
  EXPECT_EQ(EngineBatch(out->engine), 4);
  auto device = analysis::LoadDeviceProfile("a100-pcie", RIDGE_DATA_DIR);
  ASSERT_TRUE(device.ok()) << device.status().ToString();
  ridge::testing::GraphBuilder b = Block();
  ASSERT_TRUE(PrepareModelForEngine(b.g, EngineBatch(out->engine)).ok());
  EXPECT_EQ(b.g.value(*b.g.FindValue("y")).shape->ToInts()->at(0), 4);
  auto a = analysis::Analyze(b.g, *device, EnginePrecision(out->report), "block");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  out->analysis = std::move(a).value();
  out->join = JoinOnnx(out->report, b.g, out->analysis, 4);
}

double CostOf(const analysis::Analysis& a, const std::string& name) {
  for (const auto& r : a.costs.nodes)
    if (r.name == name) return r.cost.flops;
  ADD_FAILURE() << "no node " << name;
  return 0;
}

TEST(OnnxJoin, IndexedNamesResolveByRankAndFlopsSumTheCostModel) {
  Joined j;
  ASSERT_NO_FATAL_FAILURE(Join("Conv_0 + Relu_1", "Conv_2 + Add_3 + Relu_4", &j));
  EXPECT_EQ(j.join.precision, Precision::kFp32);
  EXPECT_EQ(j.join.candidate_layers, 4);
  EXPECT_EQ(j.join.matched_layers, 2);
  EXPECT_EQ(j.join.nodes_by_rank, 5);
  EXPECT_EQ(j.join.nodes_by_name, 0);
  const LayerJoin& first = j.join.layers[0];
  ASSERT_EQ(first.node_names.size(), 2u);
  EXPECT_EQ(first.node_names[0], "/conv1/Conv");
  EXPECT_EQ(first.node_names[1], "/relu/Relu");
  const double conv = 2.0 * 4 * 16 * 8 * 8 * 16 * 9;  // batch 4 bound from the engine
  EXPECT_DOUBLE_EQ(CostOf(j.analysis, "/conv1/Conv"), conv);
  EXPECT_DOUBLE_EQ(first.onnx_flops,
                   CostOf(j.analysis, "/conv1/Conv") + CostOf(j.analysis, "/relu/Relu"));
  EXPECT_DOUBLE_EQ(j.join.layers[1].onnx_flops, CostOf(j.analysis, "/conv2/Conv") +
                                                    CostOf(j.analysis, "/Add") +
                                                    CostOf(j.analysis, "/relu_1/Relu"));
  // Every node is covered, so the layers' shares add up to the whole prediction.
  EXPECT_DOUBLE_EQ(j.join.matched_flops, j.analysis.costs.totals.flops);
  EXPECT_NEAR(j.join.matched_predicted_ms, j.analysis.prediction.total_s * 1e3, 1e-9);
  EXPECT_GT(first.predicted_ms, 0);
  EXPECT_EQ(j.join.uncovered_compute_nodes, 0);
  ASSERT_EQ(j.join.unmatched_layers.size(), 2u);
  EXPECT_NE(j.join.unmatched_layers[0].find("reshape_after_Gemm_48 (no ONNX node names"),
            std::string::npos);
  EXPECT_NE(j.join.unmatched_layers[1].find("Softmax_9 (not in the model: Softmax_9)"),
            std::string::npos);
}

TEST(OnnxJoin, PathNamesMatchExactly) {
  Joined j;
  ASSERT_NO_FATAL_FAILURE(Join("/conv1/Conv + /relu/Relu", "/conv2/Conv + /Add", &j));
  EXPECT_EQ(j.join.matched_layers, 2);
  EXPECT_EQ(j.join.nodes_by_name, 4);
  EXPECT_EQ(j.join.nodes_by_rank, 0);
  // relu_1 is named by no layer: listed as uncovered ONNX work.
  EXPECT_EQ(j.join.uncovered_compute_nodes, 1);
  EXPECT_DOUBLE_EQ(j.join.uncovered_flops, CostOf(j.analysis, "/relu_1/Relu"));
}

TEST(OnnxJoin, RankIsNotTrustedWhenCountsDiffer) {
  Joined j;
  // Three Convs named, the model has two: pairing by rank would be a guess.
  ASSERT_NO_FATAL_FAILURE(Join("Conv_0 + Relu_1", "Conv_2 + Conv_5 + Add_3 + Relu_4", &j));
  EXPECT_EQ(j.join.layers[0].node_names, std::vector<std::string>{"/relu/Relu"});
  EXPECT_EQ(j.join.layers[1].node_names, (std::vector<std::string>{"/Add", "/relu_1/Relu"}));
  EXPECT_EQ(j.join.layers[1].unresolved.size(), 2u);
}

TEST(OnnxJoin, RendersColumnsJsonAndHtml) {
  Joined j;
  ASSERT_NO_FATAL_FAILURE(Join("Conv_0 + Relu_1", "Conv_2 + Add_3 + Relu_4", &j));
  const std::string text = RenderEngineText(j.report, 10, &j.join);
  EXPECT_NE(text.find("onnxGFLOP"), std::string::npos);
  EXPECT_NE(text.find("2 of 4 engine layers matched"), std::string::npos) << text;
  const auto json = nlohmann::json::parse(RenderEngineJson(j.report, &j.join));
  EXPECT_EQ(json["onnx_join"]["matched_layers"], 2);
  EXPECT_EQ(json["layers"][0]["onnx"]["nodes"][0], "/conv1/Conv");
  EXPECT_DOUBLE_EQ(json["layers"][0]["onnx"]["flops"].get<double>(), j.join.layers[0].onnx_flops);
  const std::string html = RenderEngineHtml(j.report, nullptr, &j.join);
  EXPECT_NE(html.find("<th>ONNX GFLOP</th>"), std::string::npos);
  // Without a join nothing changes.
  EXPECT_EQ(RenderEngineText(j.report, 10).find("onnxGFLOP"), std::string::npos);
}

// The real sample: an A100 FP16 ResNet-18 engine named by an old exporter ("Conv_0"), against
// the zoo's ResNet-18 (torch 1.13 export, "/conv1/Conv"). Op counts agree, so ranks pair them.
TEST(OnnxJoin, SampleResnet18AgainstZooModel) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  const std::string model = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " absent (scripts/export_zoo.py)";
  EngineData e = testing::LoadSample(testing::ResnetStem("fp16"));
  auto device = analysis::LoadDeviceProfile("a100-pcie", RIDGE_DATA_DIR);
  ASSERT_TRUE(device.ok());
  EngineReport r = AnalyzeEngine(e, &*device);
  auto g = onnx::LoadModel(model);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(EngineBatch(e), 32);
  ASSERT_TRUE(PrepareModelForEngine(*g, 32).ok());
  EXPECT_EQ(EnginePrecision(r), Precision::kFp16);
  auto a = analysis::Analyze(*g, *device, Precision::kFp16, "resnet18");
  ASSERT_TRUE(a.ok());
  OnnxJoin j = JoinOnnx(r, *g, *a, 32);
  // 24 layers besides layout copies; reshape_after_Gemm_48 is a NoOp, so 23 candidates.
  EXPECT_EQ(j.candidate_layers, 23);
  EXPECT_EQ(j.matched_layers, 23);
  EXPECT_TRUE(j.unmatched_layers.empty()) << ::testing::PrintToString(j.unmatched_layers);
  EXPECT_EQ(j.nodes_by_rank, 48);  // 20 Conv + 17 Relu + 8 Add + 3 pools/Gemm
  EXPECT_EQ(j.nodes_by_name, 0);
  // Convs, pools and the Gemm are all named: only free nodes (Flatten) stay uncovered.
  EXPECT_EQ(j.uncovered_compute_nodes, 0);
  EXPECT_NEAR(j.matched_flops / a->costs.totals.flops, 1.0, 1e-9);
  // Kept for a look at the figures (docs/trt.md quotes them).
  std::filesystem::create_directories(RIDGE_TEST_DATA_DIR "/trt");
  std::ofstream(RIDGE_TEST_DATA_DIR "/trt/resnet18_fp16_join.txt") << RenderEngineText(r, 8, &j);
}

}  // namespace
}  // namespace ridge::trt
