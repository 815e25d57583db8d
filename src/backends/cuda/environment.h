// The CUDA environment a built engine depends on: the GPU (name, compute capability) and the
// versions of the CUDA runtime, cuDNN and cuBLASLt linked into this process. An engine file
// records these at build time and is refused where any of them differs (kernels, tactics and
// library heuristics are chosen for exactly one of each; see docs/engine_file.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace ridge::cuda {

struct CudaEnvironment {
  int device = 0;              // CUDA device ordinal queried (the current device)
  std::string device_name;     // cudaDeviceProp::name, e.g. "NVIDIA H200"
  uint32_t sm_version = 0;     // major * 10 + minor, e.g. 90
  std::string cuda_version;    // cudaRuntimeGetVersion, e.g. "13.0"
  std::string cudnn_version;   // cudnnGetVersion, e.g. "9.19.0"
  std::string cublas_version;  // cublasLtGetVersion, e.g. "13.1.0"
};

// Queries the current device and the loaded libraries. Unsupported when no CUDA device can be
// used (the message says why), Internal on any other CUDA error.
Result<CudaEnvironment> QueryEnvironment();

// Version numbers as the libraries report them, as text (exposed for tests):
// cudaRuntimeGetVersion's 1000 * major + 10 * minor (12040 -> "12.4");
// cuDNN 9 and cuBLASLt's 10000 * major + 100 * minor + patch (91900 -> "9.19.0").
std::string FormatCudaRuntimeVersion(int version);
std::string FormatLibraryVersion(size_t version);

}  // namespace ridge::cuda
