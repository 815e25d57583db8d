#include "backends/cuda/pointwise_ops.h"

#include <cmath>

namespace ridge::cuda {

using kernels::Act;
using kernels::ActParams;
using kernels::BinOp;

bool UnaryAct(const ir::Graph& g, const ir::Node& n, ActParams* p) {
  static const std::pair<const char*, Act> kMap[] = {
      {"Relu", Act::kRelu},    {"Sigmoid", Act::kSigmoid},
      {"Tanh", Act::kTanh},    {"Erf", Act::kErf},
      {"Gelu", Act::kGeluErf}, {"HardSwish", Act::kHardSwish},
      {"Neg", Act::kNeg},      {"Exp", Act::kExp},
      {"Sqrt", Act::kSqrt},    {"Reciprocal", Act::kReciprocal},
      {"Abs", Act::kAbs},      {"Identity", Act::kNone},
      {"Dropout", Act::kNone}};
  for (const auto& [name, act] : kMap) {
    if (n.op_type == name) {
      p->act = act;
      return true;
    }
  }
  if (n.op_type == "LeakyRelu") {
    *p = {Act::kLeakyRelu, n.GetFloat("alpha", 0.01f), 0};
    return true;
  }
  if (n.op_type == "HardSigmoid") {
    *p = {Act::kHardSigmoid, n.GetFloat("alpha", 0.2f), n.GetFloat("beta", 0.5f)};
    return true;
  }
  if (n.op_type == "Clip") {
    *p = {Act::kClip, n.GetFloat("min", -INFINITY), n.GetFloat("max", INFINITY)};
    for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
      if (n.inputs[i] == ir::kNoValue) continue;
      const auto& c = g.value(n.inputs[i]).constant;
      if (!c || c->num_elements() != 1) return false;
      (i == 1 ? p->a : p->b) = static_cast<float>(c->GetAsDouble(0));
    }
    return true;
  }
  return false;
}

bool BinaryOp(const std::string& op, BinOp* b) {
  static const std::pair<const char*, BinOp> kMap[] = {
      {"Add", BinOp::kAdd}, {"Sub", BinOp::kSub}, {"Mul", BinOp::kMul}, {"Div", BinOp::kDiv},
      {"Pow", BinOp::kPow}, {"Max", BinOp::kMax}, {"Min", BinOp::kMin}};
  for (const auto& [name, v] : kMap)
    if (op == name) {
      *b = v;
      return true;
    }
  return false;
}

// Element strides of `r` against logical output dims `out` (right-aligned broadcasting).
std::vector<int64_t> LogicalStrides(const Ref& r, const std::vector<int64_t>& out) {
  const size_t R = out.size(), rr = r.dims.size();
  std::vector<int64_t> own(rr);
  if (r.nhwc) {
    const int64_t c = r.dims[1], h = r.dims[2], w = r.dims[3];
    own = {h * w * c, 1, w * c, c};
  } else {
    int64_t s = 1;
    for (size_t i = rr; i-- > 0;) {
      own[i] = s;
      s *= r.dims[i];
    }
  }
  std::vector<int64_t> st(R, 0);
  for (size_t i = 0; i < rr; ++i) {
    size_t o = R - rr + i;
    st[o] = (r.dims[i] == 1 && out[o] != 1) ? 0 : own[i];
  }
  return st;
}

}  // namespace ridge::cuda
