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
  if (n.op_type == "Gelu" && n.GetString("approximate", "none") == "tanh") {
    p->act = Act::kGeluTanh;
    return true;
  }
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

namespace {

// The single node reading v, when v is not a graph output either.
ir::NodeId OnlyReader(const ir::Graph& g, ir::ValueId v) {
  const ir::Value& val = g.value(v);
  if (val.is_graph_output || val.consumers.size() != 1) return ir::kNoNode;
  return val.consumers[0];
}

// n is `op` with inputs {a, scalar constant ~ value} in either order (or only that order when
// !commutes); the constant must be a one-element float tensor within 1e-6 relative of value.
bool IsScalarBinary(const ir::Graph& g, const ir::Node& n, const char* op, ir::ValueId a,
                    float value, bool commutes) {
  if (n.op_type != op || n.inputs.size() != 2 || !n.domain.empty()) return false;
  for (int i = 0; i < (commutes ? 2 : 1); ++i) {
    const ir::ValueId x = n.inputs[static_cast<size_t>(i)],
                      c = n.inputs[static_cast<size_t>(1 - i)];
    const auto& t = g.value(c).constant;
    if (x != a || !t || t->num_elements() != 1) continue;
    if (t->dtype() != DType::kFloat32 && t->dtype() != DType::kFloat16) continue;
    const double v = t->GetAsDouble(0);
    if (std::abs(v - value) <= 1e-6 * std::abs(value)) return true;
  }
  return false;
}

}  // namespace

std::optional<GeluMatch> MatchGelu(const ir::Graph& g, ir::ValueId y) {
  const ir::Value& yv = g.value(y);
  if (yv.is_graph_output) return std::nullopt;
  if (yv.consumers.size() == 1) {
    const ir::Node& n = g.node(yv.consumers[0]);
    if (n.op_type != "Gelu" || !n.domain.empty() || n.outputs.empty()) return std::nullopt;
    const std::string approx = n.GetString("approximate", "none");
    if (approx != "none" && approx != "tanh") return std::nullopt;
    return GeluMatch{n.outputs[0], {yv.consumers[0]}, approx == "tanh"};
  }
  if (yv.consumers.size() != 2) return std::nullopt;
  // The erf form: y feeds the Div and the Mul by y.
  ir::NodeId div = yv.consumers[0], mul_y = yv.consumers[1];
  if (g.node(div).op_type != "Div") std::swap(div, mul_y);
  if (!IsScalarBinary(g, g.node(div), "Div", y, 1.41421356f, /*commutes=*/false))
    return std::nullopt;
  const ir::NodeId erf = OnlyReader(g, g.node(div).outputs[0]);
  if (erf == ir::kNoNode || g.node(erf).op_type != "Erf") return std::nullopt;
  const ir::NodeId add = OnlyReader(g, g.node(erf).outputs[0]);
  if (add == ir::kNoNode ||
      !IsScalarBinary(g, g.node(add), "Add", g.node(erf).outputs[0], 1.f, /*commutes=*/true))
    return std::nullopt;
  const ir::Node& m = g.node(mul_y);
  const ir::ValueId one_plus = g.node(add).outputs[0];
  if (OnlyReader(g, one_plus) != mul_y || m.op_type != "Mul" || m.inputs.size() != 2 ||
      !((m.inputs[0] == y && m.inputs[1] == one_plus) ||
        (m.inputs[1] == y && m.inputs[0] == one_plus)))
    return std::nullopt;
  const ir::NodeId half = OnlyReader(g, m.outputs[0]);
  if (half == ir::kNoNode ||
      !IsScalarBinary(g, g.node(half), "Mul", m.outputs[0], 0.5f, /*commutes=*/true))
    return std::nullopt;
  return GeluMatch{g.node(half).outputs[0], {div, erf, add, mul_y, half}, false};
}

}  // namespace ridge::cuda
