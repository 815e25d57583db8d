// Helpers shared by the neural-network ops (conv, pool, normalization, gemm, softmax, resize,
// pad, reduce, topk): axis normalization, sliding-window geometry (kernel/stride/dilation/pads/
// auto_pad), float conversion for reference kernels, and the plain "read inputs, write outputs"
// byte accounting. They live in ridge::ops::nn so that they never collide with the tensor-op
// helpers of util_tensor.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ops/op.h"

namespace ridge::ops::nn {

// Reference kernels refuse to allocate more than this (1 GiB); folding never gets near it.
inline constexpr int64_t kMaxRefBytes = int64_t{1} << 30;
// Nor to run more than this many inner-loop steps (a crafted huge kernel cannot hang folding).
inline constexpr double kMaxRefOps = 1e11;
// Window attribute caps (kernel, stride, dilation; pads), far above any real model.
inline constexpr int64_t kMaxWindowParam = int64_t{1} << 20;
inline constexpr int64_t kMaxPad = int64_t{1} << 31;

// Maps axis in [-rank, rank) to [0, rank); nullopt when out of range.
std::optional<int64_t> NormAxis(int64_t axis, int64_t rank);

// Product of dims in [begin, end); 1 for an empty range.
int64_t Prod(std::span<const int64_t> dims, size_t begin, size_t end);
inline int64_t Prod(std::span<const int64_t> dims) { return Prod(dims, 0, dims.size()); }

// Integer values of a constant int32/int64 tensor (the dtypes ONNX allows for axes, pads, K,
// sizes); error naming `what` otherwise.
Result<std::vector<int64_t>> IntValues(const Tensor& t, const std::string& what);

// ---- Sliding windows (Conv, ConvTranspose, MaxPool, AveragePool) ------------------------------
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pads_begin, pads_end;  // resolved for the given input (auto_pad applied)
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

// Reads kernel_shape (or `kernel_from_weights` when the attribute is absent and it is non-empty),
// strides, dilations, pads, auto_pad and ceil_mode, validating sizes and signs. Error strings
// name the attribute. `spatial` is the number of spatial dims.
Result<Window> ReadWindow(const ir::Node& node, size_t spatial,
                          const std::vector<int64_t>& kernel_from_weights, bool allow_ceil_mode);

// Output size of one spatial dim of a convolution/pool, or nullopt when `in` is unknown (< 0).
// Resolves SAME_* pads into w->pads_begin/pads_end[i] when `in` is known. Error when the window
// does not fit (output size < 1).
Result<int64_t> WindowOutDim(Window* w, size_t i, int64_t in);

// ---- Float views for reference kernels ---------------------------------------------------------
// float32 copy of a float16/bfloat16/float32/float64 tensor; error naming `what` otherwise.
Result<std::vector<float>> ToFloats(const Tensor& t, const std::string& what);
// A tensor of `dtype` (float16/bfloat16/float32/float64) holding `values` (rounded).
Result<Tensor> FromFloats(DType dtype, std::vector<int64_t> dims, std::span<const float> values);
bool IsFloatType(DType d);

// LimitExceeded when a reference kernel would take more than kMaxRefOps steps.
Status CheckWork(double ops);

// Checked element count of dims against kMaxRefBytes at `elem_bytes` per element.
Status CheckAlloc(std::span<const int64_t> dims, size_t elem_bytes);

// Byte accounting shared by most ops: every present input read once (constants as weight bytes),
// every present output written once; flops 0.
NodeCost IoCost(const CostContext& ctx, OpKind kind);

// Shape from dims where negative values mean unknown.
Shape ShapeOf(const std::vector<int64_t>& dims_or_unknown);
// Dims of a shape with -1 for unknown dims.
std::vector<int64_t> DimsOrUnknown(const Shape& s);

}  // namespace ridge::ops::nn
