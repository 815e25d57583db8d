// Op builders: each maps one node (plus, for Conv, the activations and residual add it fuses)
// onto a oneDNN primitive, or declines so that the reference kernel runs it.
#include <algorithm>
#include <cmath>

#include "backends/cpu/compiler.h"

namespace ridge::cpu {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using Dims = std::vector<int64_t>;

Dims DimsOf(const Compiler& c, ir::ValueId v) { return *c.value(v).shape->ToInts(); }
memory::dims ToDnnl(const Dims& d) { return memory::dims(d.begin(), d.end()); }

const Tensor* ConstOf(const Compiler& c, ir::ValueId v) {
  if (v == ir::kNoValue) return nullptr;
  const auto& val = c.value(v);
  return val.constant ? &*val.constant : nullptr;
}

bool HasPadding(const memory::desc& md, const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return md.get_size() != static_cast<size_t>(n) * sizeof(float);
}

bool Present(const ir::Node& node, size_t i) {
  return i < node.inputs.size() && node.inputs[i] != ir::kNoValue;
}

// A constant scalar input as float (Clip bounds).
std::optional<float> ScalarInput(const Compiler& c, const ir::Node& node, size_t i) {
  if (!Present(node, i)) return std::nullopt;
  const Tensor* t = ConstOf(c, node.inputs[i]);
  if (!t || t->num_elements() != 1) return std::nullopt;
  return static_cast<float>(t->GetAsDouble(0));
}

// The eltwise algorithm of a one-input activation node; false when it has none.
bool ActivationOf(const Compiler& c, const ir::Node& node, algorithm* alg, float* alpha,
                  float* beta, bool* zero_preserving) {
  const std::string& op = node.op_type;
  *alpha = 0;
  *beta = 0;
  *zero_preserving = true;
  if (op == "Relu") {
    *alg = algorithm::eltwise_relu;
  } else if (op == "LeakyRelu") {
    *alg = algorithm::eltwise_relu;
    *alpha = node.GetFloat("alpha", 0.01f);
  } else if (op == "Sigmoid") {
    *alg = algorithm::eltwise_logistic;
    *zero_preserving = false;
  } else if (op == "Tanh") {
    *alg = algorithm::eltwise_tanh;
  } else if (op == "HardSwish") {
    *alg = algorithm::eltwise_hardswish;
  } else if (op == "Elu") {
    *alg = algorithm::eltwise_elu;
    *alpha = node.GetFloat("alpha", 1.0f);
  } else if (op == "Abs") {
    *alg = algorithm::eltwise_abs;
  } else if (op == "Neg") {
    *alg = algorithm::eltwise_linear;
    *alpha = -1;
  } else if (op == "Sqrt") {
    *alg = algorithm::eltwise_sqrt;
  } else if (op == "Exp") {
    *alg = algorithm::eltwise_exp;
    *zero_preserving = false;
  } else if (op == "Log") {
    *alg = algorithm::eltwise_log;
    *zero_preserving = false;
  } else if (op == "Clip") {
    float lo = -INFINITY, hi = INFINITY;
    if (c.graph().opset_version < 11 || node.inputs.size() <= 1) {
      lo = node.GetFloat("min", lo);
      hi = node.GetFloat("max", hi);
    }
    if (Present(node, 1)) {
      auto v = ScalarInput(c, node, 1);
      if (!v) return false;
      lo = *v;
    }
    if (Present(node, 2)) {
      auto v = ScalarInput(c, node, 2);
      if (!v) return false;
      hi = *v;
    }
    *alg = algorithm::eltwise_clip;
    *alpha = lo;
    *beta = hi;
    *zero_preserving = lo <= 0 && hi >= 0;
  } else {
    return false;
  }
  return true;
}

// Sigmoid node s whose output feeds only Mul(x, s(x)): SiLU. Returns the Mul node or -1.
ir::NodeId SiluMul(const Compiler& c, ir::NodeId s) {
  const ir::Graph& g = c.graph();
  const ir::Node& sig = g.node(s);
  if (sig.op_type != "Sigmoid" || sig.outputs.empty()) return ir::kNoNode;
  const ir::Value& sv = g.value(sig.outputs[0]);
  if (sv.is_graph_output || sv.consumers.size() != 1) return ir::kNoNode;
  const ir::Node& mul = g.node(sv.consumers[0]);
  if (mul.op_type != "Mul" || mul.inputs.size() != 2 || !mul.domain.empty()) return ir::kNoNode;
  ir::ValueId x = sig.inputs[0];
  bool ok = (mul.inputs[0] == x && mul.inputs[1] == sig.outputs[0]) ||
            (mul.inputs[1] == x && mul.inputs[0] == sig.outputs[0]);
  return ok ? sv.consumers[0] : ir::kNoNode;
}

std::unique_ptr<DnnlKernel> NewKernel(const ir::Node& node, const std::string& type) {
  auto k = std::make_unique<DnnlKernel>();
  k->op_type = type;
  return k;
}

// Packs a constant into the layout a primitive asked for.
memory PackConstant(Compiler& c, const Tensor& t, const memory::desc& user_md,
                    const memory::desc& want_md) {
  memory user(user_md, c.engine(), const_cast<std::byte*>(t.raw_data()));
  memory packed(want_md, c.engine());
  dnnl::stream s(c.engine());
  dnnl::reorder(user, packed).execute(s, user, packed);
  s.wait();
  return packed;
}

// The slot of residual operand `other` when conv `id` may accumulate into its bytes in place:
// a planned buffer in the conv's destination layout, read by no kernel after this one (every
// other consumer precedes the conv in node order, so its kernel already ran) and aliased by
// nothing. Else -1, and the operand is copied into a fresh destination.
int SumInPlaceSlot(Compiler& c, ir::NodeId id, ir::ValueId other, const memory::desc& dst_md) {
  const ir::Value& ov = c.value(other);
  int s = c.SlotOf(other);
  if (ov.is_graph_output || s < 0 ||
      !(c.slot(s).storage == Storage::kArena || c.slot(s).sole_owner) || c.slot(s).md != dst_md ||
      c.IsAliased(s)) {
    return -1;
  }
  int later = 0;  // consumers at or after the conv: only the fused Add may be one
  for (ir::NodeId n : ov.consumers) later += n >= id ? 1 : 0;
  return later == 1 ? s : -1;
}

}  // namespace

bool HasNativeKernel(const std::string& op) {
  static const char* kOps[] = {"Conv",          "MaxPool",
                               "AveragePool",   "GlobalAveragePool",
                               "GlobalMaxPool", "MatMul",
                               "Gemm",          "Softmax",
                               "LogSoftmax",    "LayerNormalization",
                               "Concat",        "Transpose",
                               "Reshape",       "Flatten",
                               "Squeeze",       "Unsqueeze",
                               "Identity",      "Dropout",
                               "Add",           "Sub",
                               "Mul",           "Div",
                               "Max",           "Min",
                               "Relu",          "LeakyRelu",
                               "Sigmoid",       "Tanh",
                               "HardSwish",     "Elu",
                               "Abs",           "Neg",
                               "Sqrt",          "Exp",
                               "Log",           "Clip"};
  for (const char* o : kOps) {
    if (op == o) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
Status BuildConv(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Graph& g = c.graph();
  const ir::Node& node = g.node(id);
  if (node.inputs.size() < 2 || node.outputs.size() != 1) return Status::Ok();
  ir::ValueId x = node.inputs[0], w = node.inputs[1];
  const Tensor* wt = ConstOf(c, w);
  const Tensor* bt = Present(node, 2) ? ConstOf(c, node.inputs[2]) : nullptr;
  if (!c.IsFloatActivation(x) || !wt || wt->dtype() != DType::kFloat32) return Status::Ok();
  if (Present(node, 2) && (!bt || bt->dtype() != DType::kFloat32)) return Status::Ok();
  Dims xd = DimsOf(c, x), od = DimsOf(c, node.outputs[0]);
  Dims wd = wt->dims();
  if (xd.size() != 4 || wd.size() != 4 || od.size() != 4) return Status::Ok();
  int64_t group = node.GetInt("group", 1);
  Dims strides = node.GetInts("strides", {1, 1});
  Dims dil = node.GetInts("dilations", {1, 1});
  Dims pads = node.GetInts("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4 || group <= 0) {
    return Status::Ok();
  }
  std::string auto_pad = node.GetString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET") {
    for (int i = 0; i < 2; ++i) {
      int64_t total = auto_pad == "VALID"
                          ? 0
                          : std::max<int64_t>(0, (od[2 + i] - 1) * strides[i] +
                                                     (wd[2 + i] - 1) * dil[i] + 1 - xd[2 + i]);
      int64_t small = total / 2;
      pads[i] = auto_pad == "SAME_LOWER" ? total - small : small;
      pads[2 + i] = total - pads[i];
    }
  }

  // Fusion: follow the single-consumer chain of activations and one residual add.
  dnnl::post_ops po;
  std::vector<ir::NodeId> fused = {id};
  std::string type = "Conv";
  ir::ValueId cur = node.outputs[0];
  ir::ValueId sum_other = ir::kNoValue;
  while (c.options().fuse) {
    const ir::Value& cv = g.value(cur);
    if (cv.is_graph_output) break;
    if (cv.consumers.size() == 2) {
      // SiLU: x -> Sigmoid -> Mul(x, sigmoid)
      ir::NodeId s = cv.consumers[0], m = ir::kNoNode;
      for (ir::NodeId cand : cv.consumers) {
        if (g.node(cand).op_type == "Sigmoid") s = cand;
      }
      m = SiluMul(c, s);
      bool ok = m != ir::kNoNode && ((cv.consumers[0] == s && cv.consumers[1] == m) ||
                                     (cv.consumers[1] == s && cv.consumers[0] == m));
      if (!ok) break;
      po.append_eltwise(1.f, algorithm::eltwise_swish, 1.f, 0.f);
      fused.push_back(s);
      fused.push_back(m);
      type += "+SiLU";
      cur = g.node(m).outputs[0];
      continue;
    }
    if (cv.consumers.size() != 1) break;
    ir::NodeId cn = cv.consumers[0];
    const ir::Node& cnode = g.node(cn);
    if (!cnode.domain.empty() || cnode.outputs.size() != 1) break;
    algorithm alg;
    float alpha, beta;
    bool zp;
    if (cnode.op_type == "Add" && cnode.inputs.size() == 2 && sum_other == ir::kNoValue) {
      ir::ValueId other = cnode.inputs[0] == cur ? cnode.inputs[1] : cnode.inputs[0];
      if (other == cur || !c.IsFloatActivation(other) || c.SlotOf(other) < 0 ||
          DimsOf(c, other) != od) {
        break;
      }
      po.append_sum(1.f);
      sum_other = other;
      type += "+Add";
    } else if (cnode.inputs[0] == cur && cnode.op_type != "Exp" && cnode.op_type != "Log" &&
               ActivationOf(c, cnode, &alg, &alpha, &beta, &zp)) {
      if (cnode.op_type == "Sigmoid" && SiluMul(c, cn) != ir::kNoNode) break;
      po.append_eltwise(1.f, alg, alpha, beta);
      type += "+" + cnode.op_type;
    } else {
      break;
    }
    fused.push_back(cn);
    cur = cnode.outputs[0];
  }

  bool blocked = c.options().blocked_layouts;
  auto tag_any = memory::format_tag::any;
  memory::desc src_md =
      blocked ? memory::desc(ToDnnl(xd), memory::data_type::f32, tag_any) : PlainDesc(xd);
  memory::desc dst_md =
      blocked ? memory::desc(ToDnnl(od), memory::data_type::f32, tag_any) : PlainDesc(od);
  Dims wdims = wd;
  if (group > 1) {
    if (wd[0] % group != 0) return Status::Ok();
    wdims = {group, wd[0] / group, wd[1], wd[2], wd[3]};
  }
  memory::desc w_any(ToDnnl(wdims), memory::data_type::f32, tag_any);
  memory::desc b_md = PlainDesc({wd[0]});
  memory::dims d_strides = {strides[0], strides[1]};
  memory::dims d_dil = {dil[0] - 1, dil[1] - 1};
  memory::dims pad_l = {pads[0], pads[1]}, pad_r = {pads[2], pads[3]};
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  dnnl::convolution_forward::primitive_desc pd;
  // Winograd F(4x4, 3x3) for plain 3x3 stride-1 convs with enough channels: about 2.25x fewer
  // multiplies in the conv body. oneDNN 2.6 declines it where it has no kernel (channels not a
  // multiple of 16, post-ops other than ReLU/sum, ...); then the direct conv is used. It
  // changes rounding a little (resnet18: 2e-6 max abs difference on outputs up to ~2).
  // Batch 1 only: the batched kernel (jit_fp32_wino_2x3:avx512_core, minibatch > 1) of Debian's
  // oneDNN segfaulted in `ridge pipeline resnet18 --batch 2` (reading past a buffer: whether it
  // faults depends on the heap around it, so `ridge run --batch 2` happened to survive).
  const bool wino = c.options().winograd && blocked && group == 1 && wd[2] == 3 && wd[3] == 3 &&
                    strides == Dims{1, 1} && dil == Dims{1, 1} && wd[0] >= 64 && wd[1] >= 64 &&
                    xd[0] == 1;
  for (algorithm alg : {algorithm::convolution_winograd, algorithm::convolution_direct}) {
    if (alg == algorithm::convolution_winograd && !wino) continue;
    try {
      auto desc =
          bt ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src_md,
                                               w_any, b_md, dst_md, d_strides, d_dil, pad_l, pad_r)
             : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src_md,
                                               w_any, dst_md, d_strides, d_dil, pad_l, pad_r);
      pd = dnnl::convolution_forward::primitive_desc(desc, attr, c.engine());
      if (alg == algorithm::convolution_winograd) type = "Wino" + type;
      break;
    } catch (const dnnl::error&) {
      // Winograd declined: try direct. Direct declined: the reference kernel runs it unfused.
    }
  }
  if (!pd) return Status::Ok();
  for (size_t i = 1; i < fused.size(); ++i) c.MarkFused(fused[i]);

  auto k = NewKernel(node, type);
  int src = c.SlotWithDesc(x, pd.src_desc());
  int inplace = sum_other != ir::kNoValue ? SumInPlaceSlot(c, id, sum_other, pd.dst_desc()) : -1;
  int dst = c.NewValueSlot(cur, pd.dst_desc());
  k->primitive = dnnl::convolution_forward(pd);
  k->slot_args = {{DNNL_ARG_SRC, src, {}}, {DNNL_ARG_DST, dst, {}}};
  k->const_args.push_back(
      {DNNL_ARG_WEIGHTS, PackConstant(c, *wt, PlainDesc(wdims), pd.weights_desc())});
  if (bt) {
    k->const_args.push_back(
        {DNNL_ARG_BIAS, memory(b_md, c.engine(), const_cast<std::byte*>(bt->raw_data()))});
  }
  k->input_slots = {src};
  if (sum_other != ir::kNoValue) {
    k->sum_source = c.SlotOf(sum_other);
    k->sum_dest = dst;
    if (inplace >= 0) {
      // The residual dies here: accumulate into its own bytes instead of copying it first.
      k->sum_in_place = true;
      k->alias_source = inplace;
      c.slot(dst).storage = Storage::kAlias;
      c.slot(dst).sole_owner = true;
    } else {
      k->sum_copy = dnnl::reorder(dnnl::reorder::primitive_desc(
          c.engine(), c.slot(k->sum_source).md, c.engine(), pd.dst_desc()));
    }
    k->input_slots.push_back(k->sum_source);
  }
  k->output_slots = {dst};
  c.AddKernel(std::move(k), fused, "dnnl");
  *handled = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
Status BuildPool(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  const std::string& op = node.op_type;
  if (node.inputs.empty() || !c.IsFloatActivation(node.inputs[0])) return Status::Ok();
  if (node.outputs.size() > 1 && node.outputs[1] != ir::kNoValue) return Status::Ok();
  ir::ValueId x = node.inputs[0];
  Dims xd = DimsOf(c, x), od = DimsOf(c, node.outputs[0]);
  if (xd.size() != 4 || od.size() != 4) return Status::Ok();
  bool global = op == "GlobalAveragePool" || op == "GlobalMaxPool";
  Dims kernel = global ? Dims{xd[2], xd[3]} : node.GetInts("kernel_shape");
  Dims strides = global ? Dims{1, 1} : node.GetInts("strides", {1, 1});
  Dims pads = global ? Dims{0, 0, 0, 0} : node.GetInts("pads", {0, 0, 0, 0});
  Dims dil = node.GetInts("dilations", {1, 1});
  std::string auto_pad = node.GetString("auto_pad", "NOTSET");
  if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 4 || dil != Dims{1, 1} ||
      node.GetInt("storage_order", 0) != 0) {
    return Status::Ok();
  }
  if (auto_pad != "NOTSET") {
    for (int i = 0; i < 2; ++i) {
      int64_t total =
          auto_pad == "VALID"
              ? 0
              : std::max<int64_t>(0, (od[2 + i] - 1) * strides[i] + kernel[i] - xd[2 + i]);
      pads[i] = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
      pads[2 + i] = total - pads[i];
    }
  }
  // The right padding that yields the inferred output size (covers ceil_mode).
  memory::dims pad_l = {pads[0], pads[1]}, pad_r(2);
  for (int i = 0; i < 2; ++i) {
    pad_r[i] = (od[2 + i] - 1) * strides[i] + kernel[i] - xd[2 + i] - pads[i];
    if (pad_r[i] < 0) pad_r[i] = 0;
    if (pad_r[i] > pads[2 + i] && op == "AveragePool" && node.GetInt("count_include_pad", 0)) {
      return Status::Ok();  // ceil_mode windows past the padding: ONNX counts differently
    }
  }
  algorithm alg = (op == "MaxPool" || op == "GlobalMaxPool") ? algorithm::pooling_max
                  : node.GetInt("count_include_pad", 0) ? algorithm::pooling_avg_include_padding
                                                        : algorithm::pooling_avg_exclude_padding;
  int src = c.SlotOf(x);
  memory::desc dst_any(ToDnnl(od), memory::data_type::f32,
                       c.slot(src).blocked ? memory::format_tag::any : memory::format_tag::nchw);
  dnnl::pooling_forward::primitive_desc pd;
  try {
    dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, alg, c.slot(src).md,
                                     dst_any, {strides[0], strides[1]}, {kernel[0], kernel[1]},
                                     pad_l, pad_r);
    pd = dnnl::pooling_forward::primitive_desc(desc, c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = NewKernel(node, op);
  int dst = c.NewValueSlot(node.outputs[0], pd.dst_desc());
  k->primitive = dnnl::pooling_forward(pd);
  k->slot_args = {{DNNL_ARG_SRC, src, {}}, {DNNL_ARG_DST, dst, {}}};
  k->input_slots = {src};
  k->output_slots = {dst};
  c.AddKernel(std::move(k), {id}, "dnnl");
  *handled = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// One-input activations, and standalone SiLU (Sigmoid + Mul) as one swish kernel.
Status BuildUnary(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.empty() || node.outputs.size() != 1) return Status::Ok();
  ir::ValueId x = node.inputs[0];
  if (!c.IsFloatActivation(x)) return Status::Ok();
  algorithm alg;
  float alpha, beta;
  bool zero_preserving;
  if (!ActivationOf(c, node, &alg, &alpha, &beta, &zero_preserving)) return Status::Ok();
  ir::ValueId y = node.outputs[0];
  std::vector<ir::NodeId> nodes = {id};
  std::string type = node.op_type;
  if (c.options().fuse) {
    ir::NodeId mul = SiluMul(c, id);
    if (mul != ir::kNoNode) {
      alg = algorithm::eltwise_swish;
      alpha = 1.f;
      zero_preserving = true;
      nodes.push_back(mul);
      c.MarkFused(mul);
      y = c.graph().node(mul).outputs[0];
      type = "SiLU";
    }
  }
  int src = c.SlotOf(x);
  Dims xd = DimsOf(c, x);
  if (c.slot(src).blocked && !zero_preserving && HasPadding(c.slot(src).md, xd)) {
    src = c.PlainSlot(x);
  }
  memory::desc md = c.slot(src).md;
  dnnl::eltwise_forward::primitive_desc pd;
  try {
    pd = dnnl::eltwise_forward::primitive_desc(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, alg, md, alpha, beta),
        c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = NewKernel(node, type);
  int dst = c.NewValueSlot(y, md);
  k->primitive = dnnl::eltwise_forward(pd);
  k->slot_args = {{DNNL_ARG_SRC, src, {}}, {DNNL_ARG_DST, dst, {}}};
  k->input_slots = {src};
  k->output_slots = {dst};
  c.AddKernel(std::move(k), nodes, "dnnl");
  *handled = true;
  return Status::Ok();
}

}  // namespace ridge::cpu

namespace ridge::cpu {
namespace {

// A constant scalar float value v, or nullopt.
std::optional<float> ScalarConst(const Compiler& c, ir::ValueId v) {
  const Tensor* t = ConstOf(c, v);
  if (!t || t->num_elements() != 1 || !IsFloatingPoint(t->dtype())) return std::nullopt;
  return static_cast<float>(t->GetAsDouble(0));
}

bool Near(std::optional<float> v, float want) { return v && std::abs(*v - want) < 1e-4f; }

// The single consumer node of value v (not a graph output), or kNoNode.
ir::NodeId OnlyConsumer(const Compiler& c, ir::ValueId v) {
  const ir::Value& val = c.value(v);
  if (val.is_graph_output || val.consumers.size() != 1) return ir::kNoNode;
  return val.consumers[0];
}

// The other input of a two-input node, given one of them.
ir::ValueId OtherInput(const ir::Node& n, ir::ValueId v) {
  if (n.inputs.size() != 2) return ir::kNoValue;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return ir::kNoValue;
}

}  // namespace

// GELU as exported by PyTorch (exact, erf form):
//   d = Div(x, sqrt(2)); e = Erf(d); a = Add(e, 1); m = Mul(x, a); y = Mul(m, 0.5)
// becomes one eltwise_gelu_erf kernel. Returns false (and builds nothing) if it does not match.
bool MatchGelu(const Compiler& c, ir::NodeId div_id, std::vector<ir::NodeId>* nodes) {
  const ir::Graph& g = c.graph();
  const ir::Node& div = g.node(div_id);
  if (div.op_type != "Div" || div.inputs.size() != 2 || !c.IsFloatActivation(div.inputs[0]) ||
      !Near(ScalarConst(c, div.inputs[1]), 1.41421356f)) {
    return false;
  }
  ir::ValueId x = div.inputs[0];
  ir::NodeId erf = OnlyConsumer(c, div.outputs[0]);
  if (erf == ir::kNoNode || g.node(erf).op_type != "Erf") return false;
  ir::NodeId add = OnlyConsumer(c, g.node(erf).outputs[0]);
  if (add == ir::kNoNode || g.node(add).op_type != "Add" ||
      !Near(ScalarConst(c, OtherInput(g.node(add), g.node(erf).outputs[0])), 1.f)) {
    return false;
  }
  ir::NodeId mul = OnlyConsumer(c, g.node(add).outputs[0]);
  if (mul == ir::kNoNode || g.node(mul).op_type != "Mul" ||
      OtherInput(g.node(mul), g.node(add).outputs[0]) != x) {
    return false;
  }
  ir::NodeId half = OnlyConsumer(c, g.node(mul).outputs[0]);
  if (half == ir::kNoNode || g.node(half).op_type != "Mul" ||
      !Near(ScalarConst(c, OtherInput(g.node(half), g.node(mul).outputs[0])), 0.5f)) {
    return false;
  }
  *nodes = {div_id, erf, add, mul, half};
  return true;
}

bool TryBuildGelu(Compiler& c, ir::NodeId div_id) {
  const ir::Graph& g = c.graph();
  const ir::Node& div = g.node(div_id);
  std::vector<ir::NodeId> nodes;
  if (!MatchGelu(c, div_id, &nodes)) return false;
  ir::NodeId erf = nodes[1], add = nodes[2], mul = nodes[3], half = nodes[4];
  ir::ValueId x = div.inputs[0];
  int src = c.SlotOf(x);
  Dims xd = DimsOf(c, x);
  if (c.slot(src).blocked && HasPadding(c.slot(src).md, xd)) src = c.PlainSlot(x);
  memory::desc md = c.slot(src).md;
  dnnl::eltwise_forward::primitive_desc pd;
  try {
    pd = dnnl::eltwise_forward::primitive_desc(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, algorithm::eltwise_gelu_erf,
                                    md, 0.f, 0.f),
        c.engine());
  } catch (const dnnl::error&) {
    return false;
  }
  for (ir::NodeId n : {erf, add, mul, half}) c.MarkFused(n);
  auto k = NewKernel(div, "GELU");
  int dst = c.NewValueSlot(g.node(half).outputs[0], md);
  k->primitive = dnnl::eltwise_forward(pd);
  k->slot_args = {{DNNL_ARG_SRC, src, {}}, {DNNL_ARG_DST, dst, {}}};
  k->input_slots = {src};
  k->output_slots = {dst};
  c.AddKernel(std::move(k), {div_id, erf, add, mul, half}, "dnnl");
  return true;
}

}  // namespace ridge::cpu
