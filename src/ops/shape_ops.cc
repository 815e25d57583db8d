// Shape computations: Shape, Size, Constant, ConstantOfShape, Range.
//
// Shape and Size set a constant output in `infer` whenever the input's shape is known, even if
// the input's data is not: this is what lets Shape -> Gather -> Unsqueeze -> Concat -> Reshape
// chains fold during shape inference. When only some dims are known, consumers still see them
// through PartialIntValues (util_tensor.h).
//
// Cost: Shape, Size and Constant are resolved at build time (kShape, no FLOPs, no bytes).
// ConstantOfShape writes its output (kDataMovement); Range writes its output and counts one
// FLOP per element (start + i * delta).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/checked_math.h"
#include "ops/op.h"
#include "ops/util_tensor.h"

namespace ridge::ops {
namespace {

NodeCost CostNone(const CostContext&) {
  NodeCost c;
  c.kind = OpKind::kShape;
  return c;
}

// [start, end) of Shape's slice (opset 15), clamped to [0, rank].
void ShapeRange(const ir::Node& n, int64_t rank, int64_t* start, int64_t* end) {
  *start = n.GetInt("start", 0);
  *end = n.GetInt("end", rank);
  if (*start < 0) *start += rank;
  if (*end < 0) *end += rank;
  *start = std::clamp<int64_t>(*start, 0, rank);
  *end = std::clamp<int64_t>(*end, 0, rank);
  if (*end < *start) *end = *start;
}

Status InferShape(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const Shape* s = ctx.input_shape(0);
  if (s == nullptr) {
    ctx.SetOutput(0, DType::kInt64, Shape({Dim()}));
    return Status::Ok();
  }
  int64_t start, end;
  ShapeRange(ctx.node(), static_cast<int64_t>(s->rank()), &start, &end);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) {
    const Dim& d = (*s)[static_cast<size_t>(i)];
    if (!d.known()) {
      ctx.SetOutput(0, DType::kInt64, Shape({end - start}));
      return Status::Ok();
    }
    dims.push_back(d.value);
  }
  ctx.SetOutputConstant(0, IntsToTensor(dims));
  return Status::Ok();
}

Status RefShape(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  int64_t start, end;
  ShapeRange(ctx.node(), static_cast<int64_t>(in.rank()), &start, &end);
  std::vector<int64_t> dims(in.dims().begin() + start, in.dims().begin() + end);
  ctx.SetOutput(0, IntsToTensor(dims));
  return Status::Ok();
}

Tensor Int64Scalar(int64_t v) {
  Tensor t(DType::kInt64, {});
  t.data<int64_t>()[0] = v;
  return t;
}

Status InferSize(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const Shape* s = ctx.input_shape(0);
  auto n = s ? s->NumElements() : std::nullopt;
  if (n) {
    ctx.SetOutputConstant(0, Int64Scalar(*n));
  } else {
    ctx.SetOutput(0, DType::kInt64, Shape());
  }
  return Status::Ok();
}

Status RefSize(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  ctx.SetOutput(0, Int64Scalar(ctx.input(0).num_elements()));
  return Status::Ok();
}

// ---- Constant -------------------------------------------------------------------------------
Result<Tensor> ConstantValue(const ir::Node& n) {
  static const char* kSupported[] = {"value", "value_float", "value_floats", "value_int",
                                     "value_ints"};
  int count = 0;
  for (const auto& [name, attr] : n.attributes) {
    bool known = false;
    for (const char* k : kSupported) known |= name == k;
    if (!known && name.rfind("value", 0) == 0) {
      return Unsupported("Constant attribute '" + name + "' is not supported");
    }
    count += known;
  }
  if (count != 1) {
    return InvalidModel("Constant needs exactly one of value, value_float(s), value_int(s); got " +
                        std::to_string(count));
  }
  if (n.HasAttr("value")) {
    const Tensor& t = n.attributes.at("value").t;
    if (t.dtype() == DType::kUndefined || (t.empty() && t.num_elements() != 0)) {
      return InvalidModel("Constant attribute 'value' holds no tensor data");
    }
    return t;
  }
  if (n.HasAttr("value_float")) {
    Tensor t(DType::kFloat32, {});
    t.data<float>()[0] = n.GetFloat("value_float", 0);
    return t;
  }
  if (n.HasAttr("value_int")) return Int64Scalar(n.GetInt("value_int", 0));
  if (n.HasAttr("value_ints")) return IntsToTensor(n.GetInts("value_ints"));
  std::vector<float> f = n.GetFloats("value_floats");
  Tensor t(DType::kFloat32, {static_cast<int64_t>(f.size())});
  if (!f.empty()) std::memcpy(t.raw_data(), f.data(), f.size() * sizeof(float));
  return t;
}

Status InferConstant(InferContext& ctx) {
  if (ctx.num_inputs() != 0) return ctx.Error("Constant takes no inputs");
  if (!ctx.has_output(0)) return ctx.Error("output 0 is missing");
  auto t = ConstantValue(ctx.node());
  if (!t.ok()) return ctx.Error(t.status().message());
  ctx.SetOutputConstant(0, std::move(*t));
  return Status::Ok();
}

Status RefConstant(KernelContext& ctx) {
  auto t = ConstantValue(ctx.node());
  if (!t.ok()) return ctx.Error(t.status().message());
  ctx.SetOutput(0, std::move(*t));
  return Status::Ok();
}

// ---- ConstantOfShape ------------------------------------------------------------------------
Result<Tensor> FillValue(const ir::Node& n) {
  if (!n.HasAttr("value")) {
    Tensor t(DType::kFloat32, {1});  // default: float32 0
    return t;
  }
  const Tensor& v = n.attributes.at("value").t;
  if (v.num_elements() != 1 || v.empty() || DTypeSize(v.dtype()) == 0) {
    return InvalidModel("attribute value must be a one-element tensor");
  }
  return v;
}

Status InferConstantOfShape(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  auto v = FillValue(ctx.node());
  if (!v.ok()) return ctx.Error(v.status().message());
  if (!IsInteger(ctx.input_dtype(0)) && ctx.input_dtype(0) != DType::kUndefined) {
    return ctx.Error("input 0 (shape) must be int64");
  }
  if (const Shape* s = ctx.input_shape(0); s && s->rank() != 1) {
    return ctx.Error("input 0 (shape) must be 1-D, got " + s->ToString());
  }
  auto part = PartialIntValues(ctx.graph(), ctx.input_id(0));
  if (!part) {
    // The fill value fixes the dtype even when the shape's values are unknown (yolov8n's
    // anchor grids with a dynamic batch); the rank is the shape input's length if known.
    const Shape* s = ctx.input_shape(0);
    if (s && s->rank() == 1 && s->dims()[0].known()) {
      // A rank beyond any real tensor's is a malformed file, not a shape to allocate.
      if (s->dims()[0].value > 64) return ctx.Error("input 0 (shape) has more than 64 dims");
      ctx.SetOutput(0, v->dtype(),
                    Shape(std::vector<Dim>(static_cast<size_t>(s->dims()[0].value))));
    } else {
      ctx.SetOutputType(0, v->dtype());
    }
    return Status::Ok();
  }
  for (const PartialInt& p : *part) {
    if (p.known && p.value < 0) {
      return ctx.Error("input 0 (shape) has negative dim " + std::to_string(p.value));
    }
  }
  ctx.SetOutput(0, v->dtype(), PartialToShape(*part));
  return Status::Ok();
}

Status RefConstantOfShape(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  RIDGE_ASSIGN_OR_RETURN(Tensor v, FillValue(ctx.node()));
  RIDGE_ASSIGN_OR_RETURN(auto dims, TensorToInts(ctx.input(0), "input 0 (shape)"));
  for (int64_t d : dims) {
    if (d < 0) return ctx.Error("negative dim in shape");
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(v.dtype(), dims));
  size_t esize = DTypeSize(v.dtype());
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    std::memcpy(out.raw_data() + i * esize, v.raw_data(), esize);
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

NodeCost CostFill(const CostContext& ctx) {
  NodeCost c;
  c.kind = OpKind::kDataMovement;
  c.bytes_written = ctx.output_bytes(0);
  return c;
}

// ---- Range ----------------------------------------------------------------------------------
// Number of elements: max(ceil((limit - start) / delta), 0). Errors on delta == 0.
Result<int64_t> RangeCount(double start, double limit, double delta) {
  if (delta == 0) return InvalidModel("Range delta must not be 0");
  double n = std::ceil((limit - start) / delta);
  if (!(n >= 0)) return int64_t{0};
  if (n > static_cast<double>(int64_t{1} << 40)) {
    return LimitExceeded("Range would produce " + std::to_string(n) + " elements");
  }
  return static_cast<int64_t>(n);
}

Status InferRange(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(3, 3));
  DType t = ctx.input_dtype(0);
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.input_dtype(i) != t) return ctx.Error("start, limit and delta must share one dtype");
    const Shape* s = ctx.input_shape(i);
    if (s && !(s->rank() == 0 || (s->rank() == 1 && (*s)[0].value == 1))) {
      return ctx.Error("input " + std::to_string(i) + " must be a scalar, got " + s->ToString());
    }
  }
  const Tensor* a = ctx.input_constant(0);
  const Tensor* b = ctx.input_constant(1);
  const Tensor* c = ctx.input_constant(2);
  if (a && b && c && a->num_elements() == 1 && b->num_elements() == 1 && c->num_elements() == 1) {
    auto n = RangeCount(a->GetAsDouble(0), b->GetAsDouble(0), c->GetAsDouble(0));
    if (!n.ok()) return ctx.Error(n.status().message());
    ctx.SetOutput(0, t, Shape({*n}));
  } else {
    ctx.SetOutput(0, t, Shape({Dim()}));
  }
  return Status::Ok();
}

Status RefRange(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 3));
  const Tensor& a = ctx.input(0);
  if (a.num_elements() != 1 || ctx.input(1).num_elements() != 1 ||
      ctx.input(2).num_elements() != 1) {
    return ctx.Error("start, limit and delta must be scalars");
  }
  DType t = a.dtype();
  if (t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kInt16 && t != DType::kInt32 &&
      t != DType::kInt64) {
    return ctx.Error("unsupported dtype " + std::string(DTypeName(t)));
  }
  if (ctx.input(1).dtype() != t || ctx.input(2).dtype() != t) {
    return ctx.Error("start, limit and delta must share one dtype");
  }
  bool integral = IsInteger(t);
  auto n = integral ? RangeCount(static_cast<double>(a.GetAsInt64(0)),
                                 static_cast<double>(ctx.input(1).GetAsInt64(0)),
                                 static_cast<double>(ctx.input(2).GetAsInt64(0)))
                    : RangeCount(a.GetAsDouble(0), ctx.input(1).GetAsDouble(0),
                                 ctx.input(2).GetAsDouble(0));
  if (!n.ok()) return ctx.Error(n.status().message());
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(t, {*n}));
  RIDGE_RETURN_IF_ERROR(VisitDType(t, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      T start = a.data<T>()[0];
      T delta = ctx.input(2).data<T>()[0];
      // Repeated addition, as the ONNX reference does (matters for float rounding).
      T v = start;
      for (int64_t i = 0; i < *n; ++i) {
        out.data<T>()[i] = v;
        v = static_cast<T>(v + delta);
      }
    }
    return Status::Ok();
  }));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

NodeCost CostRange(const CostContext& ctx) {
  NodeCost c = CostFill(ctx);
  c.flops = static_cast<double>(ctx.output_elements(0));
  return c;
}

}  // namespace

extern const OpDef kOpShape{"Shape", OpKind::kShape, InferShape, CostNone, RefShape};
extern const OpDef kOpSize{"Size", OpKind::kShape, InferSize, CostNone, RefSize};
extern const OpDef kOpConstant{"Constant", OpKind::kShape, InferConstant, CostNone, RefConstant};
extern const OpDef kOpConstantOfShape{"ConstantOfShape", OpKind::kDataMovement,
                                      InferConstantOfShape, CostFill, RefConstantOfShape};
extern const OpDef kOpRange{"Range", OpKind::kDataMovement, InferRange, CostRange, RefRange};

}  // namespace ridge::ops
