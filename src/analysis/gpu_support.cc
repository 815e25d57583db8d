#include "analysis/gpu_support.h"

#include <algorithm>
#include <iterator>

namespace ridge::analysis {
namespace {

// Initially: every op the CUDA engine is planned to cover (the zoo's ops). Ops absent here
// (Mod, Xor, string/bool logic, ...) would run on the host and force a device round trip.
constexpr std::string_view kGpuOps[] = {
    "Conv",
    "ConvTranspose",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "BatchNormalization",
    "LayerNormalization",
    "InstanceNormalization",
    "Gemm",
    "MatMul",
    "Softmax",
    "LogSoftmax",
    "Resize",
    "Pad",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Max",
    "Min",
    "Sum",
    "PRelu",
    "Where",
    "Equal",
    "Less",
    "Greater",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Elu",
    "Softplus",
    "Gelu",
    "Clip",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Neg",
    "Abs",
    "Erf",
    "Cast",
    "Identity",
    "Dropout",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Concat",
    "Split",
    "Slice",
    "Gather",
    "Expand",
    "Shape",
    "Constant",
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "TopK",
    "ArgMax",
};

}  // namespace

bool HasGpuKernel(std::string_view op_type) {
  return std::find(std::begin(kGpuOps), std::end(kGpuOps), op_type) != std::end(kGpuOps);
}

std::vector<std::string_view> GpuSupportedOps() { return {std::begin(kGpuOps), std::end(kGpuOps)}; }

}  // namespace ridge::analysis
