// Tensor: a dense, host-resident, row-major buffer with a dtype and fully known dims.
// Used for initializers, folded constants, reference-kernel inputs/outputs and npy I/O.
// Copies share the buffer (cheap); use Clone() for a deep copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace ridge {

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage. Callers validate sizes first (see MakeChecked).
  Tensor(DType dtype, std::vector<int64_t> dims);
  // Validates dims (non-negative, no overflow, at most max_bytes) before allocating.
  static Result<Tensor> MakeChecked(DType dtype, std::vector<int64_t> dims, int64_t max_bytes);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  size_t rank() const { return dims_.size(); }
  int64_t num_elements() const { return num_elements_; }
  size_t size_bytes() const { return static_cast<size_t>(num_elements_) * DTypeSize(dtype_); }
  bool empty() const { return data_ == nullptr; }

  std::byte* raw_data() { return data_ ? data_->data() : nullptr; }
  const std::byte* raw_data() const { return data_ ? data_->data() : nullptr; }
  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(raw_data());
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(num_elements_)};
  }
  template <typename T>
  std::span<T> span() {
    return {data<T>(), static_cast<size_t>(num_elements_)};
  }

  // Element i converted to double / int64 whatever the dtype (for folding and tests).
  double GetAsDouble(int64_t i) const;
  int64_t GetAsInt64(int64_t i) const;
  // Deep copy.
  Tensor Clone() const;
  // Same buffer, new dims with the same element count.
  Tensor Reshaped(std::vector<int64_t> dims) const;

 private:
  DType dtype_ = DType::kUndefined;
  std::vector<int64_t> dims_;
  int64_t num_elements_ = 0;
  std::shared_ptr<std::vector<std::byte>> data_;
};

// IEEE half <-> float conversions (used by reference kernels and fp16 tests).
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);

}  // namespace ridge
