// Pad (opset 2-19): modes constant, reflect, edge, wrap.
//
// Opset 11+: `pads` is an int64 input [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (negative
// values crop), `constant_value` an optional scalar input of the data's dtype (default 0), and
// from opset 18 an optional `axes` input restricting which axes the pads refer to. Before opset
// 11: `pads` and `value` attributes. Both forms are accepted whatever the opset.
// reflect mirrors without repeating the edge and needs pads < dim on that axis; edge repeats the
// border and needs a non-empty axis; wrap (opset 19) wraps around.
// Pads not constant: output rank known, dims unknown.
// Cost: a data movement: input read once, output written once, no FLOPs; `pads`, `axes` and the
// constant value are metadata (not counted).
// Reference: dtype-generic (copies raw element bytes).
#include <cstring>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

// Resolves the per-axis pads (begins, ends of length rank). nullopt when the pads input is not
// constant (pads_tensor == nullptr with the input present).
Result<std::optional<std::vector<int64_t>>> ResolvePads(const ir::Node& node, int64_t rank,
                                                        bool has_pads_input,
                                                        const Tensor* pads_tensor,
                                                        const Tensor* axes_tensor,
                                                        bool has_axes_input) {
  std::vector<int64_t> pads;
  if (has_pads_input) {
    if (!pads_tensor) return std::optional<std::vector<int64_t>>();
    if (pads_tensor->rank() > 1) return InvalidModel("pads input must be 1-D");
    RIDGE_ASSIGN_OR_RETURN(pads, nn::IntValues(*pads_tensor, "pads input"));
  } else if (node.HasAttr("pads")) {
    pads = node.GetInts("pads");
  } else {
    return InvalidModel("pads are missing (neither an input nor an attribute)");
  }
  std::vector<int64_t> axes;
  if (has_axes_input) {
    if (!axes_tensor) return std::optional<std::vector<int64_t>>();
    RIDGE_ASSIGN_OR_RETURN(axes, nn::IntValues(*axes_tensor, "axes input"));
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  const size_t na = axes.size();
  if (pads.size() != 2 * na) {
    return InvalidModel("pads has " + std::to_string(pads.size()) + " entries, expected " +
                        std::to_string(2 * na) + " (2 per padded axis)");
  }
  for (int64_t v : pads) {
    if (v > nn::kMaxPad || v < -nn::kMaxPad) {
      return InvalidModel("pads value " + std::to_string(v) + " is out of range");
    }
  }
  std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < na; ++i) {
    auto a = nn::NormAxis(axes[i], rank);
    if (!a) return InvalidModel("axes entry " + std::to_string(axes[i]) + " is out of range");
    if (seen[static_cast<size_t>(*a)]) return InvalidModel("axes has a duplicate entry");
    seen[static_cast<size_t>(*a)] = true;
    full[static_cast<size_t>(*a)] = pads[i];
    full[static_cast<size_t>(*a + rank)] = pads[i + na];
  }
  return std::optional<std::vector<int64_t>>(full);
}

Result<std::string> ReadMode(const ir::Node& node) {
  std::string mode = node.GetString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") {
    return InvalidModel("mode '" + mode + "' is not one of constant, reflect, edge, wrap");
  }
  return mode;
}

// Output dims for known input dims (-1 = unknown) and validation of mode constraints.
Result<std::vector<int64_t>> PadOut(const std::vector<int64_t>& in, const std::vector<int64_t>& p,
                                    const std::string& mode) {
  const size_t rank = in.size();
  std::vector<int64_t> out(rank, -1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t b = p[i], e = p[i + rank];
    if (in[i] < 0) continue;
    if (mode == "reflect" && (b >= in[i] || e >= in[i]) && (b > 0 || e > 0)) {
      return InvalidModel("reflect pads (" + std::to_string(b) + ", " + std::to_string(e) +
                          ") must be smaller than dim " + std::to_string(in[i]) + " on axis " +
                          std::to_string(i));
    }
    if ((mode == "edge" || mode == "wrap") && in[i] == 0 && (b > 0 || e > 0)) {
      return InvalidModel(mode + " padding of an empty axis " + std::to_string(i));
    }
    out[i] = in[i] + b + e;
    if (out[i] < 0) {
      return InvalidModel("pads crop axis " + std::to_string(i) + " of size " +
                          std::to_string(in[i]) + " below zero");
    }
  }
  return out;
}

Status InferPad(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 4));
  const DType dt = ctx.input_dtype(0);
  auto mode = ReadMode(ctx.node());
  if (!mode.ok()) return ctx.Error(mode.status().message());
  const Shape* x = ctx.input_shape(0);
  if (!x) {
    ctx.SetOutputType(0, dt);
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x->rank());
  auto pads = ResolvePads(ctx.node(), rank, ctx.has_input(1),
                          ctx.has_input(1) ? ctx.input_constant(1) : nullptr,
                          ctx.has_input(3) ? ctx.input_constant(3) : nullptr, ctx.has_input(3));
  if (!pads.ok()) return ctx.Error(pads.status().message() + " (input " + x->ToString() + ")");
  if (!pads->has_value()) {
    ctx.SetOutput(0, dt, nn::ShapeOf(std::vector<int64_t>(x->rank(), -1)));
    return Status::Ok();
  }
  auto out = PadOut(nn::DimsOrUnknown(*x), **pads, *mode);
  if (!out.ok()) return ctx.Error(out.status().message());
  std::vector<Dim> dims = x->dims();
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t b = (**pads)[i], e = (**pads)[i + dims.size()];
    if (b == 0 && e == 0) continue;  // keep symbolic dims that are not padded
    dims[i] = (*out)[i] >= 0 ? Dim((*out)[i]) : Dim();
  }
  ctx.SetOutput(0, dt, Shape(dims));
  return Status::Ok();
}

NodeCost CostPad(const CostContext& ctx) {
  NodeCost c;
  c.kind = OpKind::kDataMovement;
  c.bytes_read = ctx.input_bytes(0);
  c.bytes_written = ctx.output_bytes(0);
  return c;
}

// Maps an out-of-range coordinate i (in [-pad, n + pad)) onto the input per mode; -1 = constant.
int64_t SourceIndex(int64_t i, int64_t n, const std::string& mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  if (mode == "wrap") return ((i % n) + n) % n;
  // reflect (pads < n guarantees one reflection suffices; loop for safety with n >= 2)
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

Status PadReference(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  RIDGE_ASSIGN_OR_RETURN(std::string mode, ReadMode(ctx.node()));
  const int64_t rank = static_cast<int64_t>(xt.rank());
  const Tensor* pads_t = ctx.has_input(1) ? &ctx.input(1) : nullptr;
  const Tensor* axes_t = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  RIDGE_ASSIGN_OR_RETURN(auto pads, ResolvePads(ctx.node(), rank, pads_t != nullptr, pads_t, axes_t,
                                                axes_t != nullptr));
  const auto& p = *pads;
  RIDGE_ASSIGN_OR_RETURN(auto out, PadOut(xt.dims(), p, mode));
  const size_t es = DTypeSize(xt.dtype());
  if (es == 0) return Unsupported("Pad reference: unsupported dtype");
  RIDGE_RETURN_IF_ERROR(nn::CheckAlloc(out, es));
  // The constant's bytes in the data's dtype.
  std::vector<std::byte> cval(es, std::byte{0});
  if (ctx.has_input(2) && mode == "constant") {
    const Tensor& c = ctx.input(2);
    if (c.dtype() != xt.dtype() || c.num_elements() != 1) {
      return ctx.Error("constant_value must be one element of the data's dtype");
    }
    std::memcpy(cval.data(), c.raw_data(), es);
  } else if (ctx.node().HasAttr("value") && mode == "constant") {
    const float v = ctx.node().GetFloat("value", 0.0f);
    if (nn::IsFloatType(xt.dtype())) {
      RIDGE_ASSIGN_OR_RETURN(Tensor c, nn::FromFloats(xt.dtype(), {1}, std::vector<float>{v}));
      std::memcpy(cval.data(), c.raw_data(), es);
    } else if (xt.dtype() == DType::kInt64) {
      const int64_t iv = static_cast<int64_t>(v);
      std::memcpy(cval.data(), &iv, es);
    } else if (xt.dtype() == DType::kInt32) {
      const int32_t iv = static_cast<int32_t>(v);
      std::memcpy(cval.data(), &iv, es);
    }
  }
  Tensor yt(xt.dtype(), out);
  const auto& in = xt.dims();
  std::vector<int64_t> istride(static_cast<size_t>(rank), 1);
  for (int64_t i = rank - 1; i > 0; --i) {
    istride[static_cast<size_t>(i - 1)] =
        istride[static_cast<size_t>(i)] * in[static_cast<size_t>(i)];
  }
  std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
  const std::byte* src = xt.raw_data();
  std::byte* dst = yt.raw_data();
  for (int64_t e = 0; e < yt.num_elements(); ++e) {
    int64_t off = 0;
    bool constant = false;
    for (size_t i = 0; i < static_cast<size_t>(rank); ++i) {
      const int64_t s = SourceIndex(idx[i] - p[i], in[i], mode);
      if (s < 0) {
        constant = true;
        break;
      }
      off += s * istride[i];
    }
    std::memcpy(dst + static_cast<size_t>(e) * es,
                constant ? cval.data() : src + static_cast<size_t>(off) * es, es);
    for (size_t i = static_cast<size_t>(rank); i-- > 0;) {
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpPad{"Pad", OpKind::kDataMovement, InferPad, CostPad, PadReference};

}  // namespace ridge::ops
