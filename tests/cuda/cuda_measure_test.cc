// The measuring helpers behind `ridge probe` and `ridge bench --device cuda --profile/--trace`
// that need no GPU: the step/prediction join (fake step lists), the trace writer, the probe's
// device-profile writer (round trip through LoadDeviceProfile), and the latency statistics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../analysis/graph_builder.h"
#include "analysis/cost_model.h"
#include "analysis/roofline.h"
#include "backends/cuda/probe_profile.h"
#include "backends/cuda/profile_join.h"
#include "backends/cuda/trace_writer.h"
#include "profiler/stats.h"

namespace ridge::cuda {
namespace {

using testing::GraphBuilder;

analysis::DeviceProfile H200() {
  auto p = analysis::LoadDeviceProfile("h200", RIDGE_DATA_DIR);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : analysis::DeviceProfile{};
}

// x -> Conv -> BN -> Relu -> Add(+x) -> y.
GraphBuilder Block() {
  GraphBuilder b;
  const std::vector<int64_t> dims = {1, 64, 56, 56};
  auto x = b.Input("x", dims);
  auto c = b.Act("c", dims), bn = b.Act("bn", dims), r = b.Act("r", dims), y = b.Act("y", dims);
  b.Conv("conv", x, c, 64, 64);
  std::vector<ir::ValueId> bn_in = {c};
  for (const char* p : {"scale", "bias", "mean", "var"})
    bn_in.push_back(b.Weight(std::string("bn.") + p, {64}));
  b.Op("BatchNormalization", "bn", bn_in, {bn});
  b.Op("Relu", "relu", {bn}, {r});
  b.Op("Add", "add", {r, x}, {y});
  b.Output(y);
  return b;
}

std::vector<StepSample> FakeSteps() {
  return {{"layout_transpose", {"conv"}, 0.010, 0.0},
          {"cudnn_conv", {"conv", "bn", "relu"}, 0.100, 0.010},
          {"add_kernel", {"add"}, 0.020, 0.110},
          {"copy_output", {}, 0.005, 0.130}};
}

TEST(ProfileJoin, FusedStepCarriesItsNodesCostOnceAndIntermediatesStayOnChip) {
  GraphBuilder b = Block();
  auto dev = H200();
  auto joined = JoinStepProfile(b.g, FakeSteps(), &dev, Precision::kFp32);
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  ASSERT_EQ(joined->steps.size(), 4u);
  auto costs = analysis::ComputeCosts(b.g, Precision::kFp32);
  ASSERT_TRUE(costs.ok());
  double flops = 0, naive_bytes = 0, weights = 0;
  for (const auto& rec : costs->nodes) {
    if (rec.name == "add") continue;
    flops += rec.cost.flops;
    naive_bytes += rec.cost.total_bytes();
    weights += rec.cost.weight_bytes;
  }
  const JoinedStep& conv = joined->steps[1];
  EXPECT_FALSE(conv.overhead);
  EXPECT_DOUBLE_EQ(conv.flops, flops);
  // Reads x and the weights, writes r (the Add reads it); c and bn never leave the kernel.
  const double act = analysis::ValueBytesAt(b.g, b.g.inputs()[0], Precision::kFp32);
  EXPECT_DOUBLE_EQ(conv.bytes, 2 * act + weights);
  EXPECT_LT(conv.bytes, naive_bytes);
  auto pred = analysis::PredictKernel(flops, conv.bytes, dev.PeakFlopsPerS(Precision::kFp32), dev);
  EXPECT_NEAR(conv.predicted_ms, pred.time_s * 1e3, 1e-12);
  EXPECT_NEAR(conv.roofline_pct, 100 * conv.predicted_ms / 0.100, 1e-9);
  // The transpose serving the conv is overhead: no prediction, and the conv's cost is not
  // taken by it.
  EXPECT_TRUE(joined->steps[0].overhead);
  EXPECT_EQ(joined->steps[0].predicted_ms, -1);
  EXPECT_TRUE(joined->steps[3].overhead);
  EXPECT_GT(joined->steps[2].predicted_ms, 0);
  double share = 0;
  for (const auto& s : joined->steps) share += s.share;
  EXPECT_NEAR(share, 1.0, 1e-12);
  EXPECT_NEAR(joined->measured_ms, 0.135, 1e-12);
  EXPECT_NEAR(joined->predicted_ms, conv.predicted_ms + joined->steps[2].predicted_ms, 1e-12);
  EXPECT_TRUE(joined->uncovered.empty());
  EXPECT_TRUE(joined->unknown.empty());
}

TEST(ProfileJoin, Fp16UsesTheTensorCoreRoof) {
  GraphBuilder b = Block();
  auto dev = H200();
  auto fp32 = JoinStepProfile(b.g, FakeSteps(), &dev, Precision::kFp32);
  auto fp16 = JoinStepProfile(b.g, FakeSteps(), &dev, Precision::kFp16);
  ASSERT_TRUE(fp32.ok() && fp16.ok());
  // A 3x3 conv is compute-bound at fp32; the fp16 Tensor Core roof is ~15x higher (the ~1 us
  // launch term keeps the ratio lower).
  EXPECT_LT(fp16->steps[1].predicted_ms, fp32->steps[1].predicted_ms / 2);
}

TEST(ProfileJoin, ReportsUncoveredUnknownAndCountsANodeOnce) {
  GraphBuilder b = Block();
  auto dev = H200();
  std::vector<StepSample> steps = {{"cudnn_conv", {"conv", "bn", "relu"}, 0.1, 0},
                                   {"epilogue", {"relu", "no_such_node"}, 0.01, 0.1}};
  auto joined = JoinStepProfile(b.g, steps, &dev, Precision::kFp16);
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->uncovered, std::vector<std::string>{"add"});
  EXPECT_EQ(joined->unknown, std::vector<std::string>{"no_such_node"});
  EXPECT_EQ(joined->steps[1].flops, 0);  // relu's cost is already in the conv step
  EXPECT_EQ(joined->steps[1].predicted_ms, -1);
}

TEST(ProfileJoin, NodesTheEngineAliasedAreNotUncovered) {
  GraphBuilder b = Block();
  std::vector<StepSample> steps = {{"cudnn_conv", {"conv", "bn", "relu"}, 0.1, 0}};
  auto joined = JoinStepProfile(b.g, steps, nullptr, Precision::kFp16, {"add"});
  ASSERT_TRUE(joined.ok());
  EXPECT_TRUE(joined->uncovered.empty());
  EXPECT_EQ(joined->aliased, std::vector<std::string>{"add"});
}

TEST(ProfileJoin, WithoutADeviceOnlyCoverage) {
  GraphBuilder b = Block();
  auto joined = JoinStepProfile(b.g, FakeSteps(), nullptr, Precision::kFp16);
  ASSERT_TRUE(joined.ok());
  for (const auto& s : joined->steps) {
    EXPECT_EQ(s.predicted_ms, -1);
    EXPECT_EQ(s.roofline_pct, -1);
  }
  EXPECT_GT(joined->steps[1].flops, 0);
  EXPECT_EQ(joined->predicted_ms, 0);
}

TEST(TraceWriter, ValidJsonSortedSlicesEscapedNames) {
  std::vector<TraceSlice> slices = {
      {"2 add \"quoted\"", "add_kernel", 30, 5, {{"nodes", "a\\b"}}},
      {"0 conv\nnewline\ttab", "cudnn_conv", 0, 10, {{"nodes", "conv, bn"}}},
      {std::string("1 bad utf8 \xff\xfe"), "gemm_lt", 10, 20, {}},
      {"3 tie", "x", 30, 1, {}}};
  std::string text = ChromeTraceJson(slices, "ridge bench m.onnx");
  auto doc = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << text;
  ASSERT_TRUE(doc["traceEvents"].is_array());
  std::vector<nlohmann::json> xs;
  for (const auto& e : doc["traceEvents"])
    if (e["ph"] == "X") xs.push_back(e);
  ASSERT_EQ(xs.size(), 4u);
  for (size_t i = 1; i < xs.size(); ++i)
    EXPECT_LE(xs[i - 1]["ts"].get<double>(), xs[i]["ts"].get<double>());
  EXPECT_EQ(xs[0]["name"], "0 conv\nnewline\ttab");
  EXPECT_EQ(xs[0]["cat"], "cudnn_conv");
  EXPECT_EQ(xs[0]["dur"].get<double>(), 10);
  EXPECT_EQ(xs[0]["args"]["nodes"], "conv, bn");
  EXPECT_NE(xs[1]["name"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(xs[2]["name"], "2 add \"quoted\"");  // equal start: input order kept
  EXPECT_EQ(xs[2]["args"]["nodes"], "a\\b");
  EXPECT_EQ(xs[3]["name"], "3 tie");
  // Raw control characters never reach the file.
  EXPECT_EQ(text.find('\t'), std::string::npos);
}

ProbeResult FakeProbe() {
  ProbeResult r;
  r.gpu_name = "NVIDIA H200";
  r.cc_major = 9;
  r.sm_count = 132;
  r.l2_bytes = 62914560;
  r.hbm_bytes_per_s = 4.1e12;
  r.fp16_tc_flops_per_s = 7.1e14;
  r.fp32_flops_per_s = 5.2e13;
  r.gemm_n = 8192;
  r.graph_node_s = 1.1e-6;
  r.graph_nodes = 1000;
  return r;
}

TEST(ProbeProfile, RoundTripsThroughLoadDeviceProfile) {
  auto builtin = H200();
  for (const analysis::DeviceProfile* base :
       std::vector<const analysis::DeviceProfile*>{&builtin, nullptr}) {
    const ProbeResult r = FakeProbe();
    auto path = std::filesystem::temp_directory_path() /
                ("ridge_probe_" + std::to_string(::getpid()) + (base ? "_b" : "_n") + ".json");
    ASSERT_TRUE(WriteTextFile(path.string(), ProbeProfileJson(r, "2026-11-28", base)).ok());
    auto p = analysis::LoadDeviceProfile(path.string(), RIDGE_DATA_DIR);
    std::filesystem::remove(path);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->name, "measured-nvidia-h200");
    EXPECT_EQ(p->kind, "gpu");
    EXPECT_DOUBLE_EQ(p->memory_bytes_per_s, r.hbm_bytes_per_s);
    EXPECT_DOUBLE_EQ(p->peak_fp16_flops_per_s, r.fp16_tc_flops_per_s);
    EXPECT_DOUBLE_EQ(p->peak_fp32_flops_per_s, r.fp32_flops_per_s);
    EXPECT_DOUBLE_EQ(p->launch_overhead_s, r.graph_node_s);
    EXPECT_DOUBLE_EQ(p->l2_bytes, r.l2_bytes);
    EXPECT_DOUBLE_EQ(p->peak_tf32_flops_per_s, base ? builtin.peak_tf32_flops_per_s : 0);
    EXPECT_DOUBLE_EQ(p->peak_int8_ops_per_s, base ? builtin.peak_int8_ops_per_s : 0);
    bool dated = false;
    for (const auto& s : p->sources)
      dated |= s.find("measured by ridge probe on 2026-11-28") != std::string::npos;
    EXPECT_TRUE(dated);
  }
}

TEST(ProbeProfile, OddGpuNamesStillGiveALoadableProfile) {
  ProbeResult r = FakeProbe();
  r.gpu_name = std::string("  Weird \"GPU\"\xff /x  ");
  EXPECT_EQ(MeasuredProfileName(r.gpu_name), "measured-weird-gpu-x");
  EXPECT_EQ(MeasuredProfileName(""), "measured-gpu");
  auto j = nlohmann::json::parse(ProbeProfileJson(r, "2026-01-01", nullptr), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["source"], "measured by ridge probe on 2026-01-01");
}

TEST(ProbeProfile, BuiltinNamesAndChecks) {
  EXPECT_EQ(BuiltinProfileFor("NVIDIA H200"), "h200");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA H100 80GB HBM3"), "h100-sxm");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA H100 PCIe"), "h100-pcie");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA A100-PCIE-40GB"), "a100-pcie");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA A100-SXM4-80GB"), "a100-sxm");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA L4"), "l4");
  EXPECT_EQ(BuiltinProfileFor("Tesla T4"), "t4");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA GeForce RTX 4090"), "rtx4090");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA L40S"), "");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA T400"), "");
  EXPECT_EQ(BuiltinProfileFor("NVIDIA B200"), "");
  // Every name it maps to exists under data/devices.
  for (const char* gpu : {"H200", "H100 PCIe", "H100 SXM", "A100-PCIE", "A100", "L4", "T4",
                          "RTX 4090", "TITAN RTX", "Jetson AGX Orin"}) {
    std::string name = BuiltinProfileFor(gpu);
    ASSERT_FALSE(name.empty()) << gpu;
    EXPECT_TRUE(analysis::LoadDeviceProfile(name, RIDGE_DATA_DIR).ok()) << name;
  }
  ProbeResult r = FakeProbe();
  EXPECT_TRUE(CheckProbeResult(r).ok());
  r.hbm_bytes_per_s = 0;
  EXPECT_FALSE(CheckProbeResult(r).ok());
  r = FakeProbe();
  r.fp32_flops_per_s = std::nan("");
  EXPECT_FALSE(CheckProbeResult(r).ok());
}

TEST(BenchStats, PhaseStatisticsAndInstability) {
  std::vector<double> steady(100, 2.0), spiky(100, 1.0);
  spiky[99] = 50.0;
  auto s = profiler::ComputeStats(steady, 8);
  EXPECT_DOUBLE_EQ(s.median_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.cv, 0.0);
  EXPECT_FALSE(s.unstable);
  EXPECT_NEAR(s.throughput_per_s, 8 * 1000 / 2.0, 1e-9);
  auto t = profiler::ComputeStats(spiky, 1);
  EXPECT_DOUBLE_EQ(t.median_ms, 1.0);
  EXPECT_DOUBLE_EQ(t.max_ms, 50.0);
  EXPECT_GT(t.p99_ms, 1.0);
  EXPECT_TRUE(t.unstable);
}

}  // namespace
}  // namespace ridge::cuda
