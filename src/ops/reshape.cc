// Layout ops: Reshape, Flatten, Squeeze, Unsqueeze (views), Transpose, DepthToSpace,
// SpaceToDepth (copies).
//
// Cost: Reshape, Flatten, Squeeze and Unsqueeze are free in a real engine (a view over the same
// buffer moves nothing): kDataMovement with 0 FLOPs and 0 bytes. Transpose, DepthToSpace and
// SpaceToDepth read and write every element (kDataMovement, 0 FLOPs).
//
// Inference works on Shapes with unknown/symbolic dims. Reshape's target shape may be constant
// or only partly known (PartialIntValues: e.g. Concat(Gather(Shape(x), 0), [-1]) with a
// symbolic batch gives [N, -1]); -1 is resolved by cancelling unknown dims that the output
// shares with the input (same symbol, or copied by a 0 at the same index).
// Squeeze/Unsqueeze take axes from input 1 (opset >= 13) or the `axes` attribute (before).
#include <numeric>

#include "core/checked_math.h"
#include "ops/op.h"
#include "ops/util_tensor.h"

namespace ridge::ops {
namespace {

NodeCost CostView(const CostContext&) {
  NodeCost c;
  c.kind = OpKind::kDataMovement;
  return c;
}

NodeCost CostCopy(const CostContext& ctx) {
  NodeCost c;
  c.kind = OpKind::kDataMovement;
  c.bytes_read = ctx.input_bytes(0);
  c.bytes_written = ctx.output_bytes(0);
  return c;
}

Status SetReshaped(KernelContext& ctx, const Shape& out) {
  auto dims = out.ToInts();
  const Tensor& in = ctx.input(0);
  if (!dims || CheckedProduct(*dims).value_or(-1) != in.num_elements()) {
    return ctx.Error("cannot reshape " + Shape::FromInts(in.dims()).ToString() + " to " +
                     out.ToString());
  }
  ctx.SetOutput(0, in.Reshaped(*dims));
  return Status::Ok();
}

// ---- Reshape --------------------------------------------------------------------------------
// Output shape of Reshape(input `in`, target `target`). Errors are plain messages.
Result<Shape> ReshapeShape(const Shape* in, const std::vector<PartialInt>& target, bool allowzero) {
  std::vector<Dim> out(target.size());
  std::vector<bool> copied(target.size(), false);
  int minus_one = -1;
  bool has_zero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    const PartialInt& p = target[i];
    if (!p.known) {
      out[i] = Dim::Symbolic(p.symbol);
    } else if (p.value == -1) {
      if (minus_one >= 0) return InvalidModel("shape has more than one -1");
      minus_one = static_cast<int>(i);
    } else if (p.value < -1) {
      return InvalidModel("shape has invalid value " + std::to_string(p.value));
    } else if (p.value == 0 && !allowzero) {
      if (in && i >= in->rank()) {
        return InvalidModel("shape[" + std::to_string(i) + "] = 0 copies a dim the input (" +
                            in->ToString() + ") does not have");
      }
      out[i] = in ? (*in)[i] : Dim();
      copied[i] = true;
    } else {
      has_zero |= p.value == 0;
      out[i] = Dim(p.value);
    }
  }
  if (allowzero && has_zero && minus_one >= 0) {
    return InvalidModel("shape has both 0 and -1 while allowzero=1");
  }
  if (in == nullptr) return Shape(std::move(out));
  // Cancel unknown dims shared by input and output, then compare known products.
  std::vector<bool> in_used(in->rank(), false);
  int64_t known_in = 1, known_out = 1;
  bool resolvable = true;
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<int>(i) == minus_one || out[i].known()) {
      if (out[i].known()) {
        auto m = CheckedMul(known_out, out[i].value);
        if (!m) return InvalidModel("shape " + Shape(out).ToString() + " overflows int64");
        known_out = *m;
      }
      continue;
    }
    bool matched = false;
    if (copied[i] && !in_used[i]) {
      in_used[i] = matched = true;
    } else if (!out[i].symbol.empty()) {
      for (size_t k = 0; k < in->rank() && !matched; ++k) {
        if (!in_used[k] && !(*in)[k].known() && (*in)[k].symbol == out[i].symbol) {
          in_used[k] = matched = true;
        }
      }
    }
    resolvable &= matched;
  }
  for (size_t k = 0; k < in->rank(); ++k) {
    if (in_used[k]) continue;
    if ((*in)[k].known()) {
      auto m = CheckedMul(known_in, (*in)[k].value);
      if (!m) return InvalidModel("input element count overflows");
      known_in = *m;
    } else {
      resolvable = false;
    }
  }
  if (!resolvable) return Shape(std::move(out));
  if (minus_one >= 0) {
    if (known_out == 0 || known_in % known_out != 0) {
      return InvalidModel("cannot infer -1: input " + in->ToString() + " does not divide into " +
                          PartialToShape(target).ToString());
    }
    out[static_cast<size_t>(minus_one)] = Dim(known_in / known_out);
  } else if (known_in != known_out) {
    return InvalidModel("cannot reshape " + in->ToString() + " (" + std::to_string(known_in) +
                        " elements) to " + Shape(out).ToString());
  }
  return Shape(std::move(out));
}

Status InferReshape(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 2));
  DType t1 = ctx.input_dtype(1);
  if (t1 != DType::kInt64 && t1 != DType::kUndefined) {
    return ctx.Error("input 1 (shape) must be int64, got " + std::string(DTypeName(t1)));
  }
  auto target = PartialIntValues(ctx.graph(), ctx.input_id(1));
  if (!target) {
    const Shape* ss = ctx.input_shape(1);
    if (ss && ss->rank() == 1 && (*ss)[0].known() && (*ss)[0].value <= 64) {
      ctx.SetOutput(0, ctx.input_dtype(0),
                    Shape(std::vector<Dim>(static_cast<size_t>((*ss)[0].value))));
    }
    return Status::Ok();
  }
  auto out = ReshapeShape(ctx.input_shape(0), *target, ctx.node().GetInt("allowzero", 0) != 0);
  if (!out.ok()) return ctx.Error(out.status().message());
  ctx.SetOutput(0, ctx.input_dtype(0), std::move(*out));
  return Status::Ok();
}

Status RefReshape(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  RIDGE_ASSIGN_OR_RETURN(auto vals, TensorToInts(ctx.input(1), "input 1 (shape)"));
  std::vector<PartialInt> target;
  for (int64_t v : vals) target.push_back({true, v, ""});
  Shape in = Shape::FromInts(ctx.input(0).dims());
  auto out = ReshapeShape(&in, target, ctx.node().GetInt("allowzero", 0) != 0);
  if (!out.ok()) return ctx.Error(out.status().message());
  return SetReshaped(ctx, *out);
}

// ---- Flatten --------------------------------------------------------------------------------
// Product of dims [begin, end): known when all are; a single unknown dim keeps its symbol.
Dim DimProduct(const Shape& s, size_t begin, size_t end) {
  if (end - begin == 1) return s[begin];
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) {
    if (!s[i].known()) return Dim();
    auto m = CheckedMul(p, s[i].value);
    if (!m) return Dim();  // the caller's shape bound check reports it
    p = *m;
  }
  return Dim(p);
}

Result<Shape> FlattenShape(const Shape& s, int64_t axis) {
  auto r = static_cast<int64_t>(s.rank());
  if (axis < -r || axis > r) {
    return InvalidModel("attribute axis " + std::to_string(axis) + " is out of range [" +
                        std::to_string(-r) + ", " + std::to_string(r) + "]");
  }
  if (axis < 0) axis += r;
  auto a = static_cast<size_t>(axis);
  Dim outer = a == 0 ? Dim(1) : DimProduct(s, 0, a);
  Dim inner = a == s.rank() ? Dim(1) : DimProduct(s, a, s.rank());
  return Shape({outer, inner});
}

Status InferFlatten(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const Shape* s = ctx.input_shape(0);
  if (!s) {
    ctx.SetOutput(0, ctx.input_dtype(0), Shape({Dim(), Dim()}));
    return Status::Ok();
  }
  auto out = FlattenShape(*s, ctx.node().GetInt("axis", 1));
  if (!out.ok()) return ctx.Error(out.status().message());
  ctx.SetOutput(0, ctx.input_dtype(0), std::move(*out));
  return Status::Ok();
}

Status RefFlatten(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  auto out = FlattenShape(Shape::FromInts(ctx.input(0).dims()), ctx.node().GetInt("axis", 1));
  if (!out.ok()) return ctx.Error(out.status().message());
  return SetReshaped(ctx, *out);
}

// ---- Squeeze / Unsqueeze --------------------------------------------------------------------
// Axes from input 1 (constant) or the `axes` attribute. *known = false when input 1 exists but
// is not constant.
Result<std::optional<std::vector<int64_t>>> AxesOf(const ir::Node& node, const Tensor* input1,
                                                   bool has_input1) {
  if (has_input1) {
    if (!input1) return std::optional<std::vector<int64_t>>();
    RIDGE_ASSIGN_OR_RETURN(auto v, TensorToInts(*input1, "input 1 (axes)"));
    return std::optional<std::vector<int64_t>>(std::move(v));
  }
  if (node.HasAttr("axes")) return std::optional<std::vector<int64_t>>(node.GetInts("axes"));
  return std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
}

// nullopt: output rank cannot be known (no axes and some dim unknown).
Result<std::optional<Shape>> SqueezeShape(const Shape& s, const std::vector<int64_t>& axes) {
  std::vector<bool> drop(s.rank(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < s.rank(); ++i) {
      if (!s[i].known()) return std::optional<Shape>();
      drop[i] = s[i].value == 1;
    }
  } else {
    RIDGE_ASSIGN_OR_RETURN(auto norm, NormalizeAxes(axes, static_cast<int64_t>(s.rank())));
    for (int64_t a : norm) {
      const Dim& d = s[static_cast<size_t>(a)];
      if (d.known() && d.value != 1) {
        return InvalidModel("cannot squeeze axis " + std::to_string(a) + " of size " +
                            std::to_string(d.value) + " in " + s.ToString());
      }
      drop[static_cast<size_t>(a)] = true;
    }
  }
  std::vector<Dim> out;
  for (size_t i = 0; i < s.rank(); ++i)
    if (!drop[i]) out.push_back(s[i]);
  return std::optional<Shape>(Shape(std::move(out)));
}

Result<Shape> UnsqueezeShape(const Shape& s, const std::vector<int64_t>& axes) {
  if (axes.empty()) return InvalidModel("axes must not be empty");
  auto out_rank = static_cast<int64_t>(s.rank() + axes.size());
  RIDGE_ASSIGN_OR_RETURN(auto norm, NormalizeAxes(axes, out_rank));
  std::vector<bool> ins(static_cast<size_t>(out_rank), false);
  for (int64_t a : norm) ins[static_cast<size_t>(a)] = true;
  std::vector<Dim> out;
  size_t k = 0;
  for (size_t i = 0; i < ins.size(); ++i) out.push_back(ins[i] ? Dim(1) : s[k++]);
  return Shape(std::move(out));
}

template <bool kSqueeze>
Status InferSqueezeLike(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 2));
  auto axes =
      AxesOf(ctx.node(), ctx.has_input(1) ? ctx.input_constant(1) : nullptr, ctx.has_input(1));
  if (!axes.ok()) return ctx.Error(axes.status().message());
  const Shape* s = ctx.input_shape(0);
  if (!s || !axes->has_value()) return Status::Ok();  // rank unknown
  if constexpr (kSqueeze) {
    auto out = SqueezeShape(*s, **axes);
    if (!out.ok()) return ctx.Error(out.status().message());
    if (out->has_value()) ctx.SetOutput(0, ctx.input_dtype(0), std::move(**out));
  } else {
    auto out = UnsqueezeShape(*s, **axes);
    if (!out.ok()) return ctx.Error(out.status().message());
    ctx.SetOutput(0, ctx.input_dtype(0), std::move(*out));
  }
  return Status::Ok();
}

template <bool kSqueeze>
Status RefSqueezeLike(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  auto axes = AxesOf(ctx.node(), ctx.has_input(1) ? &ctx.input(1) : nullptr, ctx.has_input(1));
  if (!axes.ok()) return ctx.Error(axes.status().message());
  Shape in = Shape::FromInts(ctx.input(0).dims());
  if constexpr (kSqueeze) {
    auto out = SqueezeShape(in, **axes);
    if (!out.ok()) return ctx.Error(out.status().message());
    return SetReshaped(ctx, **out);
  } else {
    auto out = UnsqueezeShape(in, **axes);
    if (!out.ok()) return ctx.Error(out.status().message());
    return SetReshaped(ctx, *out);
  }
}

// ---- Transpose ------------------------------------------------------------------------------
Result<std::vector<int64_t>> PermOf(const ir::Node& node, size_t rank) {
  std::vector<int64_t> perm(rank);
  if (!node.HasAttr("perm")) {
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
    return perm;
  }
  perm = node.GetInts("perm");
  if (perm.size() != rank) {
    return InvalidModel("attribute perm has " + std::to_string(perm.size()) +
                        " entries for an input of rank " + std::to_string(rank));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) {
      return InvalidModel("attribute perm is not a permutation of 0.." + std::to_string(rank - 1));
    }
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

Status InferTranspose(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const Shape* s = ctx.input_shape(0);
  if (!s) return Status::Ok();
  auto perm = PermOf(ctx.node(), s->rank());
  if (!perm.ok()) return ctx.Error(perm.status().message());
  std::vector<Dim> out;
  for (int64_t p : *perm) out.push_back((*s)[static_cast<size_t>(p)]);
  ctx.SetOutput(0, ctx.input_dtype(0), Shape(std::move(out)));
  return Status::Ok();
}

Status RefTranspose(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  auto perm = PermOf(ctx.node(), ctx.input(0).rank());
  if (!perm.ok()) return ctx.Error(perm.status().message());
  RIDGE_ASSIGN_OR_RETURN(Tensor out, TransposeTensor(ctx.input(0), *perm));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// ---- DepthToSpace / SpaceToDepth ------------------------------------------------------------
Result<int64_t> BlockSize(const ir::Node& node) {
  if (!node.HasAttr("blocksize")) return InvalidModel("attribute blocksize is required");
  int64_t b = node.GetInt("blocksize", 0);
  if (b <= 0 || b > (1 << 16)) return InvalidModel("attribute blocksize must be positive");
  return b;
}

// Unknown (never a wrapped value) when dim * b overflows: dims <= 2^40 but b*b may be 2^32.
Dim Mul(const Dim& d, int64_t b) {
  if (!d.known()) return Dim();
  auto m = CheckedMul(d.value, b);
  return m ? Dim(*m) : Dim();
}

template <bool kToSpace>
Status InferSpaceDepth(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  auto b = BlockSize(ctx.node());
  if (!b.ok()) return ctx.Error(b.status().message());
  std::string mode = ctx.node().GetString("mode", "DCR");
  if (kToSpace && mode != "DCR" && mode != "CRD") {
    return ctx.Error("attribute mode must be DCR or CRD, got '" + mode + "'");
  }
  const Shape* s = ctx.input_shape(0);
  if (!s) return Status::Ok();
  if (s->rank() != 4) return ctx.Error("input 0 must be 4-D (NCHW), got " + s->ToString());
  const Shape& x = *s;
  int64_t bb = *b * *b;
  if (kToSpace) {
    if (x[1].known() && x[1].value % bb != 0) {
      return ctx.Error("channels " + std::to_string(x[1].value) +
                       " are not divisible by blocksize^2 = " + std::to_string(bb));
    }
    Dim c = x[1].known() ? Dim(x[1].value / bb) : Dim();
    ctx.SetOutput(0, ctx.input_dtype(0), Shape({x[0], c, Mul(x[2], *b), Mul(x[3], *b)}));
  } else {
    for (size_t i = 2; i < 4; ++i) {
      if (x[i].known() && x[i].value % *b != 0) {
        return ctx.Error("spatial dim " + std::to_string(x[i].value) +
                         " is not divisible by blocksize " + std::to_string(*b));
      }
    }
    auto div = [&](const Dim& d) { return d.known() ? Dim(d.value / *b) : Dim(); };
    ctx.SetOutput(0, ctx.input_dtype(0), Shape({x[0], Mul(x[1], bb), div(x[2]), div(x[3])}));
  }
  return Status::Ok();
}

template <bool kToSpace>
Status RefSpaceDepth(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  RIDGE_ASSIGN_OR_RETURN(int64_t b, BlockSize(ctx.node()));
  const Tensor& in = ctx.input(0);
  if (in.rank() != 4) return ctx.Error("input 0 must be 4-D");
  int64_t n = in.dims()[0], c = in.dims()[1], h = in.dims()[2], w = in.dims()[3];
  Tensor out;
  if (kToSpace) {
    if (c % (b * b) != 0) return ctx.Error("channels not divisible by blocksize^2");
    int64_t oc = c / (b * b);
    bool dcr = ctx.node().GetString("mode", "DCR") == "DCR";
    // DCR: depth is [b, b, C']; CRD: depth is [C', b, b] (ONNX DepthToSpace definition).
    Tensor v = dcr ? in.Reshaped({n, b, b, oc, h, w}) : in.Reshaped({n, oc, b, b, h, w});
    std::vector<int64_t> perm =
        dcr ? std::vector<int64_t>{0, 3, 4, 1, 5, 2} : std::vector<int64_t>{0, 1, 4, 2, 5, 3};
    RIDGE_ASSIGN_OR_RETURN(Tensor t, TransposeTensor(v, perm));
    out = t.Reshaped({n, oc, h * b, w * b});
  } else {
    if (h % b != 0 || w % b != 0) return ctx.Error("spatial dims not divisible by blocksize");
    Tensor v = in.Reshaped({n, c, h / b, b, w / b, b});
    RIDGE_ASSIGN_OR_RETURN(Tensor t, TransposeTensor(v, std::vector<int64_t>{0, 3, 5, 1, 2, 4}));
    out = t.Reshaped({n, c * b * b, h / b, w / b});
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpReshape{"Reshape", OpKind::kDataMovement, InferReshape, CostView, RefReshape};
extern const OpDef kOpFlatten{"Flatten", OpKind::kDataMovement, InferFlatten, CostView, RefFlatten};
extern const OpDef kOpSqueeze{"Squeeze", OpKind::kDataMovement, InferSqueezeLike<true>, CostView,
                              RefSqueezeLike<true>};
extern const OpDef kOpUnsqueeze{"Unsqueeze", OpKind::kDataMovement, InferSqueezeLike<false>,
                                CostView, RefSqueezeLike<false>};
extern const OpDef kOpTranspose{"Transpose", OpKind::kDataMovement, InferTranspose, CostCopy,
                                RefTranspose};
extern const OpDef kOpDepthToSpace{"DepthToSpace", OpKind::kDataMovement, InferSpaceDepth<true>,
                                   CostCopy, RefSpaceDepth<true>};
extern const OpDef kOpSpaceToDepth{"SpaceToDepth", OpKind::kDataMovement, InferSpaceDepth<false>,
                                   CostCopy, RefSpaceDepth<false>};

}  // namespace ridge::ops
