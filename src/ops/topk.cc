// TopK (opset 1-11+): outputs Values (the input's dtype) and Indices (int64) along `axis`
// (default -1), K from the int64 input of one element (opset 10+) or the `k` attribute (opset 1).
// largest (default 1) picks the largest or smallest; sorted (default 1). Ties: the lower index
// comes first (ONNX). With sorted = 0 the order is unspecified: we return sorted order anyway.
// K not constant: the axis dim is unknown. K > dim is an error.
// Cost: input read once, both outputs written once; FLOPs = n * log2(max(K, 2)) comparisons
// (a heap selection), kind reduction.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

// K from the input or attribute; nullopt when the input is present but not constant.
Result<std::optional<int64_t>> ReadK(const ir::Node& node, bool has_k_input, const Tensor* k) {
  if (!has_k_input) {
    if (!node.HasAttr("k")) return InvalidModel("K is missing (neither input 1 nor attribute k)");
    return std::optional<int64_t>(node.GetInt("k", 0));
  }
  if (!k) return std::optional<int64_t>();
  if (k->num_elements() != 1 || k->rank() > 1) {
    return InvalidModel("K must be a 1-D tensor of one element");
  }
  RIDGE_ASSIGN_OR_RETURN(auto v, nn::IntValues(*k, "K"));
  return std::optional<int64_t>(v[0]);
}

Status InferTopK(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 2));
  const DType dt = ctx.input_dtype(0);
  const Shape* x = ctx.input_shape(0);
  auto k = ReadK(ctx.node(), ctx.has_input(1), ctx.has_input(1) ? ctx.input_constant(1) : nullptr);
  if (!k.ok()) return ctx.Error(k.status().message());
  if (k->has_value() && **k < 0) return ctx.Error("K must be >= 0, got " + std::to_string(**k));
  if (!x) {
    ctx.SetOutputType(0, dt);
    ctx.SetOutputType(1, DType::kInt64);
    return Status::Ok();
  }
  const int64_t axis_attr = ctx.node().GetInt("axis", -1);
  auto axis = nn::NormAxis(axis_attr, static_cast<int64_t>(x->rank()));
  if (!axis) {
    return ctx.Error("axis " + std::to_string(axis_attr) + " is out of range for input " +
                     x->ToString());
  }
  std::vector<Dim> dims = x->dims();
  const Dim& d = dims[static_cast<size_t>(*axis)];
  if (k->has_value() && d.known() && **k > d.value) {
    return ctx.Error("K = " + std::to_string(**k) + " exceeds the axis dim " +
                     std::to_string(d.value) + " of input " + x->ToString());
  }
  dims[static_cast<size_t>(*axis)] = k->has_value() ? Dim(**k) : Dim();
  ctx.SetOutput(0, dt, Shape(dims));
  ctx.SetOutput(1, DType::kInt64, Shape(dims));
  return Status::Ok();
}

NodeCost CostTopK(const CostContext& ctx) {
  NodeCost c;
  c.kind = OpKind::kReduction;
  c.bytes_read = ctx.input_bytes(0);
  c.bytes_written = ctx.output_bytes(0) + ctx.output_bytes(1);
  auto out = ctx.output_dims(0);
  auto in = ctx.input_dims(0);
  double k = 2;
  if (!out.empty() && out.size() == in.size()) {
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] != in[i]) k = std::max<double>(2, static_cast<double>(out[i]));
  }
  c.flops = static_cast<double>(ctx.input_elements(0)) * std::log2(k);
  return c;
}

Status TopKReference(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  const Tensor* kt = ctx.has_input(1) ? &ctx.input(1) : nullptr;
  RIDGE_ASSIGN_OR_RETURN(auto k_opt, ReadK(ctx.node(), kt != nullptr, kt));
  const int64_t k = *k_opt;
  auto axis = nn::NormAxis(ctx.node().GetInt("axis", -1), static_cast<int64_t>(xt.rank()));
  if (!axis) return ctx.Error("axis out of range");
  const bool largest = ctx.node().GetInt("largest", 1) != 0;
  const size_t ax = static_cast<size_t>(*axis);
  const auto& d = xt.dims();
  if (k < 0 || k > d[ax]) return ctx.Error("K is out of range for the axis");
  const bool is_float = nn::IsFloatType(xt.dtype());
  if (!is_float && !IsInteger(xt.dtype())) {
    return Unsupported("TopK reference: unsupported dtype " + std::string(DTypeName(xt.dtype())));
  }
  const int64_t outer = nn::Prod(d, 0, ax), len = d[ax], inner = nn::Prod(d, ax + 1, d.size());
  std::vector<int64_t> odims = d;
  odims[ax] = k;
  Tensor vals(xt.dtype(), odims), idxs(DType::kInt64, odims);
  const size_t es = DTypeSize(xt.dtype());
  std::vector<int64_t> order(static_cast<size_t>(len));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      const int64_t base = o * len * inner + in;
      std::iota(order.begin(), order.end(), 0);
      auto before = [&](int64_t a, int64_t b) {  // a sorts before b
        const int64_t ea = base + a * inner, eb = base + b * inner;
        if (is_float) {
          const double va = xt.GetAsDouble(ea), vb = xt.GetAsDouble(eb);
          const bool na = std::isnan(va), nb = std::isnan(vb);  // NaN ranks above everything
          if (na != nb) return largest ? na : nb;
          if (!na && va != vb) return largest ? va > vb : va < vb;
        } else {
          const int64_t va = xt.GetAsInt64(ea), vb = xt.GetAsInt64(eb);
          if (va != vb) return largest ? va > vb : va < vb;
        }
        return a < b;  // ties: lower index first
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        const int64_t src = base + order[static_cast<size_t>(j)] * inner;
        const int64_t dst = o * k * inner + j * inner + in;
        std::memcpy(vals.raw_data() + static_cast<size_t>(dst) * es,
                    xt.raw_data() + static_cast<size_t>(src) * es, es);
        idxs.data<int64_t>()[dst] = order[static_cast<size_t>(j)];
      }
    }
  }
  ctx.SetOutput(0, std::move(vals));
  if (ctx.num_outputs() > 1) ctx.SetOutput(1, std::move(idxs));
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpTopK{"TopK", OpKind::kReduction, InferTopK, CostTopK, TopKReference};

}  // namespace ridge::ops
