// Per-layer figures on hand-checked layers of the sample engines, and the FP16-vs-INT8 compare.
// Expected values below were computed by hand from the JSON files (dims, formats, profile).
#include <gtest/gtest.h>

#include "analysis/device_profile.h"
#include "trt/engine_analysis.h"
#include "trt/engine_compare.h"
#include "trt/engine_render.h"
#include "trt_samples.h"

namespace ridge::trt {
namespace {

const LayerRecord* FindLayer(const EngineReport& r, const std::string& prefix) {
  for (const LayerRecord& l : r.layers)
    if (l.layer->name.rfind(prefix, 0) == 0) return &l;
  return nullptr;
}

TEST(TrtAnalysis, HandCheckedLayersOfQatResnet) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  EngineData e = testing::LoadSample(testing::ResnetStem("qat"));
  EngineReport r = AnalyzeEngine(e, nullptr);

  // layer1.0.conv1: [32,64,56,56] int8 C32 -> same, 3x3: 2*32*56*56*64*64*9 FLOPs;
  // bytes = 2 x 6,422,528 (in+out, int8) + 36,864 int8 weights + 64 fp32 biases.
  const LayerRecord* conv = FindLayer(r, "layer1.0.conv1.weight");
  ASSERT_NE(conv, nullptr);
  EXPECT_DOUBLE_EQ(conv->flops, 7398752256.0);
  EXPECT_DOUBLE_EQ(conv->bytes, 12882176.0);
  EXPECT_EQ(conv->in_elem, ElemType::kInt8);
  EXPECT_EQ(conv->tensor_core, TensorCoreUse::kYes);
  EXPECT_DOUBLE_EQ(conv->time_ms, 0.032768);
  EXPECT_NEAR(conv->achieved_flops_per_s, 7398752256.0 / 0.032768e-3, 1);
  ASSERT_EQ(conv->onnx_nodes.size(), 2u);
  EXPECT_EQ(conv->onnx_nodes[1].name, "Conv_22");

  // conv1: input [32,3,224,224] "Four wide" int8 -> 3 channels padded to 4; output fp32 row
  // major [32,64,112,112]; 7x7. Padded FLOPs are 4/3 of the real ones. dp4a, no Tensor Cores.
  const LayerRecord* conv1 = FindLayer(r, "conv1.weight");
  ASSERT_NE(conv1, nullptr);
  EXPECT_DOUBLE_EQ(conv1->flops, 2.0 * 32 * 112 * 112 * 64 * 4 * 49);
  EXPECT_DOUBLE_EQ(conv1->flops_unpadded, 2.0 * 32 * 112 * 112 * 64 * 3 * 49);
  EXPECT_DOUBLE_EQ(conv1->bytes, 32.0 * 4 * 224 * 224 + 32.0 * 64 * 112 * 112 * 4 + 9408 + 256);
  EXPECT_EQ(conv1->tensor_core, TensorCoreUse::kNo);
  EXPECT_EQ(conv1->out_elem, ElemType::kFp32);

  // Layer kinds: Q/DQ reformat, layout reformat, no-op.
  EXPECT_EQ(FindLayer(r, "QuantizeLinear_15")->kind, LayerKind::kQuantize);
  EXPECT_EQ(FindLayer(r, "Reformatting CopyNode for Output Tensor 0 to MaxPool_12")->kind,
            LayerKind::kReformat);
  EXPECT_EQ(FindLayer(r, "copied_squeeze_after_")->kind, LayerKind::kNoOp);

  // Totals from the profile: REFORMAT-origin 0.046080 ms, QDQ-origin 0.232448 ms of 1.095680.
  EXPECT_NEAR(r.total_ms, 1.09568, 1e-9);
  EXPECT_NEAR(r.reformat_ms, 0.04608, 1e-9);
  EXPECT_NEAR(r.quantize_ms, 0.232448, 1e-9);
  EXPECT_NEAR(r.ConversionShare(), 0.278528 / 1.09568, 1e-9);
  // Compute 0.817152 ms, of which conv1 (0.201728), MaxPool_12 (0.095232) and
  // GlobalAveragePool_246 (0.011264) have no Tensor Cores: coverage 0.508928 / 0.817152.
  EXPECT_NEAR(r.compute_ms, 0.817152, 1e-9);
  EXPECT_NEAR(r.TensorCoreCoverage(), 0.508928 / 0.817152, 1e-9);
}

TEST(TrtAnalysis, HandCheckedFp16ResnetAndMobilenet) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  EngineData e = testing::LoadSample(testing::ResnetStem("fp16"));
  EngineReport r = AnalyzeEngine(e, nullptr);
  // Input reformat fp32 -> fp16 NHWC %4: 0.080896 ms; output fp16 -> fp32: 0.007168 ms.
  EXPECT_NEAR(r.reformat_ms, 0.088064, 1e-9);
  EXPECT_NEAR(r.quantize_ms, 0, 1e-12);
  // Only MaxPool_2 (0.062464) and GlobalAveragePool_46 (0.009216) are off Tensor Cores.
  EXPECT_NEAR(r.TensorCoreCoverage(), (0.928768 - 0.07168) / 0.928768, 1e-9);
  const LayerRecord* first = FindLayer(r, "Conv_0 + Relu_1");
  ASSERT_NE(first, nullptr);  // "channel % 4 == 0": 3 input channels padded to 4
  EXPECT_DOUBLE_EQ(first->flops / first->flops_unpadded, 4.0 / 3.0);
  EXPECT_FALSE(first->channels_aligned);  // 3 channels is not a multiple of 8
  ASSERT_EQ(first->onnx_nodes.size(), 2u);
  EXPECT_EQ(first->onnx_nodes[1].name, "Relu_1");

  EngineData m = testing::LoadSample(testing::SampleDir() + "/mobilenet/mobilenet.qat.onnx.engine");
  EngineReport mr = AnalyzeEngine(m, nullptr);
  // Depthwise 3x3 on [1,32,112,112]: 2*112*112*32*9 FLOPs (per-group channels are not padded).
  const LayerRecord* dw = FindLayer(mr, "features.1.conv.0.0.weight");
  ASSERT_NE(dw, nullptr);
  EXPECT_EQ(dw->tensor_core, TensorCoreUse::kNo);
  EXPECT_DOUBLE_EQ(dw->flops, 2.0 * dw->layer->outputs[0].dims[0] * 112 * 112 * 32 * 9);
  EXPECT_NEAR(mr.reformat_ms, 0.00406848, 1e-8);
  EXPECT_NEAR(mr.quantize_ms, 0.07847049, 1e-8);
  ASSERT_EQ(FindLayer(mr, "features.1.conv.0.0.weight")->onnx_nodes.back().name, "Clip_33");
}

TEST(TrtAnalysis, RooflineWithDeviceProfile) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  auto device = analysis::LoadDeviceProfile("a100-pcie", RIDGE_DATA_DIR);
  if (!device.ok()) GTEST_SKIP() << "no a100-pcie device profile: " << device.status().ToString();
  EngineData e = testing::LoadSample(testing::ResnetStem("qat"));
  EngineReport r = AnalyzeEngine(e, &*device);
  EXPECT_EQ(GuessDeviceProfile(e.summary.device_name), "a100-pcie");
  for (const LayerRecord& l : r.layers) {
    if (l.kind != LayerKind::kCompute || l.time_ms <= 0) continue;
    SCOPED_TRACE(l.layer->name);
    EXPECT_GT(l.roof_flops_per_s, 0);
    EXPECT_GT(l.roof_share, 0);
    EXPECT_LT(l.roof_share, 1.0);  // nothing measured beats the device's roofline
    EXPECT_TRUE(l.bound == "memory" || l.bound == "compute");
  }
  std::string html = RenderEngineHtml(r, &*device);
  EXPECT_NE(html.find("<table>"), std::string::npos);
}

const Cause* FindCause(const EngineComparison& c, CauseKind kind, double* total) {
  *total = c.cause_ms.count(kind) ? c.cause_ms.at(kind) : 0;
  for (const LayerPair& p : c.pairs)
    for (const Cause& cause : p.causes)
      if (cause.kind == kind) return &cause;
  return nullptr;
}

TEST(TrtCompare, ExplainsWhyPlainQatResnetIsSlowerThanFp16) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  EngineData fp16 = testing::LoadSample(testing::ResnetStem("fp16"));
  EngineData qat = testing::LoadSample(testing::ResnetStem("qat"));
  EngineReport a = AnalyzeEngine(fp16, nullptr), b = AnalyzeEngine(qat, nullptr);
  EngineComparison c = CompareEngines(a, b);
  EXPECT_NE(c.pairing.find("order"), std::string::npos);  // Conv_0 vs Conv_9: names differ
  EXPECT_GT(c.b_ms, c.a_ms);
  EXPECT_DOUBLE_EQ(c.a_qps, 1155.36);
  EXPECT_DOUBLE_EQ(c.b_qps, 1130.01);
  // All 20 convs + the Gemm + both pools pair up; every layer lands in exactly one pair.
  size_t na = 0, nb = 0;
  for (const LayerPair& p : c.pairs) na += p.a_layers.size(), nb += p.b_layers.size();
  EXPECT_EQ(na, a.layers.size());
  EXPECT_EQ(nb, b.layers.size());
  double ms = 0;
  // The standalone QuantizeLinear layers: 0.232448 ms, all in pairs that did not pay.
  const Cause* qdq = FindCause(c, CauseKind::kQdqUnfused, &ms);
  ASSERT_NE(qdq, nullptr);
  EXPECT_GT(ms, 0.2);
  EXPECT_LE(ms, 0.232448 + 1e-9);
  // conv1 runs int8x4 on CUDA cores (0.201728 ms), MaxPool_12 in FP32 (0.095232 ms).
  const Cause* no_tc = FindCause(c, CauseKind::kNoTensorCores, &ms);
  ASSERT_NE(no_tc, nullptr);
  EXPECT_GE(ms, 0.201728 + 0.095232 - 1e-9);
  const Cause* prec = FindCause(c, CauseKind::kHigherPrecision, &ms);
  ASSERT_NE(prec, nullptr);
  EXPECT_NE(prec->detail.find("fp32"), std::string::npos);
  EXPECT_GT(ms, 0.3);  // conv1 + MaxPool (fp32) and the residual convs that write FP16
  const Cause* reformat = FindCause(c, CauseKind::kReformatAdded, &ms);
  ASSERT_NE(reformat, nullptr);
  EXPECT_GT(ms, 0.03);  // the MaxPool output copy and the pool's input copy
  EXPECT_GT(c.b_conversion_ms, 3 * c.a_conversion_ms);
  std::string text = RenderCompareText(c, a, b);
  for (const char* needle : {"Q/DQ left unfused", "tactics without Tensor Cores",
                             "layers left in FP16/FP32", "reformat layers added"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle;
}

TEST(TrtCompare, ResidualQuantizedVariantsPayOff) {
  RIDGE_REQUIRE_TRT_SAMPLES();
  EngineData fp16 = testing::LoadSample(testing::ResnetStem("fp16"));
  EngineReport a = AnalyzeEngine(fp16, nullptr);
  EngineData qat = testing::LoadSample(testing::ResnetStem("qat"));
  EngineComparison plain = CompareEngines(a, AnalyzeEngine(qat, nullptr));
  for (const char* variant : {"qat-residual", "qat-residual-qgap"}) {
    SCOPED_TRACE(variant);
    EngineData e = testing::LoadSample(testing::ResnetStem(variant));
    EngineReport b = AnalyzeEngine(e, nullptr);
    EngineComparison c = CompareEngines(a, b);
    EXPECT_LT(c.b_ms, 0.75 * c.a_ms);
    EXPECT_GT(c.b_qps, 1800);
    double plain_qdq = plain.cause_ms.at(CauseKind::kQdqUnfused);
    double qdq =
        c.cause_ms.count(CauseKind::kQdqUnfused) ? c.cause_ms.at(CauseKind::kQdqUnfused) : 0;
    EXPECT_LT(qdq, 0.5 * plain_qdq);
    EXPECT_LT(b.quantize_ms, 0.5 * AnalyzeEngine(qat, nullptr).quantize_ms);
  }
}

}  // namespace
}  // namespace ridge::trt
