#include "backends/cuda/environment.h"

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/engine.h"

namespace ridge::cuda {

std::string FormatCudaRuntimeVersion(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string FormatLibraryVersion(size_t version) {
  return std::to_string(version / 10000) + "." + std::to_string(version % 10000 / 100) + "." +
         std::to_string(version % 100);
}

Result<CudaEnvironment> QueryEnvironment() {
  std::string why;
  if (!DeviceAvailable(&why)) return Unsupported("no usable CUDA device: " + why);
  CudaEnvironment env;
  RIDGE_CUDA(cudaGetDevice(&env.device));
  cudaDeviceProp prop{};
  RIDGE_CUDA(cudaGetDeviceProperties(&prop, env.device));
  env.device_name = prop.name;
  env.sm_version = static_cast<uint32_t>(prop.major * 10 + prop.minor);
  int runtime_version = 0;
  RIDGE_CUDA(cudaRuntimeGetVersion(&runtime_version));
  env.cuda_version = FormatCudaRuntimeVersion(runtime_version);
  env.cudnn_version = FormatLibraryVersion(cudnnGetVersion());
  env.cublas_version = FormatLibraryVersion(cublasLtGetVersion());
  return env;
}

}  // namespace ridge::cuda
