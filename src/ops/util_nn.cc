#include "ops/util_nn.h"

#include <cmath>
#include <cstring>

#include "core/checked_math.h"

namespace ridge::ops::nn {

std::optional<int64_t> NormAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

int64_t Prod(std::span<const int64_t> dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < dims.size(); ++i) p *= dims[i];
  return p;
}

Result<std::vector<int64_t>> IntValues(const Tensor& t, const std::string& what) {
  if (t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32) {
    return InvalidModel(what + " must be int64 or int32, got " + std::string(DTypeName(t.dtype())));
  }
  std::vector<int64_t> v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[static_cast<size_t>(i)] = t.GetAsInt64(i);
  return v;
}

// ---- Windows --------------------------------------------------------------------------------
namespace {
std::string Join(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}
}  // namespace

Result<Window> ReadWindow(const ir::Node& node, size_t spatial,
                          const std::vector<int64_t>& kernel_from_weights, bool allow_ceil_mode) {
  Window w;
  const std::string who = node.Describe(-1) + ": ";
  w.kernel = node.GetInts("kernel_shape", kernel_from_weights);
  if (w.kernel.size() != spatial) {
    return InvalidModel(who + "kernel_shape " + Join(w.kernel) + " must have " +
                        std::to_string(spatial) + " entries (one per spatial dim)");
  }
  for (int64_t k : w.kernel)
    if (k < 1) return InvalidModel(who + "kernel_shape " + Join(w.kernel) + " must be positive");
  w.strides = node.GetInts("strides", std::vector<int64_t>(spatial, 1));
  w.dilations = node.GetInts("dilations", std::vector<int64_t>(spatial, 1));
  for (const char* name : {"strides", "dilations"}) {
    const auto& v = std::string(name) == "strides" ? w.strides : w.dilations;
    if (v.size() != spatial) {
      return InvalidModel(who + name + " " + Join(v) + " must have " + std::to_string(spatial) +
                          " entries");
    }
    for (int64_t s : v)
      if (s < 1) return InvalidModel(who + name + " " + Join(v) + " must be positive");
  }
  auto pads = node.GetInts("pads", std::vector<int64_t>(2 * spatial, 0));
  if (pads.size() != 2 * spatial) {
    return InvalidModel(who + "pads " + Join(pads) + " must have " + std::to_string(2 * spatial) +
                        " entries (begins then ends)");
  }
  for (int64_t p : pads)
    if (p < 0) return InvalidModel(who + "pads " + Join(pads) + " must be non-negative");
  w.pads_begin.assign(pads.begin(), pads.begin() + static_cast<ptrdiff_t>(spatial));
  w.pads_end.assign(pads.begin() + static_cast<ptrdiff_t>(spatial), pads.end());
  // Caps keep every window computation far from int64 overflow (dims are capped at 2^40 by the
  // loader): extents d*(k-1) and s*(in-1) stay below 2^61.
  for (const auto* v : {&w.kernel, &w.strides, &w.dilations}) {
    for (int64_t x : *v)
      if (x > kMaxWindowParam) return InvalidModel(who + "kernel/stride/dilation value too large");
  }
  for (int64_t p : pads)
    if (p > kMaxPad) return InvalidModel(who + "pads value " + std::to_string(p) + " too large");
  w.auto_pad = node.GetString("auto_pad", "NOTSET");
  if (w.auto_pad != "NOTSET" && w.auto_pad != "SAME_UPPER" && w.auto_pad != "SAME_LOWER" &&
      w.auto_pad != "VALID") {
    return InvalidModel(who + "auto_pad '" + w.auto_pad +
                        "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  if (w.auto_pad != "NOTSET") {  // explicit pads are ignored (ONNX: must not be used together)
    w.pads_begin.assign(spatial, 0);
    w.pads_end.assign(spatial, 0);
  }
  int64_t ceil_mode = node.GetInt("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) return InvalidModel(who + "ceil_mode must be 0 or 1");
  if (ceil_mode && !allow_ceil_mode) return InvalidModel(who + "ceil_mode is not allowed here");
  w.ceil_mode = ceil_mode == 1;
  return w;
}

Result<int64_t> WindowOutDim(Window* w, size_t i, int64_t in) {
  if (in < 0) return int64_t{-1};
  const int64_t s = w->strides[i];
  const int64_t extent = w->dilations[i] * (w->kernel[i] - 1) + 1;  // dilated kernel
  int64_t out;
  if (w->auto_pad == "SAME_UPPER" || w->auto_pad == "SAME_LOWER") {
    out = (in + s - 1) / s;
    int64_t total = std::max<int64_t>(0, (out - 1) * s + extent - in);
    // SAME_UPPER puts the odd padding at the end, SAME_LOWER at the beginning.
    w->pads_begin[i] = w->auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    w->pads_end[i] = total - w->pads_begin[i];
  } else {
    int64_t span = in + w->pads_begin[i] + w->pads_end[i] - extent;
    if (span < 0) {
      return InvalidModel("window of extent " + std::to_string(extent) +
                          " (kernel*dilation) is larger than padded input " +
                          std::to_string(in + w->pads_begin[i] + w->pads_end[i]) +
                          " on spatial dim " + std::to_string(i));
    }
    out = (w->ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // A window may not start inside the end padding only (PyTorch and the ONNX reference).
    if (w->ceil_mode && (out - 1) * s >= in + w->pads_begin[i]) --out;
  }
  return out;
}

// ---- Floats ---------------------------------------------------------------------------------
bool IsFloatType(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat16 || d == DType::kBFloat16 ||
         d == DType::kFloat64;
}

Result<std::vector<float>> ToFloats(const Tensor& t, const std::string& what) {
  if (!IsFloatType(t.dtype())) {
    return Unsupported(what + " has dtype " + std::string(DTypeName(t.dtype())) +
                       "; this reference kernel handles float32/float16/bfloat16/float64");
  }
  std::vector<float> v(static_cast<size_t>(t.num_elements()));
  if (t.dtype() == DType::kFloat32) {
    if (!v.empty()) std::memcpy(v.data(), t.data<float>(), v.size() * sizeof(float));
  } else {
    for (int64_t i = 0; i < t.num_elements(); ++i)
      v[static_cast<size_t>(i)] = static_cast<float>(t.GetAsDouble(i));
  }
  return v;
}

Status CheckWork(double ops) {
  if (ops > kMaxRefOps) {
    return LimitExceeded("reference kernel would run " + std::to_string(ops) +
                         " operations, over the cap of " + std::to_string(kMaxRefOps));
  }
  return Status::Ok();
}

Status CheckAlloc(std::span<const int64_t> dims, size_t elem_bytes) {
  auto n = CheckedProduct(dims);
  if (!n) return InvalidArgument("tensor dims are negative or overflow");
  auto bytes = CheckedMul(*n, static_cast<int64_t>(elem_bytes));
  if (!bytes || *bytes > kMaxRefBytes) {
    return LimitExceeded("reference kernel output of " + std::to_string(*n) +
                         " elements exceeds the cap of " + std::to_string(kMaxRefBytes) + " bytes");
  }
  return Status::Ok();
}

Result<Tensor> FromFloats(DType dtype, std::vector<int64_t> dims, std::span<const float> values) {
  if (!IsFloatType(dtype)) {
    return Unsupported("cannot store floats as " + std::string(DTypeName(dtype)));
  }
  RIDGE_RETURN_IF_ERROR(CheckAlloc(dims, DTypeSize(dtype)));
  Tensor t(dtype, std::move(dims));
  if (static_cast<size_t>(t.num_elements()) != values.size()) {
    return Internal("FromFloats: element count mismatch");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    float f = values[i];
    switch (dtype) {
      case DType::kFloat32:
        t.data<float>()[i] = f;
        break;
      case DType::kFloat64:
        t.data<double>()[i] = f;
        break;
      case DType::kFloat16:
        t.data<uint16_t>()[i] = FloatToHalf(f);
        break;
      default: {  // bfloat16: round to nearest even
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        if (std::isnan(f)) {
          t.data<uint16_t>()[i] = 0x7fc0;
        } else {
          bits += 0x7fff + ((bits >> 16) & 1);
          t.data<uint16_t>()[i] = static_cast<uint16_t>(bits >> 16);
        }
      }
    }
  }
  return t;
}

NodeCost IoCost(const CostContext& ctx, OpKind kind) { return ctx.ElementwiseCost(kind, 0.0); }

Shape ShapeOf(const std::vector<int64_t>& dims_or_unknown) {
  std::vector<Dim> dims;
  dims.reserve(dims_or_unknown.size());
  for (int64_t d : dims_or_unknown) dims.push_back(d >= 0 ? Dim(d) : Dim());
  return Shape(std::move(dims));
}

std::vector<int64_t> DimsOrUnknown(const Shape& s) {
  std::vector<int64_t> v;
  v.reserve(s.rank());
  for (const Dim& d : s.dims()) v.push_back(d.known() ? d.value : -1);
  return v;
}

}  // namespace ridge::ops::nn
