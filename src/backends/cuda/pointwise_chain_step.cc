// Pointwise-chain fusion: from an activation or binary node, follow the graph while each next
// node is pointwise, consumes only the previous result, and has an operand the chain kernel can
// index (a scalar constant, the chain's input, or a tensor broadcast along at most two blocks of
// the output's dims). The whole chain becomes one "pointwise_chain" step: ConvNeXt's GELU
// (Div, Erf, Add, Mul, Mul) and layer-scale + residual (Mul, Add), EfficientNet's SiLU and SE
// scale, YOLO's decode arithmetic.
#include <cmath>
#include <optional>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/pointwise_chain.cuh"
#include "backends/cuda/pointwise_ops.h"

namespace ridge::cuda {
namespace {

using kernels::ChainIndex;
using kernels::ChainOp;
using kernels::ChainParams;

std::vector<int64_t> StaticDims(const ir::Value& v) {
  std::vector<int64_t> d;
  if (!v.shape) return d;
  for (const Dim& x : v.shape->dims()) d.push_back(x.value);
  return d;
}

// The ChainIndex of an operand with logical strides `st` (LogicalStrides) against the output's
// logical dims, for an output stored NHWC (`nhwc`) or plain. Nullopt when the operand's dense
// dims form more than two blocks of the output's physical order.
std::optional<ChainIndex> IndexOf(const std::vector<int64_t>& st, const std::vector<int64_t>& out,
                                  bool nhwc) {
  std::vector<size_t> perm(out.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  if (nhwc) perm = {0, 2, 3, 1};
  ChainIndex idx;
  int blocks = 0;
  int64_t inner = 1;      // product of the physical dims inside the current one
  bool in_block = false;  // the previous (inner) dim belongs to the open block
  int64_t next_stride = 0;
  for (size_t k = perm.size(); k-- > 0;) {
    const int64_t dim = out[perm[k]], stride = st[perm[k]];
    if (dim == 1) continue;  // neither breaks nor extends a block
    if (stride == 0) {
      in_block = false;
    } else if (in_block && stride == next_stride) {
      idx.mod[blocks - 1] *= dim;
      next_stride = stride * dim;
    } else {
      if (blocks == 2) return std::nullopt;
      idx.div[blocks] = inner;
      idx.mod[blocks] = dim;
      idx.mul[blocks] = stride;
      ++blocks;
      in_block = true;
      next_stride = stride * dim;
    }
    inner *= dim;
  }
  return idx;
}

bool IsFloatConstant(const ir::Value& v) {
  return v.constant &&
         (v.constant->dtype() == DType::kFloat32 || v.constant->dtype() == DType::kFloat16);
}

// One planned op; tensor operands are materialized (Get) only once the chain is final.
struct Planned {
  ChainOp op;
  ir::ValueId operand = ir::kNoValue;  // kTensor
  bool operand_nhwc = false;           // the layout its strides were computed for
};

bool IsScalarOp(const ChainOp& op, kernels::BinOp bop, float value) {
  return op.kind == ChainOp::kScalar && op.op == bop &&
         std::abs(op.scalar - value) <= 1e-6f * std::abs(value);
}

// Peephole rewrites that cut the per-element work of the chain kernel (it dispatches on each op
// for every element: measured on the H200, GELU as its 5 exported ops ran at 0.53 ms on
// [32,56,56,384] fp16 against 0.105 ms for the one GeluErf activation):
//   x / c -> x * (1 / c) for a scalar c (within an ulp of the division);
//   Div(x, sqrt 2), Erf, Add 1, Mul by x, Mul 0.5 at the chain's start -> GeluErf(x).
void Simplify(std::vector<Planned>* plan) {
  auto& p = *plan;
  if (p.size() >= 5 && IsScalarOp(p[0].op, kernels::BinOp::kDiv, 1.41421356f) &&
      !p[0].op.operand_first && p[1].op.kind == ChainOp::kUnary &&
      p[1].op.act.act == kernels::Act::kErf && IsScalarOp(p[2].op, kernels::BinOp::kAdd, 1.f) &&
      p[3].op.kind == ChainOp::kInput && p[3].op.op == kernels::BinOp::kMul &&
      IsScalarOp(p[4].op, kernels::BinOp::kMul, 0.5f)) {
    Planned gelu;
    gelu.op.act.act = kernels::Act::kGeluErf;
    p.erase(p.begin(), p.begin() + 5);
    p.insert(p.begin(), gelu);
  }
  for (Planned& q : p) {
    if (q.op.kind == ChainOp::kScalar && q.op.op == kernels::BinOp::kDiv && !q.op.operand_first &&
        q.op.scalar != 0.f && std::isfinite(1.f / q.op.scalar)) {
      q.op.op = kernels::BinOp::kMul;
      q.op.scalar = 1.f / q.op.scalar;
    }
  }
}

}  // namespace

Result<bool> Engine::Impl::TryBuildPointwiseChain(ir::NodeId id) {
  const ir::Graph& g = *graph;
  const ir::Node& first = g.node(id);
  kernels::ActParams act;
  kernels::BinOp bop;
  const bool first_unary = UnaryAct(g, first, &act);
  if (!first_unary && !(BinaryOp(first.op_type, &bop) && first.inputs.size() == 2)) return false;

  // The chain's input x: the activation operand that already has the output's dims.
  const std::vector<int64_t> out = StaticDims(g.value(first.outputs[0]));
  if (out.empty() || out.size() > static_cast<size_t>(kernels::kMaxRank)) return false;
  int primary = -1;
  for (int i = 0; i < (first_unary ? 1 : 2) && primary < 0; ++i) {
    const ir::Value& v = g.value(first.inputs[i]);
    if (!v.constant && StaticDims(v) == out &&
        (plain.count(first.inputs[i]) || nhwc.count(first.inputs[i])))
      primary = i;
  }
  if (primary < 0) return false;
  const ir::ValueId x = first.inputs[primary];
  const bool out_nhwc = out.size() == 4 && nhwc.count(x) && !PhysicallySame(out);

  std::vector<Planned> plan;
  int32_t tensors = 0;
  // Plans `value OP operand` (or `operand OP value` when operand_first); false if the operand
  // cannot be indexed by the chain kernel.
  auto plan_binary = [&](kernels::BinOp op, ir::ValueId operand, bool operand_first) {
    Planned p;
    p.op.op = op;
    p.op.operand_first = operand_first;
    const ir::Value& v = g.value(operand);
    if (operand == x) {
      p.op.kind = ChainOp::kInput;
    } else if (IsFloatConstant(v) && v.constant->num_elements() == 1) {
      p.op.kind = ChainOp::kScalar;
      p.op.scalar = static_cast<float>(v.constant->GetAsDouble(0));
    } else {
      if (tensors == kernels::kMaxChainTensors) return false;
      if (v.constant ? !IsFloatConstant(v) : !(plain.count(operand) || nhwc.count(operand)))
        return false;  // not computed yet (a later branch), or a constant we cannot upload
      const std::vector<int64_t> dims = StaticDims(v);
      if (dims.empty() || dims.size() > out.size()) return false;
      for (size_t i = 0; i < dims.size(); ++i) {
        const int64_t o = out[out.size() - dims.size() + i];
        if (dims[i] != 1 && dims[i] != o) return false;
      }
      // Same-dims activations are read in the output's layout (Get may transpose them);
      // broadcast ones in whichever layout GetAny will return.
      p.operand_nhwc = dims == out ? out_nhwc : (dims.size() == 4 && nhwc.count(operand) > 0);
      Ref shape_only{-1, dims, p.operand_nhwc};
      if (!IndexOf(LogicalStrides(shape_only, out), out, out_nhwc)) return false;
      p.op.kind = ChainOp::kTensor;
      p.operand = operand;
      ++tensors;
    }
    plan.push_back(p);
    return true;
  };

  if (first_unary) {
    Planned p;
    p.op.act = act;
    plan.push_back(p);
  } else if (!plan_binary(bop, first.inputs[1 - primary], primary == 1)) {
    return false;
  }
  std::vector<ir::NodeId> members = {id};
  ir::ValueId cur = first.outputs[0];
  while (plan.size() < static_cast<size_t>(kernels::kMaxChainOps)) {
    const ir::NodeId c = SoleConsumer(cur);
    if (c == ir::kNoNode || fused[c]) break;
    const ir::Node& n = g.node(c);
    if (n.outputs.size() != 1 && !(n.outputs.size() == 2 && n.outputs[1] == ir::kNoValue)) break;
    if (StaticDims(g.value(n.outputs[0])) != out) break;
    if (UnaryAct(g, n, &act)) {
      Planned p;
      p.op.act = act;
      plan.push_back(p);
    } else if (BinaryOp(n.op_type, &bop) && n.inputs.size() == 2 &&
               (n.inputs[0] == cur) != (n.inputs[1] == cur)) {
      const int at = n.inputs[0] == cur ? 0 : 1;
      if (!plan_binary(bop, n.inputs[1 - at], at == 1)) break;
    } else {
      break;
    }
    members.push_back(c);
    cur = n.outputs[0];
  }
  // A lone op keeps its own step (unary / binary kernels): nothing to fuse.
  if (members.size() == 1 && plan[0].op.kind != ChainOp::kTensor &&
      plan[0].op.kind != ChainOp::kScalar)
    return false;

  Simplify(&plan);
  ChainParams params;
  params.num_ops = static_cast<int32_t>(plan.size());
  std::vector<int32_t> reads, operand_bufs(kernels::kMaxChainOps, -1);
  RIDGE_ASSIGN_OR_RETURN(Ref xr, Get(x, out_nhwc));
  reads.push_back(xr.buf);
  for (size_t k = 0; k < plan.size(); ++k) {
    params.ops[k] = plan[k].op;
    if (plan[k].op.kind != ChainOp::kTensor) continue;
    const ir::ValueId v = plan[k].operand;
    Ref r;
    if (StaticDims(g.value(v)).size() == 4) {
      RIDGE_ASSIGN_OR_RETURN(r, Get(v, plan[k].operand_nhwc));
    } else {
      RIDGE_ASSIGN_OR_RETURN(r, Get(v, false));
    }
    auto idx = IndexOf(LogicalStrides(r, out), out, out_nhwc);
    if (!idx) return Status(StatusCode::kInternal, "chain operand layout changed");
    idx->mode = kernels::ChainIndexMode(*idx, half ? 8 : 4);
    params.ops[k].index = *idx;
    operand_bufs[k] = r.buf;
    reads.push_back(r.buf);
  }
  for (size_t m = 1; m < members.size(); ++m) {
    fused[members[m]] = true;
    stats.fused_nodes++;
  }
  Ref y = Define(cur, out_nhwc);
  const int64_t count = NumElements(out);
  Impl* self = this;
  const bool h = half;
  const int32_t xb = xr.buf, yb = y.buf;
  AddStep(Step{"pointwise_chain",
               [self, h, xb, yb, count, params, operand_bufs](cudaStream_t s) {
                 const void* ops[kernels::kMaxChainOps] = {};
                 for (size_t t = 0; t < operand_bufs.size(); ++t)
                   if (operand_bufs[t] >= 0) ops[t] = self->Ptr(operand_bufs[t]);
                 kernels::LaunchPointwiseChain(h, self->Ptr(xb), self->Ptr(yb), count, params, ops,
                                               s);
               }},
          reads, {yb});
  return true;
}

}  // namespace ridge::cuda
