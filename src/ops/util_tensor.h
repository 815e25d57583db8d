// Helpers shared by the tensor-manipulation ops (and usable by any op): numpy-style
// multidirectional broadcasting over Dim/Shape (unknown and symbolic dims included), flat index
// iteration over broadcast inputs for reference kernels, axis normalization, reading constant
// int lists, and dtype dispatch.
//
// Broadcasting of unknown dims (ONNX semantics: each pair must be equal or one must be 1):
//   known 1  x  d        -> d (d may be unknown)
//   known N>1 x unknown  -> N (the unknown one must be 1 or N; either way the result is N)
//   unknown  x  unknown  -> the shared symbol when both carry the same symbol, else unknown
//   known N  x  known M  -> error when N != M and neither is 1
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"

namespace ridge::ir {
class Graph;
}  // namespace ridge::ir
namespace ridge::ops {
class KernelContext;
}  // namespace ridge::ops

namespace ridge::ops {

// Largest tensor a reference kernel will allocate (1 GiB): a crafted shape cannot make
// constant folding or a test allocate without bound.
inline constexpr int64_t kMaxKernelBytes = int64_t{1} << 30;

// ---- Axes -----------------------------------------------------------------------------------
// Maps axis in [-rank, rank) to [0, rank); InvalidModel naming `what` otherwise.
Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what = "axis");
// Normalizes every axis and rejects duplicates.
Result<std::vector<int64_t>> NormalizeAxes(std::span<const int64_t> axes, int64_t rank,
                                           const std::string& what = "axes");

// ---- Broadcasting ---------------------------------------------------------------------------
Result<Dim> BroadcastDim(const Dim& a, const Dim& b);
Result<Shape> BroadcastShapes(const Shape& a, const Shape& b);
Result<Shape> BroadcastShapes(std::span<const Shape> shapes);
Result<std::vector<int64_t>> BroadcastInts(std::span<const int64_t> a, std::span<const int64_t> b);

// Row-major strides of dims.
std::vector<int64_t> ContiguousStrides(std::span<const int64_t> dims);
// Strides of an input of dims `in` read at the coordinates of `out` (right-aligned; 0 on
// broadcast axes). `in` must be broadcast-compatible with `out`.
std::vector<int64_t> BroadcastStrides(std::span<const int64_t> in, std::span<const int64_t> out);

// Walks every element of `out_dims` in row-major order, calling fn(out_index, in_offsets) where
// in_offsets[k] is the flat offset in input k (broadcast per BroadcastStrides).
class BroadcastIterator {
 public:
  BroadcastIterator(std::vector<int64_t> out_dims, const std::vector<std::vector<int64_t>>& ins);
  template <typename Fn>
  void ForEach(Fn&& fn) {
    int64_t total = 1;
    for (int64_t d : out_dims_) total *= d;
    std::vector<int64_t> idx(out_dims_.size(), 0);
    std::vector<int64_t> off(strides_.size(), 0);
    for (int64_t i = 0; i < total; ++i) {
      fn(i, off.data());
      // Increment the multi-index, updating offsets incrementally.
      for (size_t ax = out_dims_.size(); ax-- > 0;) {
        ++idx[ax];
        for (size_t k = 0; k < strides_.size(); ++k) off[k] += strides_[k][ax];
        if (idx[ax] < out_dims_[ax]) break;
        for (size_t k = 0; k < strides_.size(); ++k) off[k] -= strides_[k][ax] * idx[ax];
        idx[ax] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> out_dims_;
  std::vector<std::vector<int64_t>> strides_;  // per input, per output axis
};

// Reference kernels may be called directly (backends, tests): checks that inputs [0, n) are
// present, so a malformed call is an error rather than a null dereference.
Status RequireInputs(const KernelContext& ctx, size_t n);

// ---- Tensors --------------------------------------------------------------------------------
// Elements of an integer tensor (int8..int64, uint*) as int64; error for other dtypes.
Result<std::vector<int64_t>> TensorToInts(const Tensor& t, const std::string& what);
// A 1-D int64 tensor holding `values`.
Tensor IntsToTensor(std::span<const int64_t> values);
// Float32 copy of a float16/bfloat16/float64 tensor; float32 tensors are returned as is.
Result<Tensor> ToFloat32(const Tensor& t);
// Tensor of `dtype` and `dims`, checked against kMaxKernelBytes.
Result<Tensor> NewTensor(DType dtype, std::vector<int64_t> dims);
// Copies float32 data back into `dtype` (float16/bfloat16/float64 round to nearest).
Result<Tensor> FromFloat32(const Tensor& t, DType dtype);

bool IsFloatLike(DType d);  // float16, bfloat16, float32, float64

// Calls fn(T{}) with T the C++ type of `dtype` for every fixed-size dtype except the 16-bit
// floats (stored as uint16_t) and string. Returns Unsupported for others.
template <typename Fn>
Status VisitDType(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kFloat32:
      return fn(float{});
    case DType::kFloat64:
      return fn(double{});
    case DType::kInt8:
      return fn(int8_t{});
    case DType::kUInt8:
      return fn(uint8_t{});
    case DType::kInt16:
      return fn(int16_t{});
    case DType::kUInt16:
      return fn(uint16_t{});
    case DType::kInt32:
      return fn(int32_t{});
    case DType::kUInt32:
      return fn(uint32_t{});
    case DType::kInt64:
      return fn(int64_t{});
    case DType::kUInt64:
      return fn(uint64_t{});
    case DType::kBool:
      return fn(bool{});
    default:
      return Unsupported("dtype " + std::string(DTypeName(dtype)) + " is not supported here");
  }
}

// Element size in bytes for copying raw elements (data movement kernels); 0 if unsupported.
inline size_t RawElementSize(DType d) { return DTypeSize(d); }

}  // namespace ridge::ops

// ---- Partial values of shape tensors ---------------------------------------------------------
namespace ridge::ops {

// One element of a small integer tensor whose value may be only partly known at build time,
// e.g. Shape(x) for x of shape Nx3x224x224 is [N, 3, 224, 224] with N unknown (symbol "N").
struct PartialInt {
  bool known = false;
  int64_t value = 0;   // when known (may be negative, e.g. Reshape's -1)
  std::string symbol;  // when unknown: the dim symbol it came from, "" if anonymous
};

// Elements of 1-D (or scalar) integer value `id`, looking through the producers that carry
// shape values (Shape, Gather on axis 0 with constant indices, Unsqueeze, Squeeze, Concat, Cast,
// Identity, and Slice with constant parameters). nullopt when the element count is unknown.
// This is ONNX-style data propagation: it lets Reshape/Expand/ConstantOfShape/Tile keep known
// dims when only the batch is symbolic.
std::optional<std::vector<PartialInt>> PartialIntValues(const ir::Graph& graph, int32_t id);

// Converts partial elements that are dims (non-negative or unknown) into a Shape.
Shape PartialToShape(const std::vector<PartialInt>& values);

// Copies `in` into a new tensor permuted by `perm` (out dim i = in dim perm[i]); any dtype.
Result<Tensor> TransposeTensor(const Tensor& in, std::span<const int64_t> perm);

}  // namespace ridge::ops
