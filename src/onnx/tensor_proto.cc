#include "onnx/tensor_proto.h"

#include <bit>
#include <cstring>

#include "core/checked_math.h"
#include "onnx/external_data.h"

namespace ridge::onnx::internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "raw_data is little-endian; a big-endian host would need byte swaps");

std::string DimsToString(const std::vector<int64_t>& dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

Status SizeMismatch(const ParsedTensor& t, const char* field, int64_t actual_bytes) {
  return InvalidModel("data size mismatch: dims " + DimsToString(t.dims) + " of " +
                      std::string(DTypeName(t.dtype)) + " need " + std::to_string(t.size_bytes) +
                      " bytes, " + field + " holds " + std::to_string(actual_bytes) + " bytes");
}

// Copies a typed repeated field into `dest`, narrowing each element to T.
template <typename T, typename Field>
void CopyTyped(const Field& field, std::byte* dest) {
  T* out = reinterpret_cast<T*>(dest);
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
}

// Which typed field carries `dtype` (ONNX spec, TensorProto comments): the field's element
// count must equal the tensor's element count.
Status CopyTypedField(const ::onnx::TensorProto& p, const ParsedTensor& t, int64_t n,
                      std::byte* dest) {
  auto check = [&](int count, const char* field, size_t elem_bytes) -> Status {
    if (count != n) {
      return SizeMismatch(t, field, static_cast<int64_t>(count) * static_cast<int64_t>(elem_bytes));
    }
    return Status::Ok();
  };
  switch (t.dtype) {
    case DType::kFloat32:
      RIDGE_RETURN_IF_ERROR(check(p.float_data_size(), "float_data", 4));
      if (dest) CopyTyped<float>(p.float_data(), dest);
      return Status::Ok();
    case DType::kFloat64:
      RIDGE_RETURN_IF_ERROR(check(p.double_data_size(), "double_data", 8));
      if (dest) CopyTyped<double>(p.double_data(), dest);
      return Status::Ok();
    case DType::kInt64:
      RIDGE_RETURN_IF_ERROR(check(p.int64_data_size(), "int64_data", 8));
      if (dest) CopyTyped<int64_t>(p.int64_data(), dest);
      return Status::Ok();
    case DType::kUInt32:
      RIDGE_RETURN_IF_ERROR(check(p.uint64_data_size(), "uint64_data", 8));
      if (dest) CopyTyped<uint32_t>(p.uint64_data(), dest);
      return Status::Ok();
    case DType::kUInt64:
      RIDGE_RETURN_IF_ERROR(check(p.uint64_data_size(), "uint64_data", 8));
      if (dest) CopyTyped<uint64_t>(p.uint64_data(), dest);
      return Status::Ok();
    case DType::kInt32:
      RIDGE_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data", 4));
      if (dest) CopyTyped<int32_t>(p.int32_data(), dest);
      return Status::Ok();
    case DType::kInt8:
      RIDGE_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data", 4));
      if (dest) CopyTyped<int8_t>(p.int32_data(), dest);
      return Status::Ok();
    case DType::kUInt8:
      RIDGE_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data", 4));
      if (dest) CopyTyped<uint8_t>(p.int32_data(), dest);
      return Status::Ok();
    case DType::kBool:
      RIDGE_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data", 4));
      if (dest) {
        for (int i = 0; i < p.int32_data_size(); ++i) {
          reinterpret_cast<uint8_t*>(dest)[i] = p.int32_data(i) != 0 ? 1 : 0;
        }
      }
      return Status::Ok();
    case DType::kInt16:
      RIDGE_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data", 4));
      if (dest) CopyTyped<int16_t>(p.int32_data(), dest);
      return Status::Ok();
    case DType::kUInt16:
    case DType::kFloat16:  // int32_data holds the 16-bit pattern
    case DType::kBFloat16:
      RIDGE_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data", 4));
      if (dest) CopyTyped<uint16_t>(p.int32_data(), dest);
      return Status::Ok();
    default:
      return Unsupported("dtype " + std::string(DTypeName(t.dtype)) + " in typed fields");
  }
}

}  // namespace

Result<DType> ConvertDType(int32_t onnx_type) {
  if (onnx_type == 0) return InvalidModel("data type is UNDEFINED (0)");
  if (onnx_type == static_cast<int32_t>(DType::kString)) {
    return Unsupported("string tensors are not supported");
  }
  if (IsKnownDType(onnx_type)) return static_cast<DType>(onnx_type);
  // 14/15 complex, 17..23 float8/uint4/int4/float4 (ONNX 1.14+).
  if (onnx_type >= 14 && onnx_type <= 23) {
    return Unsupported("data type " + std::to_string(onnx_type) +
                       " (complex, float8 or 4-bit) is not supported");
  }
  return InvalidModel("unknown data type " + std::to_string(onnx_type));
}

Result<ParsedTensor> ParseTensorProto(const ::onnx::TensorProto& p, const TensorReadContext& ctx) {
  const LoadLimits& limits = *ctx.limits;
  ParsedTensor t;
  RIDGE_ASSIGN_OR_RETURN(t.dtype, ConvertDType(p.data_type()));
  if (p.has_segment()) return Unsupported("segmented tensors are not supported");
  if (p.dims_size() > limits.max_rank) {
    return LimitExceeded("rank " + std::to_string(p.dims_size()) + " exceeds the cap of " +
                         std::to_string(limits.max_rank));
  }
  t.dims.assign(p.dims().begin(), p.dims().end());
  for (size_t i = 0; i < t.dims.size(); ++i) {
    if (t.dims[i] < 0) {
      return InvalidModel("dim " + std::to_string(i) + " is negative (" +
                          std::to_string(t.dims[i]) + ")");
    }
    if (t.dims[i] > limits.max_dim_value) {
      return LimitExceeded("dim " + std::to_string(i) + " = " + std::to_string(t.dims[i]) +
                           " exceeds the cap of " + std::to_string(limits.max_dim_value));
    }
  }
  const auto n = CheckedProduct(t.dims);
  const auto bytes =
      n ? CheckedMul(*n, static_cast<int64_t>(DTypeSize(t.dtype))) : std::optional<int64_t>();
  if (!bytes) {
    return LimitExceeded("dims " + DimsToString(t.dims) + " overflow a 64-bit byte count");
  }
  if (*bytes > limits.max_tensor_bytes) {
    return LimitExceeded("dims " + DimsToString(t.dims) + " of " + std::string(DTypeName(t.dtype)) +
                         " need " + std::to_string(*bytes) + " bytes, over the per-tensor cap of " +
                         std::to_string(limits.max_tensor_bytes));
  }
  t.size_bytes = *bytes;

  const bool external = p.data_location() == ::onnx::TensorProto::EXTERNAL;
  if (!external && p.external_data_size() > 0) {
    return InvalidModel("external_data keys are set but data_location is not EXTERNAL");
  }
  // Sizes are validated before anything is allocated.
  if (external) {
    if (p.has_raw_data()) return InvalidModel("data_location is EXTERNAL but raw_data is set");
    RIDGE_ASSIGN_OR_RETURN(ExternalRef ref, ParseExternalRef(p));
    RIDGE_RETURN_IF_ERROR(ReadExternalData(ctx.base_dir, ref, t.size_bytes, nullptr));
    if (ctx.load_data) {
      RIDGE_ASSIGN_OR_RETURN(Tensor tensor,
                             Tensor::MakeChecked(t.dtype, t.dims, limits.max_tensor_bytes));
      RIDGE_RETURN_IF_ERROR(ReadExternalData(ctx.base_dir, ref, t.size_bytes, tensor.raw_data()));
      t.data = std::move(tensor);
    }
    return t;
  }
  if (p.has_raw_data()) {
    const auto raw_bytes = static_cast<int64_t>(p.raw_data().size());
    if (raw_bytes != t.size_bytes) return SizeMismatch(t, "raw_data", raw_bytes);
    if (ctx.load_data) {
      RIDGE_ASSIGN_OR_RETURN(Tensor tensor,
                             Tensor::MakeChecked(t.dtype, t.dims, limits.max_tensor_bytes));
      if (raw_bytes > 0) std::memcpy(tensor.raw_data(), p.raw_data().data(), p.raw_data().size());
      t.data = std::move(tensor);
    }
    return t;
  }
  RIDGE_RETURN_IF_ERROR(CopyTypedField(p, t, *n, nullptr));
  if (ctx.load_data) {
    RIDGE_ASSIGN_OR_RETURN(Tensor tensor,
                           Tensor::MakeChecked(t.dtype, t.dims, limits.max_tensor_bytes));
    RIDGE_RETURN_IF_ERROR(CopyTypedField(p, t, *n, tensor.raw_data()));
    t.data = std::move(tensor);
  }
  return t;
}

}  // namespace ridge::onnx::internal
