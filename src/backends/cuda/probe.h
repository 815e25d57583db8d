// `ridge probe`: measures the GPU's real peaks (memory bandwidth, fp16 Tensor Core and fp32
// GEMM throughput, launch and CUDA graph overheads, pinned PCIe copies) on device 0.
#pragma once

#include "backends/cuda/probe_profile.h"
#include "core/status.h"

namespace ridge::cuda {

struct ProbeOptions {
  bool quick = false;  // smaller sizes and fewer repetitions: <= ~5 s instead of <= ~20 s
};

// Unsupported when no CUDA device can be used; Internal for a failed CUDA/cuBLASLt call.
Result<ProbeResult> RunProbe(const ProbeOptions& options);

}  // namespace ridge::cuda
