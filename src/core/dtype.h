// Element types. Values match ONNX's TensorProto.DataType so the loader maps them 1:1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ridge {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
};

// Size of one element in bytes; 0 for kUndefined and kString.
size_t DTypeSize(DType dtype);
std::string_view DTypeName(DType dtype);  // "float32", "int64", ...
bool IsFloatingPoint(DType dtype);
bool IsInteger(DType dtype);
// True for the values of the ONNX enum that Ridgeline knows (see above).
bool IsKnownDType(int32_t onnx_type);

// The precision an analysis or engine computes in: fixes bytes per activation/weight
// and which peak throughput applies.
enum class Precision { kFp32, kTf32, kFp16, kInt8 };
std::string_view PrecisionName(Precision p);  // "fp32", "tf32", "fp16", "int8"
bool ParsePrecision(std::string_view text, Precision* out);
size_t PrecisionBytes(Precision p);  // 4, 4, 2, 1

}  // namespace ridge
