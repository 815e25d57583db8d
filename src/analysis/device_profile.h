// A device's performance figures, read from data/devices/<name>.json (each figure with its
// public source) or from a file `ridge probe` wrote.
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace ridge::analysis {

struct DeviceProfile {
  std::string name;                  // "h100-sxm"
  std::string display_name;          // "NVIDIA H100 SXM5 80GB"
  std::string kind;                  // "gpu" or "cpu"
  double peak_fp32_flops_per_s = 0;  // no Tensor Cores
  double peak_tf32_flops_per_s = 0;  // dense Tensor Core
  double peak_fp16_flops_per_s = 0;  // dense Tensor Core, fp32 accumulate where listed
  double peak_int8_ops_per_s = 0;    // dense Tensor Core
  double memory_bytes_per_s = 0;
  double l2_bytes = 0;
  double launch_overhead_s = 0;    // per kernel launch (graph-replayed)
  int tensor_core_align_fp16 = 8;  // channel multiple for fp16 Tensor Core kernels
  int tensor_core_align_int8 = 16;
  // Kernel model (optional; absent = the plain roofline). Real kernels reach a fraction of the
  // peaks, cannot fill the GPU with few output tiles, and cost a fixed time each (ramp-up,
  // tail, dependency wait) on top of the launch. `ridge probe` and
  // bench/predict_vs_measure.py --fit write these; docs/metrics.md explains the model.
  int sm_count = 0;               // 0: no wave quantization
  double kernel_floor_s = 0;      // fixed time per kernel beyond launch_overhead_s
  double compute_efficiency = 1;  // share of the peak FLOP rate big kernels reach
  double memory_efficiency = 1;   // share of the bandwidth dense GEMM/conv kernels reach
  // ... and the other kernels (elementwise, pooling, normalization, depthwise conv): simpler
  // kernels that often stream at a lower share of the bandwidth.
  double streaming_memory_efficiency = 1;
  std::vector<std::string> sources;  // where the figures come from

  // Peak for compute ops at `p` (fp16 -> Tensor Core fp16, fp32 -> CUDA-core fp32, ...).
  double PeakFlopsPerS(Precision p) const;
  // Peak for non-Tensor-Core work (elementwise math) at `p`.
  double VectorFlopsPerS(Precision p) const;
  double RidgePoint(Precision p) const { return PeakFlopsPerS(p) / memory_bytes_per_s; }
};

// Loads by short name ("h100", "h100-sxm", "a100-pcie", "cpu") from `data_dir`/devices, or by
// path to a .json file. Unknown names list the available ones.
Result<DeviceProfile> LoadDeviceProfile(const std::string& name_or_path,
                                        const std::string& data_dir);
// Names of the profiles under `data_dir`/devices.
std::vector<std::string> ListDeviceProfiles(const std::string& data_dir);

}  // namespace ridge::analysis
