// Which ops Ridgeline's CUDA engine runs on the GPU. One list, in gpu_support.cc: update it
// when a kernel lands or a plan changes; the `no_gpu_kernel` lint reads it.
#pragma once

#include <string_view>
#include <vector>

namespace ridge::analysis {

bool HasGpuKernel(std::string_view op_type);
std::vector<std::string_view> GpuSupportedOps();

}  // namespace ridge::analysis
