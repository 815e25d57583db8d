// Tensor shapes whose dims may be unknown or symbolic ("batch", "N").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ridge {

// One dimension: a known non-negative size, or unknown with an optional symbol name.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // ONNX dim_param when unknown ("" if anonymous)

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT(google-explicit-constructor)
  static Dim Symbolic(std::string name) {
    Dim d;
    d.symbol = std::move(name);
    return d;
  }
  bool known() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
};

class Shape {
 public:
  Shape() = default;
  Shape(std::vector<Dim> dims) : dims_(std::move(dims)) {}  // NOLINT
  Shape(std::initializer_list<int64_t> dims);
  static Shape FromInts(const std::vector<int64_t>& dims);

  size_t rank() const { return dims_.size(); }
  const Dim& operator[](size_t i) const { return dims_[i]; }
  Dim& operator[](size_t i) { return dims_[i]; }
  const std::vector<Dim>& dims() const { return dims_; }
  std::vector<Dim>& dims() { return dims_; }

  bool fully_known() const;
  // Known dims as ints; nullopt if any dim is unknown.
  std::optional<std::vector<int64_t>> ToInts() const;
  // Element count; nullopt if unknown or on overflow.
  std::optional<int64_t> NumElements() const;
  // "1x3x224x224", with symbols or '?' for unknown dims; "scalar" for rank 0.
  std::string ToString() const;
  bool operator==(const Shape& o) const { return dims_ == o.dims_; }

 private:
  std::vector<Dim> dims_;
};

}  // namespace ridge
