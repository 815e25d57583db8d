#include "core/shape.h"

#include "core/checked_math.h"

namespace ridge {

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) dims_.emplace_back(d);
}

Shape Shape::FromInts(const std::vector<int64_t>& dims) {
  Shape s;
  for (int64_t d : dims) s.dims_.emplace_back(d);
  return s;
}

bool Shape::fully_known() const {
  for (const Dim& d : dims_)
    if (!d.known()) return false;
  return true;
}

std::optional<std::vector<int64_t>> Shape::ToInts() const {
  std::vector<int64_t> out;
  out.reserve(dims_.size());
  for (const Dim& d : dims_) {
    if (!d.known()) return std::nullopt;
    out.push_back(d.value);
  }
  return out;
}

std::optional<int64_t> Shape::NumElements() const {
  auto ints = ToInts();
  if (!ints) return std::nullopt;
  return CheckedProduct(*ints);
}

std::string Shape::ToString() const {
  if (dims_.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += 'x';
    if (dims_[i].known()) {
      s += std::to_string(dims_[i].value);
    } else {
      s += dims_[i].symbol.empty() ? "?" : dims_[i].symbol;
    }
  }
  return s;
}

}  // namespace ridge
