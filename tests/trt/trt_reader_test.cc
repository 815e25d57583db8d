// Readers of trtexec's exports: formats, fused names, key spellings, sibling files, and that on
// every sample engine the per-layer times add up to the profile's total.
#include <gtest/gtest.h>

#include <cmath>

#include "trt/engine_analysis.h"
#include "trt/engine_data.h"
#include "trt_samples.h"

namespace ridge::trt {
namespace {

TEST(TrtFormat, DecodesProseAndShortForms) {
  TensorFormat f = ParseFormat("Channel major FP16 format where channel % 8 == 0");
  EXPECT_EQ(f.elem, ElemType::kFp16);
  EXPECT_EQ(f.channel_multiple, 8);
  EXPECT_TRUE(f.channel_last);
  f = ParseFormat("Thirty-two wide channel vectorized row major Int8 format");
  EXPECT_EQ(f.elem, ElemType::kInt8);
  EXPECT_EQ(f.channel_multiple, 32);
  f = ParseFormat("Four wide channel vectorized row major Int8 format");
  EXPECT_EQ(f.channel_multiple, 4);
  f = ParseFormat("Row major linear FP32");
  EXPECT_EQ(f.elem, ElemType::kFp32);
  EXPECT_EQ(f.channel_multiple, 1);
  f = ParseFormat("Int8 NC/32HW32");
  EXPECT_EQ(f.elem, ElemType::kInt8);
  EXPECT_EQ(f.channel_multiple, 32);
  f = ParseFormat("FP16 NHWC8");
  EXPECT_EQ(f.elem, ElemType::kFp16);
  EXPECT_EQ(f.channel_multiple, 8);
  f = ParseFormat("BF16 NCHW");
  EXPECT_EQ(f.elem, ElemType::kBf16);
  EXPECT_EQ(ParseFormat("something else").elem, ElemType::kUnknown);
  EXPECT_EQ(ParseFormat("FP16 format where channel % 999 == 0").channel_multiple, 1);
}

TEST(TrtFusedNames, ListsOnnxNodesOnly) {
  auto nodes =
      FusedOnnxNodes("layer1.0.conv2.weight + QuantizeLinear_32 + Conv_34 + Add_36 + Relu_37");
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[0].name, "QuantizeLinear_32");
  EXPECT_EQ(nodes[1].op_type, "Conv");
  EXPECT_EQ(nodes[1].index, 34);
  EXPECT_EQ(nodes[3].name, "Relu_37");
  nodes = FusedOnnxNodes("features.1.conv.0.0.weight + QuantizeLinear_21 + Conv_23 + PWN(Clip_27)");
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[2].name, "Clip_27");
  nodes = FusedOnnxNodes("PWN(PWN(Sigmoid_5), Mul_6)");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[1].name, "Mul_6");
  EXPECT_TRUE(FusedOnnxNodes("Reformatting CopyNode for Input Tensor 0 to Conv_5 + Add_6").empty());
  EXPECT_TRUE(FusedOnnxNodes("copied_squeeze_after_(Unnamed Layer* 355) [ElementWise]").empty());
  nodes = FusedOnnxNodes("/layer1/layer1.0/conv1/Conv + /layer1/layer1.0/relu/Relu");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].op_type, "Conv");
  EXPECT_EQ(nodes[1].name, "/layer1/layer1.0/relu/Relu");
}

TEST(TrtTactic, TensorCoreVerdicts) {
  std::string why;
  EXPECT_EQ(TacticUsesTensorCores("ampere_h16816cudnn_128x128_ldg8_relu", &why),
            TensorCoreUse::kYes);
  EXPECT_EQ(why, "h16816");
  EXPECT_EQ(TacticUsesTensorCores("turing_fp16_i8816cudnn_int8_128x128", &why),
            TensorCoreUse::kYes);
  EXPECT_EQ(TacticUsesTensorCores("sm80_xmma_fprop_implicit_gemm_f16f16_f16f16_f16_nhwc", &why),
            TensorCoreUse::kYes);
  EXPECT_EQ(TacticUsesTensorCores("ampere_fp32_icudnn_int8x4_128x64_relu_medium_nn_v1", &why),
            TensorCoreUse::kNo);
  EXPECT_EQ(TacticUsesTensorCores("ampere_scudnn_128x64_relu_xregs_large_nn_v1", &why),
            TensorCoreUse::kNo);
  EXPECT_EQ(TacticUsesTensorCores("sm50_xmma_pooling_fw_4d_FP16FP32NHWC_Average", &why),
            TensorCoreUse::kNo);
  EXPECT_EQ(TacticUsesTensorCores("", &why), TensorCoreUse::kUnknown);
}

TEST(TrtReader, AcceptsOtherKeySpellingsAndNamesOnly) {
  auto layers = ParseLayerInfo(R"([{"Name":"Conv_1","Type":"CaskConvolution",
      "Inputs":[{"Name":"x","Dims":[1,3,8,8],"Format":"FP16 NHWC8"}],
      "Outputs":[{"Name":"y","Dims":[1,16,8,8],"Format":"FP16 NHWC8"}],
      "Kernel":[3,3],"Groups":1,"SomethingNew":{"a":1}}, "Relu_2"])",
                               "inline");
  ASSERT_TRUE(layers.ok()) << layers.status().ToString();
  ASSERT_EQ(layers->size(), 2u);
  EXPECT_EQ((*layers)[0].layer_type, "CaskConvolution");
  EXPECT_EQ((*layers)[0].inputs[0].format.channel_multiple, 8);
  EXPECT_EQ((*layers)[1].name, "Relu_2");
  auto profile = ParseProfile(R"([{"count":4},{"name":"Conv_1","timeMs":2.0}])", "inline");
  ASSERT_TRUE(profile.ok());
  EXPECT_DOUBLE_EQ(profile->layers[0].average_ms, 0.5);  // timeMs / count
  EXPECT_DOUBLE_EQ(profile->layers[0].percentage, 100.0);
}

TEST(TrtReader, FindsSiblingsFromAnyFileOrFolder) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  const std::string stem = testing::ResnetStem("qat");
  for (const std::string& p :
       {stem + ".graph.json", stem + ".profile.json", stem + ".profile.metadata.json", stem}) {
    auto f = LocateEngineFiles(p);
    ASSERT_TRUE(f.ok()) << p << ": " << f.status().ToString();
    EXPECT_EQ(f->layers, stem + ".graph.json");
    EXPECT_EQ(f->profile, stem + ".profile.json");
    EXPECT_EQ(f->run_meta, stem + ".profile.metadata.json");
  }
  auto f = LocateEngineFiles(testing::SampleDir() + "/pytorch/resnet/A100/qat");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->layers, stem + ".graph.json");
  EXPECT_FALSE(LocateEngineFiles(testing::SampleDir() + "/mobilenet").ok());  // two engines there
  EXPECT_EQ(LocateEngineFiles("/nonexistent/x.graph.json").status().code(), StatusCode::kNotFound);
}

TEST(TrtReader, PerLayerTimesAddUpToProfileTotalOnEverySample) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  for (const std::string& stem : testing::AllSampleStems()) {
    SCOPED_TRACE(stem);
    EngineData e = testing::LoadSample(stem);
    ASSERT_TRUE(e.has_profile);
    ASSERT_TRUE(e.has_summary);
    ASSERT_GT(e.profile.iterations, 0);
    // Every profiled layer joined to a layer-info layer, and the totals agree three ways: the
    // report's sum, the profile's sum of averages, and the total time / iteration count.
    EngineReport r = AnalyzeEngine(e, nullptr);
    double total_time = 0, pct = 0;
    for (const LayerTiming& t : e.profile.layers) total_time += t.total_ms, pct += t.percentage;
    EXPECT_EQ(e.profile.layers.size(), e.layers.size());
    EXPECT_NEAR(r.total_ms, e.profile.TotalAverageMs(), 1e-9);
    EXPECT_NEAR(r.total_ms, total_time / static_cast<double>(e.profile.iterations),
                1e-4 * r.total_ms);
    EXPECT_NEAR(pct, 100.0, 0.01);
    double shares = 0;
    for (const LayerRecord& l : r.layers) shares += l.time_share;
    EXPECT_NEAR(shares, 1.0, 1e-9);
    EXPECT_NEAR(r.reformat_ms + r.quantize_ms + r.compute_ms, r.total_ms, 1e-9);  // no-ops are 0
    EXPECT_GT(e.summary.throughput_qps, 0);
  }
}

}  // namespace
}  // namespace ridge::trt
