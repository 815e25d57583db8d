// Roofline predictor: each fused group takes max(FLOPs / peak, bytes / bandwidth) plus one
// kernel launch (refined by the device's optional kernel model: efficiencies, wave
// quantization, a fixed per-kernel floor). Compute groups run at the Tensor Core peak of the
// precision (CUDA-core peak at fp32, and for GEMM dims Tensor Cores cannot take: see
// TensorCoreAligned); everything else at the vector peak. The bound class says which term decided
// the time.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "analysis/device_profile.h"
#include "analysis/fusion.h"

namespace ridge::analysis {

enum class Bound { kCompute, kMemory, kLaunch };
std::string_view BoundName(Bound bound);  // "compute", "memory", "launch"

// What a kernel's parallelism is, for wave quantization: a GEMM-like kernel (conv as implicit
// GEMM) of an M x N output is split into 128 x 128 tiles, one per SM at a time; with fewer
// tiles than SMs, or a last partial wave, part of the GPU idles (NVIDIA Deep Learning
// Performance Guide, "Matrix Multiplication Background": tile and wave quantization).
struct KernelShape {
  int64_t gemm_m = 0, gemm_n = 0;  // per group; 0: unknown, the kernel fills the GPU
  int64_t groups = 1;              // grouped convs: groups x the tiles of one group
};
inline constexpr int64_t kWaveTile = 128;

struct GroupPrediction {
  double peak_flops_per_s = 0;  // the roof this group runs under
  double compute_s = 0;         // FLOPs / peak
  double memory_s = 0;          // bytes / bandwidth
  double launch_s = 0;
  double time_s = 0;  // max(compute_s, memory_s) + launch_s
  Bound bound = Bound::kMemory;
  bool tensor_core = false;     // ran at a Tensor Core peak
  KernelShape shape;            // what wave quantization was computed from
  double wave_utilization = 1;  // share of the SMs busy (1 without a kernel model)
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

// The KernelShape of a compute node (its cost's GEMM dims, a conv's group count).
KernelShape KernelShapeOf(const ir::Graph& graph, const NodeRecord& rec);

// Share of the SMs a kernel of `shape` keeps busy on `device` (1 without a model or shape).
double WaveUtilization(const KernelShape& shape, const DeviceProfile& device);

// The time of one kernel doing `flops` and `bytes` under a `peak` roof:
//   max(FLOPs / (peak * compute_efficiency * wave utilization),
//       bytes / (bandwidth * memory_efficiency, or streaming_memory_efficiency for kernels
//                that are not dense GEMM/conv)) + launch_overhead_s + kernel_floor_s.
GroupPrediction PredictKernel(double flops, double bytes, double peak_flops_per_s,
                              const DeviceProfile& device, const KernelShape& shape = {});

Prediction PredictRoofline(const ir::Graph& graph, const CostReport& costs,
                           const Grouping& grouping, const DeviceProfile& device);

}  // namespace ridge::analysis
