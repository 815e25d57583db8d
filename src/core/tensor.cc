#include "core/tensor.h"

#include <cassert>
#include <cstring>

#include "core/checked_math.h"

namespace ridge {

Tensor::Tensor(DType dtype, std::vector<int64_t> dims) : dtype_(dtype), dims_(std::move(dims)) {
  auto n = CheckedProduct(dims_);
  assert(n.has_value());
  num_elements_ = n.value_or(0);
  data_ = std::make_shared<std::vector<std::byte>>(size_bytes());
}

Result<Tensor> Tensor::MakeChecked(DType dtype, std::vector<int64_t> dims, int64_t max_bytes) {
  if (DTypeSize(dtype) == 0) {
    return Unsupported("tensor dtype " + std::string(DTypeName(dtype)) + " has no fixed size");
  }
  auto n = CheckedProduct(dims);
  if (!n) return InvalidArgument("tensor dims are negative or their product overflows");
  auto bytes = CheckedMul(*n, static_cast<int64_t>(DTypeSize(dtype)));
  if (!bytes || *bytes > max_bytes) {
    return LimitExceeded("tensor of " + std::to_string(*n) + " elements exceeds the cap of " +
                         std::to_string(max_bytes) + " bytes");
  }
  return Tensor(dtype, std::move(dims));
}

double Tensor::GetAsDouble(int64_t i) const {
  switch (dtype_) {
    case DType::kFloat32:
      return data<float>()[i];
    case DType::kFloat64:
      return data<double>()[i];
    case DType::kFloat16:
      return HalfToFloat(data<uint16_t>()[i]);
    case DType::kBFloat16: {
      uint32_t bits = static_cast<uint32_t>(data<uint16_t>()[i]) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case DType::kInt8:
      return data<int8_t>()[i];
    case DType::kUInt8:
      return data<uint8_t>()[i];
    case DType::kInt16:
      return data<int16_t>()[i];
    case DType::kUInt16:
      return data<uint16_t>()[i];
    case DType::kInt32:
      return data<int32_t>()[i];
    case DType::kUInt32:
      return data<uint32_t>()[i];
    case DType::kInt64:
      return static_cast<double>(data<int64_t>()[i]);
    case DType::kUInt64:
      return static_cast<double>(data<uint64_t>()[i]);
    case DType::kBool:
      return data<uint8_t>()[i] ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

int64_t Tensor::GetAsInt64(int64_t i) const {
  switch (dtype_) {
    case DType::kInt64:
      return data<int64_t>()[i];
    case DType::kInt32:
      return data<int32_t>()[i];
    case DType::kUInt64:
      return static_cast<int64_t>(data<uint64_t>()[i]);
    default:
      return static_cast<int64_t>(GetAsDouble(i));
  }
}

Tensor Tensor::Clone() const {
  Tensor t = *this;
  if (data_) t.data_ = std::make_shared<std::vector<std::byte>>(*data_);
  return t;
}

Tensor Tensor::Reshaped(std::vector<int64_t> dims) const {
  Tensor t = *this;
  t.dims_ = std::move(dims);
  assert(CheckedProduct(t.dims_).value_or(-1) == num_elements_);
  return t;
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t abs = x & 0x7fffffff;
  if (abs >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);  // overflow -> inf
  if (abs < 0x38800000u) {                                              // subnormal or zero in half
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    uint32_t exp = abs >> 23;
    uint32_t mant = (abs & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - exp;  // half subnormal unit is 2^-24
    uint32_t result = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (result & 1))) ++result;
    return static_cast<uint16_t>(sign | result);
  }
  uint32_t result = ((abs - 0x38000000u) >> 13);
  uint32_t rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (result & 1))) ++result;
  return static_cast<uint16_t>(sign | result);
}

}  // namespace ridge
