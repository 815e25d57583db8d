// What `ridge probe` measured on a GPU, and how it becomes a device profile in data/devices'
// format (so `ridge analyze --device PROFILE.json` predicts with measured peaks). Plain C++:
// no CUDA, so the writer is tested on machines without a GPU.
#pragma once

#include <string>

#include "analysis/device_profile.h"
#include "core/status.h"

namespace ridge::cuda {

struct ProbeResult {
  std::string gpu_name;  // cudaDeviceProp::name, e.g. "NVIDIA H200"
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  double sm_clock_mhz = 0, mem_clock_mhz = 0;  // maximum clocks the driver reports
  int memory_bus_bits = 0;
  double l2_bytes = 0;
  double global_memory_bytes = 0;
  // Measured peaks (0 when not measured).
  double hbm_bytes_per_s = 0;      // device copy kernel, read + write bytes
  double fp16_tc_flops_per_s = 0;  // cuBLASLt fp16 GEMM, fp32 accumulate
  double fp32_flops_per_s = 0;     // cuBLASLt fp32 GEMM, no TF32
  int64_t gemm_n = 0;              // square GEMM size used
  double launch_host_s = 0;        // host time per cudaLaunchKernel of an empty kernel
  double launches_per_s = 0;       // empty kernels completed per second on one stream
  double graph_node_s = 0;         // per node of a replayed graph of empty kernels
  int graph_nodes = 0;
  double h2d_bytes_per_s = 0, d2h_bytes_per_s = 0;  // pinned, 64 MiB
  double seconds = 0;                               // how long the probe took
};

// The built-in profile name (data/devices/<name>.json) for a GPU's reported name, or "" when
// none matches: "NVIDIA H200" -> "h200", "NVIDIA H100 PCIe" -> "h100-pcie".
std::string BuiltinProfileFor(const std::string& gpu_name);

// A lower-case, dash-separated name for the measured profile: "measured-nvidia-h200".
std::string MeasuredProfileName(const std::string& gpu_name);

// The device profile JSON text (data/devices' fields; every figure with a "sources" entry).
// Figures the probe does not measure (TF32 and INT8 peaks) come from `builtin` when given,
// else are 0 (LoadDeviceProfile accepts 0 for them). `date` is "YYYY-MM-DD".
std::string ProbeProfileJson(const ProbeResult& r, const std::string& date,
                             const analysis::DeviceProfile* builtin);

// Checks the measured peaks are usable as a profile (positive fp32 and bandwidth).
Status CheckProbeResult(const ProbeResult& r);

}  // namespace ridge::cuda
