// Softmax and LogSoftmax.
//
// Opset 13+: normalizes along `axis` (default -1) only.
// Opset < 13: the input is coerced to 2-D: dims [0, axis) form the rows and dims [axis, rank)
//   the columns (axis default 1), and the normalization runs over each whole row. The graph's
//   opset decides; an unknown opset (0) takes the opset-13 semantics.
// Reference: max-subtracted exp for stability, accumulated in double.
// Cost: 5 FLOPs per element (max, subtract, exp, sum, divide; LogSoftmax: log instead of
//   divide), input read once, output written once. Kind reduction.
#include <cmath>
#include <limits>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

bool IsLegacy(int64_t opset) { return opset != 0 && opset < 13; }

Status InferSoftmax(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const DType dt = ctx.input_dtype(0);
  if (dt != DType::kUndefined && !IsFloatingPoint(dt)) {
    return ctx.Error("input must be floating point, got " + std::string(DTypeName(dt)));
  }
  const Shape* x = ctx.input_shape(0);
  if (!x) {
    ctx.SetOutputType(0, dt);
    return Status::Ok();
  }
  const bool legacy = IsLegacy(ctx.opset_version());
  const int64_t axis = ctx.node().GetInt("axis", legacy ? 1 : -1);
  const int64_t rank = static_cast<int64_t>(x->rank());
  // The axis range is [-rank, rank-1] in every opset.
  if (!nn::NormAxis(axis, rank)) {
    return ctx.Error("axis " + std::to_string(axis) + " is out of range for input " +
                     x->ToString());
  }
  ctx.SetOutput(0, dt, *x);
  return Status::Ok();
}

NodeCost CostSoftmax(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kReduction);
  c.flops = 5.0 * static_cast<double>(ctx.output_elements(0));
  return c;
}

Status SoftmaxReferenceImpl(KernelContext& ctx, bool log) {
  const Tensor& xt = ctx.input(0);
  const bool legacy = IsLegacy(ctx.opset_version());
  const int64_t rank = static_cast<int64_t>(xt.rank());
  auto axis = nn::NormAxis(ctx.node().GetInt("axis", legacy ? 1 : -1), rank);
  if (!axis) return ctx.Error("axis out of range");
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "input"));
  const auto& d = xt.dims();
  // Softmax over `len` elements spaced `inner` apart, for every (outer, inner) pair.
  int64_t outer, len, inner;
  if (legacy) {
    outer = nn::Prod(d, 0, static_cast<size_t>(*axis));
    len = nn::Prod(d, static_cast<size_t>(*axis), d.size());
    inner = 1;
  } else {
    outer = nn::Prod(d, 0, static_cast<size_t>(*axis));
    len = d[static_cast<size_t>(*axis)];
    inner = nn::Prod(d, static_cast<size_t>(*axis) + 1, d.size());
  }
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      float* p = x.data() + o * len * inner + in;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < len; ++i) mx = std::max(mx, p[i * inner]);
      double sum = 0;
      for (int64_t i = 0; i < len; ++i) sum += std::exp(static_cast<double>(p[i * inner]) - mx);
      for (int64_t i = 0; i < len; ++i) {
        const double z = static_cast<double>(p[i * inner]) - mx;
        p[i * inner] = static_cast<float>(log ? z - std::log(sum) : std::exp(z) / sum);
      }
    }
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), d, x));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

Status SoftmaxReference(KernelContext& ctx) { return SoftmaxReferenceImpl(ctx, false); }
Status LogSoftmaxReference(KernelContext& ctx) { return SoftmaxReferenceImpl(ctx, true); }

}  // namespace

extern const OpDef kOpSoftmax{"Softmax", OpKind::kReduction, InferSoftmax, CostSoftmax,
                              SoftmaxReference};
extern const OpDef kOpLogSoftmax{"LogSoftmax", OpKind::kReduction, InferSoftmax, CostSoftmax,
                                 LogSoftmaxReference};

}  // namespace ridge::ops
