// onnx::TensorProto -> ridge::Tensor, validating dtype, dims and data size before allocating.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "onnx/loader.h"
#include "onnx/onnx_pb.h"

namespace ridge::onnx::internal {

struct TensorReadContext {
  const LoadLimits* limits = nullptr;
  std::string base_dir;   // model folder for external data ("" refuses it)
  bool load_data = true;  // false: validate sizes only, leave ParsedTensor::data empty
};

struct ParsedTensor {
  DType dtype = DType::kUndefined;
  std::vector<int64_t> dims;
  int64_t size_bytes = 0;
  std::optional<Tensor> data;  // set when load_data
};

// Maps TensorProto.data_type to DType: 0 -> InvalidModel, types ONNX has but Ridgeline does not
// (string, complex, float8, int4) -> Unsupported, anything else -> InvalidModel.
Result<DType> ConvertDType(int32_t onnx_type);

// Errors say what is wrong (expected vs actual bytes, location and offset); the caller prefixes
// which tensor ("initializer #3 'conv1.weight'").
Result<ParsedTensor> ParseTensorProto(const ::onnx::TensorProto& proto,
                                      const TensorReadContext& ctx);

}  // namespace ridge::onnx::internal
