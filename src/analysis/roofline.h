// Roofline predictor: each fused group takes max(FLOPs / peak, bytes / bandwidth) plus one
// kernel launch. Compute groups run at the Tensor Core peak of the precision (CUDA-core peak at
// fp32, and for GEMM dims Tensor Cores cannot take: see TensorCoreAligned); everything else
// at the vector peak. The bound class says which term decided the time.
#pragma once

#include <string_view>
#include <vector>

#include "analysis/device_profile.h"
#include "analysis/fusion.h"

namespace ridge::analysis {

enum class Bound { kCompute, kMemory, kLaunch };
std::string_view BoundName(Bound bound);  // "compute", "memory", "launch"

struct GroupPrediction {
  double peak_flops_per_s = 0;  // the roof this group runs under
  double compute_s = 0;         // FLOPs / peak
  double memory_s = 0;          // bytes / bandwidth
  double launch_s = 0;
  double time_s = 0;  // max(compute_s, memory_s) + launch_s
  Bound bound = Bound::kMemory;
  bool tensor_core = false;  // ran at a Tensor Core peak
};

struct Prediction {
  std::vector<GroupPrediction> groups;  // parallel to Grouping::groups
  double total_s = 0;
  double launch_s = 0;  // the part of total_s that is launch overhead
  int num_launches = 0;
};

// True when a compute node's channels (conv) or GEMM N and K suit Tensor Cores at `precision`
// on `device` (always true at fp32, on CPUs, and for non-compute nodes).
bool TensorCoreAligned(const ir::Graph& graph, const NodeRecord& rec, const DeviceProfile& device,
                       Precision precision);
// Channel multiple Tensor Cores need at `precision` (fp16/tf32: align_fp16, int8: align_int8).
int TensorCoreAlignment(const DeviceProfile& device, Precision precision);

// The time of one kernel doing `flops` and `bytes` under a `peak` roof.
GroupPrediction PredictKernel(double flops, double bytes, double peak_flops_per_s,
                              const DeviceProfile& device);

Prediction PredictRoofline(const ir::Graph& graph, const CostReport& costs,
                           const Grouping& grouping, const DeviceProfile& device);

}  // namespace ridge::analysis
