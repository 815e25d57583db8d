#include "analysis/analyzer.h"

#include <gtest/gtest.h>

#include "analysis/gpu_support.h"
#include "graph_builder.h"

namespace ridge::analysis {
namespace {

using testing::GraphBuilder;

DeviceProfile H100() {
  auto p = LoadDeviceProfile("h100", RIDGE_DATA_DIR);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

// x -> Conv -> BN -> Relu -> Add(+x) -> y: the classic residual block tail.
GraphBuilder ResidualBlock(int64_t channels = 64) {
  GraphBuilder b;
  const std::vector<int64_t> dims = {1, channels, 56, 56};
  auto x = b.Input("x", dims);
  auto c = b.Act("c", dims), bn = b.Act("bn", dims), r = b.Act("r", dims), y = b.Act("y", dims);
  b.Conv("conv", x, c, channels, channels);
  std::vector<ir::ValueId> bn_in = {c};
  for (const char* p : {"scale", "bias", "mean", "var"})
    bn_in.push_back(b.Weight(std::string("bn.") + p, {channels}));
  b.Op("BatchNormalization", "bn", bn_in, {bn});
  b.Op("Relu", "relu", {bn}, {r});
  b.Op("Add", "add", {r, x}, {y});
  b.Output(y);
  return b;
}

TEST(CostModel, ConvCostComesFromTheOpAndTotalsAdd) {
  GraphBuilder b = ResidualBlock();
  auto costs = ComputeCosts(b.g, Precision::kFp32);
  ASSERT_TRUE(costs.ok()) << costs.status().ToString();
  ASSERT_EQ(costs->nodes.size(), 4u);
  const NodeRecord& conv = costs->nodes[0];
  // 2 * N*K*H*W * C*3*3 FLOPs.
  EXPECT_DOUBLE_EQ(conv.cost.flops, 2.0 * 64 * 56 * 56 * 64 * 9);
  EXPECT_DOUBLE_EQ(costs->totals.macs, 64.0 * 56 * 56 * 64 * 9);
  EXPECT_EQ(conv.cost.kind, ops::OpKind::kCompute);
  double sum = 0;
  for (const auto& r : costs->nodes) sum += r.cost.flops;
  EXPECT_DOUBLE_EQ(costs->totals.flops, sum);
  EXPECT_DOUBLE_EQ(costs->totals.params, 64 * 64 * 9 + 4 * 64);
}

TEST(Fusion, ConvBnReluAddIsOneKernel) {
  GraphBuilder b = ResidualBlock();
  auto costs = ComputeCosts(b.g, Precision::kFp16);
  ASSERT_TRUE(costs.ok());
  Grouping grouping = GroupForFusion(b.g, *costs);
  ASSERT_EQ(grouping.groups.size(), 1u);
  const FusedGroup& g = grouping.groups[0];
  EXPECT_EQ(g.members.size(), 4u);
  EXPECT_EQ(g.label, "Conv+BatchNormalization+Relu+Add");
  EXPECT_EQ(g.kind, ops::OpKind::kCompute);
  EXPECT_EQ(g.name, "conv");
  // Reads x once (conv and the residual add share it), writes y once, no intermediates.
  const double act_bytes = 64.0 * 56 * 56 * 2;
  EXPECT_DOUBLE_EQ(g.bytes_read, act_bytes);
  EXPECT_DOUBLE_EQ(g.bytes_written, act_bytes);
  EXPECT_DOUBLE_EQ(g.weight_bytes, (64.0 * 64 * 9 + 4 * 64) * 2);
}

TEST(Fusion, SiluFusesAndViewsAreFreeAndBranchesSplit) {
  GraphBuilder b;
  auto x = b.Input("x", {1, 32, 28, 28});
  auto c = b.Act("c", {1, 32, 28, 28}), s = b.Act("s", {1, 32, 28, 28});
  auto m = b.Act("m", {1, 32, 28, 28}), f = b.Act("f", {1, 25088});
  auto pooled = b.Act("p", {1, 32, 1, 1});
  b.Conv("conv", x, c, 32, 32);
  b.Op("Sigmoid", "sig", {c}, {s});
  b.Op("Mul", "silu", {c, s}, {m});
  auto shape = b.Weight("shape", {2});
  b.Op("Reshape", "flat", {m, shape}, {f});
  b.Op("GlobalAveragePool", "gap", {m}, {pooled});
  b.Output(f);
  b.Output(pooled);
  auto costs = ComputeCosts(b.g, Precision::kFp32);
  ASSERT_TRUE(costs.ok());
  Grouping grouping = GroupForFusion(b.g, *costs);
  ASSERT_EQ(grouping.groups.size(), 2u);  // conv+sigmoid+mul, pool; reshape is free
  EXPECT_EQ(grouping.groups[0].label, "Conv+Sigmoid+Mul");
  EXPECT_EQ(grouping.groups[1].label, "GlobalAveragePool");
  EXPECT_EQ(grouping.num_free_nodes, 1);
  EXPECT_EQ(grouping.group_of_node[3], -1);
  // m leaves the conv group once (read by the pool and the view).
  EXPECT_DOUBLE_EQ(grouping.groups[0].bytes_written, 32.0 * 28 * 28 * 4);
}

TEST(Fusion, ElementwiseDoesNotFuseWhenItsInputFeedsAConv) {
  GraphBuilder b;
  auto x = b.Input("x", {1, 16, 8, 8});
  auto c = b.Act("c", {1, 16, 8, 8}), r = b.Act("r", {1, 16, 8, 8}), d = b.Act("d", {1, 16, 8, 8});
  b.Conv("conv1", x, c, 16, 16);
  b.Op("Relu", "relu", {c}, {r});
  b.Conv("conv2", c, d, 16, 16);  // c also feeds a conv: it must reach memory
  b.Output(r);
  b.Output(d);
  auto costs = ComputeCosts(b.g, Precision::kFp32);
  ASSERT_TRUE(costs.ok());
  Grouping grouping = GroupForFusion(b.g, *costs);
  EXPECT_EQ(grouping.groups.size(), 3u);
}

TEST(Roofline, KernelFormula) {
  DeviceProfile h100 = H100();
  // 1 TFLOP, 1 GB at fp16: compute-bound, 1e12 / 989.4e12 s + 1 us launch.
  GroupPrediction p = PredictKernel(1e12, 1e9, h100.PeakFlopsPerS(Precision::kFp16), h100);
  EXPECT_EQ(p.bound, Bound::kCompute);
  EXPECT_NEAR(p.time_s, 1e12 / 989.4e12 + 1e-6, 1e-12);
  // Little FLOPs, many bytes: memory-bound at 3.35 TB/s.
  p = PredictKernel(1e6, 1e9, h100.PeakFlopsPerS(Precision::kFp16), h100);
  EXPECT_EQ(p.bound, Bound::kMemory);
  EXPECT_NEAR(p.time_s, 1e9 / 3.35e12 + 1e-6, 1e-12);
  // A tiny kernel is launch-bound.
  p = PredictKernel(1e3, 1e3, h100.PeakFlopsPerS(Precision::kFp16), h100);
  EXPECT_EQ(p.bound, Bound::kLaunch);
}

// The optional kernel model: efficiencies, a per-kernel floor and wave quantization.
TEST(Roofline, KernelModel) {
  DeviceProfile d = H100();
  d.sm_count = 132;
  d.compute_efficiency = 0.5;
  d.memory_efficiency = 0.8;
  d.streaming_memory_efficiency = 0.1;
  d.kernel_floor_s = 3e-6;
  const double peak = d.PeakFlopsPerS(Precision::kFp16);
  // 264 tiles of 128 x 128 = exactly two waves on 132 SMs: full utilization.
  KernelShape full{128 * 24, 128 * 11, 1};
  EXPECT_DOUBLE_EQ(WaveUtilization(full, d), 1.0);
  GroupPrediction p = PredictKernel(1e12, 1e6, peak, d, full);
  EXPECT_NEAR(p.time_s, 1e12 / (peak * 0.5) + 1e-6 + 3e-6, 1e-12);
  // 4 tiles (ResNet-50 layer3 at batch 1: 196 x 256) keep 4 of 132 SMs busy.
  KernelShape small{196, 256, 1};
  EXPECT_NEAR(WaveUtilization(small, d), 4.0 / 132, 1e-12);
  p = PredictKernel(2.3e8, 1e3, peak, d, small);
  EXPECT_NEAR(p.compute_s, 2.3e8 / (peak * 0.5 * 4.0 / 132), 1e-15);
  // 133 tiles: a second, nearly empty wave halves the utilization.
  EXPECT_NEAR(WaveUtilization({133 * 128, 128, 1}, d), 133.0 / 264, 1e-12);
  // Depthwise (one output column per group) streams at the streaming efficiency; a dense
  // kernel at memory_efficiency.
  p = PredictKernel(1e3, 1e9, peak, d, {1000, 1, 64});
  EXPECT_NEAR(p.memory_s, 1e9 / (3.35e12 * 0.1), 1e-12);
  p = PredictKernel(1e3, 1e9, peak, d, {1000, 64, 1});
  EXPECT_NEAR(p.memory_s, 1e9 / (3.35e12 * 0.8), 1e-12);
  // Without sm_count there is no wave model.
  d.sm_count = 0;
  EXPECT_DOUBLE_EQ(WaveUtilization(small, d), 1.0);
}

TEST(Roofline, HandBuiltGraphTotals) {
  DeviceProfile h100 = H100();
  GraphBuilder b = ResidualBlock();
  auto a = Analyze(b.g, h100, Precision::kFp16, "block");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->prediction.groups.size(), 1u);
  const FusedGroup& g = a->grouping.groups[0];
  double expected = std::max(g.flops / 989.4e12, g.total_bytes() / 3.35e12) + 1e-6;
  EXPECT_NEAR(a->prediction.total_s, expected, 1e-12);
  EXPECT_TRUE(a->prediction.groups[0].tensor_core);
  EXPECT_EQ(a->prediction.num_launches, 1);
  // fp32 runs on the CUDA cores: 67 TFLOP/s.
  auto a32 = Analyze(b.g, h100, Precision::kFp32, "block");
  ASSERT_TRUE(a32.ok());
  EXPECT_DOUBLE_EQ(a32->prediction.groups[0].peak_flops_per_s, 67e12);
  EXPECT_GT(a32->prediction.total_s, a->prediction.total_s);
}

bool HasLint(const Analysis& a, const std::string& id) {
  for (const auto& l : a.lints)
    if (l.id == id) return true;
  return false;
}

TEST(Lints, TensorCoreAlignmentFiresOnlyOnUnalignedConvs) {
  DeviceProfile h100 = H100();
  GraphBuilder aligned = ResidualBlock(64);
  auto a = Analyze(aligned.g, h100, Precision::kFp16, "aligned");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(HasLint(*a, "tensor_core_alignment"));

  GraphBuilder unaligned = ResidualBlock(60);
  auto u = Analyze(unaligned.g, h100, Precision::kFp16, "unaligned");
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(HasLint(*u, "tensor_core_alignment"));
  for (const auto& l : u->lints) {
    if (l.id != "tensor_core_alignment") continue;
    EXPECT_EQ(l.nodes, std::vector<std::string>{"conv"});
    EXPECT_NE(l.message.find("C=60 -> 64"), std::string::npos) << l.message;
    EXPECT_GT(l.predicted_cost_s, 0);
  }
  // The predictor runs the unaligned conv off Tensor Cores.
  EXPECT_FALSE(u->prediction.groups[0].tensor_core);
  // int8 needs multiples of 16: 56 is a multiple of 8, not of 16.
  GraphBuilder c56 = ResidualBlock(56);
  auto f16 = Analyze(c56.g, h100, Precision::kFp16, "c56");
  auto i8 = Analyze(c56.g, h100, Precision::kInt8, "c56");
  ASSERT_TRUE(f16.ok() && i8.ok());
  EXPECT_FALSE(HasLint(*f16, "tensor_core_alignment"));
  EXPECT_TRUE(HasLint(*i8, "tensor_core_alignment"));
  // fp32 and CPUs never get it.
  auto f32 = Analyze(unaligned.g, h100, Precision::kFp32, "unaligned");
  ASSERT_TRUE(f32.ok());
  EXPECT_FALSE(HasLint(*f32, "tensor_core_alignment"));
}

TEST(Lints, DepthwiseConvIsLowIntensityAndInputIsPreprocessedOutside) {
  DeviceProfile h100 = H100();
  GraphBuilder b;
  auto x = b.Input("image", {1, 3, 112, 112});
  auto c = b.Act("c", {1, 32, 112, 112}), d = b.Act("d", {1, 32, 112, 112});
  b.Conv("stem", x, c, 3, 32);
  b.Conv("dw", c, d, 32, 32, 3, /*group=*/32);
  b.Output(d);
  auto a = Analyze(b.g, h100, Precision::kFp16, "dw");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(HasLint(*a, "low_intensity_conv"));
  EXPECT_TRUE(HasLint(*a, "preprocessing_outside"));
  EXPECT_TRUE(HasLint(*a, "tensor_core_alignment"));  // the stem's C=3
  GraphBuilder dense = ResidualBlock(256);
  auto d2 = Analyze(dense.g, h100, Precision::kFp16, "dense");
  ASSERT_TRUE(d2.ok());
  EXPECT_FALSE(HasLint(*d2, "low_intensity_conv"));
  EXPECT_FALSE(HasLint(*d2, "preprocessing_outside"));
}

TEST(Lints, OpsWithoutGpuKernelAreListed) {
  GraphBuilder b;
  auto x = b.Input("x", {4, 4}), y = b.Input("y", {4, 4}), z = b.Act("z", {4, 4});
  b.Op("Mod", "mod", {x, y}, {z});
  b.Output(z);
  auto a = Analyze(b.g, H100(), Precision::kFp32, "mod");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(HasLint(*a, "no_gpu_kernel"));
  EXPECT_TRUE(HasGpuKernel("Conv"));
  EXPECT_FALSE(HasGpuKernel("Mod"));
}

TEST(Shares, KindSharesSumToTotals) {
  GraphBuilder b = ResidualBlock();
  auto a = Analyze(b.g, H100(), Precision::kFp16, "block");
  ASSERT_TRUE(a.ok());
  double flops = 0, time = 0;
  for (const auto& k : SharesByKind(*a)) {
    flops += k.flops;
    time += k.time_s;
  }
  EXPECT_DOUBLE_EQ(flops, a->costs.totals.flops);
  EXPECT_NEAR(time, a->prediction.total_s, 1e-15);
}

}  // namespace
}  // namespace ridge::analysis
