// ReduceMean/Sum/Max/Min/Prod/L2/SumSquare and ArgMax/ArgMin.
//
// Axes: the `axes` attribute (ReduceSum before opset 13, the others before opset 18) or the
// optional int64 `axes` input (ReduceSum from 13, all from 18); both forms are accepted whatever
// the opset, since exporters differ. Empty axes reduce everything unless noop_with_empty_axes = 1
// (then the op is an identity). keepdims (default 1) keeps reduced dims as 1. An axes input that
// is not constant leaves the output dims unknown (rank kept with keepdims, else unknown).
// ArgMax/ArgMin: one `axis` (default 0), keepdims, select_last_index; output int64.
//
// Reference: floats accumulate in double; int32/int64 (used in shape arithmetic) accumulate in
// int64 exactly for Sum/Prod/Max/Min/SumSquare (Mean/L2 of integers truncate toward zero, as a
// C cast of the exact result). Reductions over zero elements give the identity (0, 1, -inf/+inf
// for Max/Min; ONNX opset 18 specifies this).
// Cost: one FLOP per input element (two for L2/SumSquare: square + add), input read once,
// output written once. Kind reduction.
#include <cmath>
#include <limits>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

enum class Red { kMean, kSum, kMax, kMin, kProd, kL2, kSumSquare };

struct AxesInfo {
  bool known = true;         // false: axes input not constant
  bool noop = false;         // identity (empty axes + noop_with_empty_axes)
  std::vector<bool> reduce;  // per input axis (when known)
};

// Resolves the axes of a Reduce* node for an input of `rank`. axes_tensor: the constant axes
// input or nullptr; has_axes_input: the input slot is present.
Result<AxesInfo> ResolveAxes(const ir::Node& node, int64_t rank, bool has_axes_input,
                             const Tensor* axes_tensor) {
  AxesInfo info;
  std::vector<int64_t> axes;
  if (node.HasAttr("axes")) {
    if (has_axes_input) return InvalidModel("axes given both as attribute and as input");
    axes = node.GetInts("axes");
  } else if (has_axes_input) {
    if (!axes_tensor) {
      info.known = false;
      return info;
    }
    if (axes_tensor->rank() > 1) return InvalidModel("axes input must be 1-D");
    RIDGE_ASSIGN_OR_RETURN(axes, nn::IntValues(*axes_tensor, "axes input"));
  }
  const int64_t noop = node.GetInt("noop_with_empty_axes", 0);
  info.reduce.assign(static_cast<size_t>(rank), false);
  if (axes.empty()) {
    if (noop) {
      info.noop = true;
    } else {
      info.reduce.assign(static_cast<size_t>(rank), true);
    }
    return info;
  }
  for (int64_t a : axes) {
    auto n = nn::NormAxis(a, rank);
    if (!n) {
      return InvalidModel("axis " + std::to_string(a) + " is out of range for rank " +
                          std::to_string(rank));
    }
    if (info.reduce[static_cast<size_t>(*n)]) {
      return InvalidModel("axis " + std::to_string(a) + " appears twice in axes");
    }
    info.reduce[static_cast<size_t>(*n)] = true;
  }
  return info;
}

Status InferReduce(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 2));
  const DType dt = ctx.input_dtype(0);
  const Shape* x = ctx.input_shape(0);
  const int64_t keep = ctx.node().GetInt("keepdims", 1);
  if (keep != 0 && keep != 1) return ctx.Error("keepdims must be 0 or 1");
  if (ctx.has_input(1) && ctx.input_dtype(1) != DType::kInt64 &&
      ctx.input_dtype(1) != DType::kUndefined) {
    return ctx.Error("axes input must be int64");
  }
  if (!x) {
    ctx.SetOutputType(0, dt);
    return Status::Ok();
  }
  auto info = ResolveAxes(ctx.node(), static_cast<int64_t>(x->rank()), ctx.has_input(1),
                          ctx.has_input(1) ? ctx.input_constant(1) : nullptr);
  if (!info.ok()) return ctx.Error(info.status().message() + " (input " + x->ToString() + ")");
  if (!info->known) {
    if (keep) {
      ctx.SetOutput(0, dt, nn::ShapeOf(std::vector<int64_t>(x->rank(), -1)));
    } else {
      ctx.SetOutputType(0, dt);
    }
    return Status::Ok();
  }
  std::vector<Dim> dims;
  for (size_t i = 0; i < x->rank(); ++i) {
    if (info->noop || !info->reduce[i]) {
      dims.push_back((*x)[i]);
    } else if (keep) {
      dims.push_back(Dim(1));
    }
  }
  ctx.SetOutput(0, dt, Shape(dims));
  return Status::Ok();
}

Status InferArg(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const Shape* x = ctx.input_shape(0);
  const int64_t keep = ctx.node().GetInt("keepdims", 1);
  if (keep != 0 && keep != 1) return ctx.Error("keepdims must be 0 or 1");
  const int64_t last = ctx.node().GetInt("select_last_index", 0);
  if (last != 0 && last != 1) return ctx.Error("select_last_index must be 0 or 1");
  if (!x) {
    ctx.SetOutputType(0, DType::kInt64);
    return Status::Ok();
  }
  const int64_t axis_attr = ctx.node().GetInt("axis", 0);
  auto axis = nn::NormAxis(axis_attr, static_cast<int64_t>(x->rank()));
  if (!axis) {
    return ctx.Error("axis " + std::to_string(axis_attr) + " is out of range for input " +
                     x->ToString());
  }
  std::vector<Dim> dims;
  for (size_t i = 0; i < x->rank(); ++i) {
    if (static_cast<int64_t>(i) != *axis) {
      dims.push_back((*x)[i]);
    } else if (keep) {
      dims.push_back(Dim(1));
    }
  }
  ctx.SetOutput(0, DType::kInt64, Shape(dims));
  return Status::Ok();
}

NodeCost CostReduceOne(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kReduction);
  c.weight_bytes = 0;  // the axes input is metadata, not data
  c.flops = static_cast<double>(ctx.input_elements(0));
  return c;
}
NodeCost CostReduceTwo(const CostContext& ctx) {
  NodeCost c = CostReduceOne(ctx);
  c.flops *= 2;
  return c;
}

// ---- Reference kernels ----------------------------------------------------------------------
// For each input element, the flat index of its output element (reduced axes collapse).
std::vector<int64_t> OutIndexMap(const std::vector<int64_t>& dims, const std::vector<bool>& red) {
  const size_t rank = dims.size();
  std::vector<int64_t> ostride(rank, 0);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    if (red[i]) continue;
    ostride[i] = s;
    s *= dims[i];
  }
  const int64_t n = nn::Prod(dims);
  std::vector<int64_t> map(static_cast<size_t>(n));
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t e = 0; e < n; ++e) {
    map[static_cast<size_t>(e)] = off;
    for (size_t i = rank; i-- > 0;) {
      ++idx[i];
      off += ostride[i];
      if (idx[i] < dims[i]) break;
      off -= ostride[i] * idx[i];
      idx[i] = 0;
    }
  }
  return map;
}

template <typename Acc>
Acc Init(Red r) {
  switch (r) {
    case Red::kProd:
      return Acc(1);
    case Red::kMax:
      return std::numeric_limits<Acc>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                    : std::numeric_limits<Acc>::lowest();
    case Red::kMin:
      return std::numeric_limits<Acc>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                    : std::numeric_limits<Acc>::max();
    default:
      return Acc(0);
  }
}

template <typename Acc>
void Accumulate(Red r, Acc& a, Acc v) {
  switch (r) {
    case Red::kMean:
    case Red::kSum:
      a += v;
      break;
    case Red::kL2:
    case Red::kSumSquare:
      a += v * v;
      break;
    case Red::kProd:
      a *= v;
      break;
    case Red::kMax:
      if (v > a || v != v) a = v;  // NaN propagates
      break;
    case Red::kMin:
      if (v < a || v != v) a = v;
      break;
  }
}

Status ReduceReference(KernelContext& ctx, Red op) {
  const Tensor& xt = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(xt.rank());
  const Tensor* axes_t = ctx.has_input(1) ? &ctx.input(1) : nullptr;
  RIDGE_ASSIGN_OR_RETURN(AxesInfo info, ResolveAxes(ctx.node(), rank, axes_t != nullptr, axes_t));
  if (info.noop) {
    ctx.SetOutput(0, xt.Clone());
    return Status::Ok();
  }
  const bool keep = ctx.node().GetInt("keepdims", 1) != 0;
  std::vector<int64_t> odims, kdims;
  int64_t count = 1;
  for (size_t i = 0; i < xt.rank(); ++i) {
    if (info.reduce[i]) {
      count *= xt.dims()[i];
      if (keep) odims.push_back(1);
    } else {
      odims.push_back(xt.dims()[i]);
    }
  }
  const auto map = OutIndexMap(xt.dims(), info.reduce);
  const int64_t out_n = nn::Prod(odims);
  const DType dt = xt.dtype();
  if (nn::IsFloatType(dt)) {
    RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "input"));
    std::vector<double> acc(static_cast<size_t>(out_n), Init<double>(op));
    for (size_t e = 0; e < x.size(); ++e) Accumulate<double>(op, acc[map[e]], x[e]);
    std::vector<float> y(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) {
      double v = acc[i];
      if (op == Red::kMean) v = count ? v / static_cast<double>(count) : NAN;
      if (op == Red::kL2) v = std::sqrt(v);
      y[i] = static_cast<float>(v);
    }
    RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(dt, odims, y));
    ctx.SetOutput(0, std::move(yt));
    return Status::Ok();
  }
  if (dt != DType::kInt64 && dt != DType::kInt32) {
    return Unsupported("reduce reference handles float and int32/int64 inputs, got " +
                       std::string(DTypeName(dt)));
  }
  std::vector<int64_t> acc(static_cast<size_t>(out_n), Init<int64_t>(op));
  for (int64_t e = 0; e < xt.num_elements(); ++e) {
    Accumulate<int64_t>(op, acc[map[static_cast<size_t>(e)]], xt.GetAsInt64(e));
  }
  Tensor yt(dt, odims);
  for (int64_t i = 0; i < out_n; ++i) {
    int64_t v = acc[static_cast<size_t>(i)];
    if (op == Red::kMean) v = count ? v / count : 0;
    if (op == Red::kL2) v = static_cast<int64_t>(std::sqrt(static_cast<double>(v)));
    if (dt == DType::kInt64) {
      yt.data<int64_t>()[i] = v;
    } else {
      yt.data<int32_t>()[i] = static_cast<int32_t>(v);
    }
  }
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

Status ArgReference(KernelContext& ctx, bool is_max) {
  const Tensor& xt = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(xt.rank());
  auto axis = nn::NormAxis(ctx.node().GetInt("axis", 0), rank);
  if (!axis) return ctx.Error("axis out of range");
  const bool keep = ctx.node().GetInt("keepdims", 1) != 0;
  const bool last = ctx.node().GetInt("select_last_index", 0) != 0;
  const auto& d = xt.dims();
  const size_t ax = static_cast<size_t>(*axis);
  const int64_t outer = nn::Prod(d, 0, ax), len = d[ax], inner = nn::Prod(d, ax + 1, d.size());
  if (len == 0) return ctx.Error("cannot take ArgMax/ArgMin over an empty axis");
  const bool is_float = nn::IsFloatType(xt.dtype());
  if (!is_float && !IsInteger(xt.dtype())) {
    return Unsupported("ArgMax/ArgMin reference: unsupported dtype " +
                       std::string(DTypeName(xt.dtype())));
  }
  std::vector<int64_t> odims = d;
  if (keep) {
    odims[ax] = 1;
  } else {
    odims.erase(odims.begin() + static_cast<ptrdiff_t>(ax));
  }
  Tensor yt(DType::kInt64, odims);
  // Compare as double for floats, as int64 for integers (exact).
  auto better = [&](int64_t a, int64_t b) {  // element a strictly better than b
    if (is_float) {
      const double va = xt.GetAsDouble(a), vb = xt.GetAsDouble(b);
      return is_max ? va > vb : va < vb;
    }
    const int64_t va = xt.GetAsInt64(a), vb = xt.GetAsInt64(b);
    return is_max ? va > vb : va < vb;
  };
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      const int64_t base = o * len * inner + in;
      int64_t best = 0;
      for (int64_t i = 1; i < len; ++i) {
        const int64_t cur = base + i * inner, bst = base + best * inner;
        if (better(cur, bst) || (last && !better(bst, cur))) best = i;
      }
      yt.data<int64_t>()[o * inner + in] = best;
    }
  }
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

#define RIDGE_REDUCE_REF(Name, kind) \
  Status Name##Reference(KernelContext& ctx) { return ReduceReference(ctx, Red::kind); }
RIDGE_REDUCE_REF(ReduceMean, kMean)
RIDGE_REDUCE_REF(ReduceSum, kSum)
RIDGE_REDUCE_REF(ReduceMax, kMax)
RIDGE_REDUCE_REF(ReduceMin, kMin)
RIDGE_REDUCE_REF(ReduceProd, kProd)
RIDGE_REDUCE_REF(ReduceL2, kL2)
RIDGE_REDUCE_REF(ReduceSumSquare, kSumSquare)
#undef RIDGE_REDUCE_REF
Status ArgMaxReference(KernelContext& ctx) { return ArgReference(ctx, true); }
Status ArgMinReference(KernelContext& ctx) { return ArgReference(ctx, false); }

}  // namespace

extern const OpDef kOpReduceMean{"ReduceMean", OpKind::kReduction, InferReduce, CostReduceOne,
                                 ReduceMeanReference};
extern const OpDef kOpReduceSum{"ReduceSum", OpKind::kReduction, InferReduce, CostReduceOne,
                                ReduceSumReference};
extern const OpDef kOpReduceMax{"ReduceMax", OpKind::kReduction, InferReduce, CostReduceOne,
                                ReduceMaxReference};
extern const OpDef kOpReduceMin{"ReduceMin", OpKind::kReduction, InferReduce, CostReduceOne,
                                ReduceMinReference};
extern const OpDef kOpReduceProd{"ReduceProd", OpKind::kReduction, InferReduce, CostReduceOne,
                                 ReduceProdReference};
extern const OpDef kOpReduceL2{"ReduceL2", OpKind::kReduction, InferReduce, CostReduceTwo,
                               ReduceL2Reference};
extern const OpDef kOpReduceSumSquare{"ReduceSumSquare", OpKind::kReduction, InferReduce,
                                      CostReduceTwo, ReduceSumSquareReference};
extern const OpDef kOpArgMax{"ArgMax", OpKind::kReduction, InferArg, CostReduceOne,
                             ArgMaxReference};
extern const OpDef kOpArgMin{"ArgMin", OpKind::kReduction, InferArg, CostReduceOne,
                             ArgMinReference};

}  // namespace ridge::ops
