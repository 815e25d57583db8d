// Builders for matrix products, elementwise math, normalization, softmax and layout ops.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/compiler.h"

namespace ridge::cpu {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using Dims = std::vector<int64_t>;

Dims DimsOf(const Compiler& c, ir::ValueId v) { return *c.value(v).shape->ToInts(); }
memory::dims ToDnnl(const Dims& d) { return memory::dims(d.begin(), d.end()); }
const Tensor* ConstOf(const Compiler& c, ir::ValueId v) {
  const auto& val = c.value(v);
  return val.constant ? &*val.constant : nullptr;
}
bool Present(const ir::Node& node, size_t i) {
  return i < node.inputs.size() && node.inputs[i] != ir::kNoValue;
}
bool IsF32(const Compiler& c, ir::ValueId v) { return c.value(v).dtype == DType::kFloat32; }
Dims PadLeft(Dims d, size_t rank) {
  d.insert(d.begin(), rank - d.size(), 1);
  return d;
}
bool HasPadding(const memory::desc& md, const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return md.get_size() != static_cast<size_t>(n) * sizeof(float);
}
memory PackConstant(Compiler& c, const Tensor& t, const memory::desc& user_md,
                    const memory::desc& want_md) {
  memory user(user_md, c.engine(), const_cast<std::byte*>(t.raw_data()));
  memory packed(want_md, c.engine());
  dnnl::stream s(c.engine());
  dnnl::reorder(user, packed).execute(s, user, packed);
  s.wait();
  return packed;
}
std::unique_ptr<DnnlKernel> NewKernel(const std::string& type) {
  auto k = std::make_unique<DnnlKernel>();
  k->op_type = type;
  return k;
}
void Finish(Compiler& c, std::unique_ptr<DnnlKernel> k, ir::NodeId id,
            std::vector<ir::NodeId> more = {}) {
  for (const auto& a : k->slot_args) {
    if (a.arg == DNNL_ARG_DST) {
      k->output_slots.push_back(a.slot);
    } else {
      k->input_slots.push_back(a.slot);
    }
  }
  std::vector<ir::NodeId> nodes = {id};
  nodes.insert(nodes.end(), more.begin(), more.end());
  c.AddKernel(std::move(k), nodes, "dnnl");
}

// The single consumer node of value v (not a graph output), or kNoNode.
ir::NodeId OnlyConsumerOf(const Compiler& c, ir::ValueId v) {
  const ir::Value& val = c.value(v);
  if (val.is_graph_output || val.consumers.size() != 1) return ir::kNoNode;
  return val.consumers[0];
}
// The other input of a two-input node, given one of them.
ir::ValueId OtherInputOf(const ir::Node& n, ir::ValueId v) {
  if (n.inputs.size() != 2) return ir::kNoValue;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return ir::kNoValue;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
Status BuildMatMul(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.size() != 2) return Status::Ok();
  ir::ValueId a = node.inputs[0], b = node.inputs[1], y = node.outputs[0];
  if (!IsF32(c, a) || !IsF32(c, b) || !c.IsFloatActivation(a)) return Status::Ok();
  Dims ad = DimsOf(c, a), bd = DimsOf(c, b), yd = DimsOf(c, y);
  if (ad.size() < 2 || bd.size() < 2 || yd.size() > 12) return Status::Ok();
  size_t r = std::max(ad.size(), bd.size());
  if (yd.size() != r) return Status::Ok();
  Dims ap = PadLeft(ad, r), bp = PadLeft(bd, r);
  const Tensor* bt = ConstOf(c, b);
  // Constant 2-D weights shared by every leading index: one [M, K] x [K, N] product over all
  // rows. oneDNN 2.6 otherwise runs a batch of small products (convnext's [1, 7, 7, 768] input:
  // 7 products of 7 rows instead of one of 49), far from its GEMM's speed.
  Dims yview = yd;
  if (bt && r > 2 && std::all_of(bp.begin(), bp.end() - 2, [](int64_t v) { return v == 1; })) {
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < r; ++i) rows *= ap[i];
    ap = {rows, ap.back()};
    bp = {bp[r - 2], bp[r - 1]};
    yview = {rows, yd.back()};
    r = 2;
  }
  memory::desc w_md = bt ? memory::desc(ToDnnl(bp), memory::data_type::f32, memory::format_tag::any)
                         : PlainDesc(bp);
  // Epilogue fusion (constant weights): MatMul -> Add(constant bias over the last dim) ->
  // GELU subgraph or Mul(constant per-column scale), as in transformer MLPs (convnext). The bias
  // becomes matmul's bias, the rest one post-op; the intermediate values never touch memory.
  std::vector<ir::NodeId> fused;
  std::optional<memory> bias;
  dnnl::post_ops post;
  std::vector<std::pair<int, memory>> post_args;
  std::string type = "MatMul";
  ir::ValueId out = y;
  if (c.options().fuse && bt) {
    const int64_t n = yd.back();
    Dims row(r, 1);
    row.back() = n;
    const memory::desc row_md = PlainDesc(row);
    auto row_const = [&](ir::ValueId v) -> std::optional<memory> {
      const Tensor* t = v == ir::kNoValue ? nullptr : ConstOf(c, v);
      if (!t || t->dtype() != DType::kFloat32 || t->num_elements() != n) return std::nullopt;
      if (t->dims().size() > yd.size() || t->dims().empty() || t->dims().back() != n)
        return std::nullopt;
      memory m(row_md, c.engine());
      std::memcpy(m.get_data_handle(), t->raw_data(), static_cast<size_t>(n) * sizeof(float));
      return m;
    };
    ir::NodeId add = OnlyConsumerOf(c, y);
    if (add != ir::kNoNode && c.graph().node(add).op_type == "Add" &&
        DimsOf(c, c.graph().node(add).outputs[0]) == yd) {
      bias = row_const(OtherInputOf(c.graph().node(add), y));
    }
    if (bias) {
      fused.push_back(add);
      out = c.graph().node(add).outputs[0];
      type += "+Add";
      ir::NodeId next = OnlyConsumerOf(c, out);
      // GELU reads its input twice (Div and Mul): exactly those two consumers.
      std::vector<ir::NodeId> gelu;
      const ir::Value& ov = c.value(out);
      bool is_gelu = false;
      if (!ov.is_graph_output && ov.consumers.size() == 2) {
        for (ir::NodeId d : ov.consumers) {
          if (!is_gelu && c.graph().node(d).op_type == "Div" &&
              c.graph().node(d).inputs[0] == out && MatchGelu(c, d, &gelu)) {
            is_gelu = ov.consumers[0] == gelu[3] || ov.consumers[1] == gelu[3];
          }
        }
      }
      if (is_gelu) {
        post.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
        fused.insert(fused.end(), gelu.begin(), gelu.end());
        out = c.graph().node(gelu.back()).outputs[0];
        type += "+GELU";
      } else if (next != ir::kNoNode && c.graph().node(next).op_type == "Mul" &&
                 DimsOf(c, c.graph().node(next).outputs[0]) == yd) {
        if (auto scale = row_const(OtherInputOf(c.graph().node(next), out))) {
          post.append_binary(algorithm::binary_mul, row_md);
          post_args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, *scale});
          fused.push_back(next);
          out = c.graph().node(next).outputs[0];
          type += "+Mul";
        }
      }
    }
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(post);
  dnnl::matmul::primitive_desc pd;
  try {
    pd = bias ? dnnl::matmul::primitive_desc(
                    dnnl::matmul::desc(PlainDesc(ap), w_md, bias->get_desc(), PlainDesc(yview)),
                    attr, c.engine())
              : dnnl::matmul::primitive_desc(
                    dnnl::matmul::desc(PlainDesc(ap), w_md, PlainDesc(yview)), attr, c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  for (ir::NodeId f : fused) c.MarkFused(f);
  auto k = NewKernel(type);
  k->primitive = dnnl::matmul(pd);
  if (bias) k->const_args.push_back({DNNL_ARG_BIAS, *bias});
  for (auto& pa : post_args) k->const_args.push_back(pa);
  int dst = c.NewValueSlot(out, PlainDesc(yd));
  k->slot_args.push_back({DNNL_ARG_SRC, c.PlainSlot(a), PlainDesc(ap)});
  if (bt) {
    k->const_args.push_back(
        {DNNL_ARG_WEIGHTS, PackConstant(c, *bt, PlainDesc(bp), pd.weights_desc())});
  } else {
    k->slot_args.push_back({DNNL_ARG_WEIGHTS, c.PlainSlot(b), PlainDesc(bp)});
  }
  k->slot_args.push_back({DNNL_ARG_DST, dst, PlainDesc(yview)});
  Finish(c, std::move(k), id, fused);
  *handled = true;
  return Status::Ok();
}

Status BuildGemm(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.size() < 2) return Status::Ok();
  ir::ValueId a = node.inputs[0], b = node.inputs[1], y = node.outputs[0];
  if (!IsF32(c, a) || !IsF32(c, b) || !c.IsFloatActivation(a)) return Status::Ok();
  if (node.GetFloat("alpha", 1.f) != 1.f) return Status::Ok();
  bool trans_a = node.GetInt("transA", 0) != 0, trans_b = node.GetInt("transB", 0) != 0;
  Dims ad = DimsOf(c, a), bd = DimsOf(c, b), yd = DimsOf(c, y);
  if (ad.size() != 2 || bd.size() != 2 || yd.size() != 2) return Status::Ok();
  int64_t m = yd[0], n = yd[1], kk = trans_a ? ad[0] : ad[1];
  const Tensor* ct = nullptr;
  memory::desc bias_md;
  if (Present(node, 2)) {
    ct = ConstOf(c, node.inputs[2]);
    if (!ct || ct->dtype() != DType::kFloat32 || node.GetFloat("beta", 1.f) != 1.f) {
      return Status::Ok();
    }
    Dims cd = ct->dims();
    if (cd == Dims{n} || cd == Dims{1, n}) {
      bias_md = PlainDesc({1, n});
    } else if (cd == Dims{m, n}) {
      bias_md = PlainDesc({m, n});
    } else {
      return Status::Ok();
    }
  }
  memory::desc a_md =
      trans_a ? memory::desc({m, kk}, memory::data_type::f32, {1, m}) : PlainDesc({m, kk});
  memory::desc b_user =
      trans_b ? memory::desc({kk, n}, memory::data_type::f32, {1, kk}) : PlainDesc({kk, n});
  const Tensor* bt = ConstOf(c, b);
  memory::desc w_md =
      bt ? memory::desc({kk, n}, memory::data_type::f32, memory::format_tag::any) : b_user;
  dnnl::matmul::primitive_desc pd;
  try {
    auto desc = ct ? dnnl::matmul::desc(a_md, w_md, bias_md, PlainDesc(yd))
                   : dnnl::matmul::desc(a_md, w_md, PlainDesc(yd));
    pd = dnnl::matmul::primitive_desc(desc, c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = NewKernel("Gemm");
  k->primitive = dnnl::matmul(pd);
  int dst = c.NewValueSlot(y, PlainDesc(yd));
  k->slot_args.push_back({DNNL_ARG_SRC, c.PlainSlot(a), a_md});
  if (bt) {
    k->const_args.push_back({DNNL_ARG_WEIGHTS, PackConstant(c, *bt, b_user, pd.weights_desc())});
  } else {
    k->slot_args.push_back({DNNL_ARG_WEIGHTS, c.PlainSlot(b), b_user});
  }
  if (ct) {
    k->const_args.push_back(
        {DNNL_ARG_BIAS, memory(bias_md, c.engine(), const_cast<std::byte*>(ct->raw_data()))});
  }
  k->slot_args.push_back({DNNL_ARG_DST, dst, {}});
  Finish(c, std::move(k), id);
  *handled = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Binary math with numpy broadcasting where input 0 (or, for commutative ops, input 1) already
// has the output's dims; the other input broadcasts into it.
Status BuildBinary(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.size() != 2 || node.outputs.size() != 1) return Status::Ok();
  const std::string& op = node.op_type;
  ir::ValueId a = node.inputs[0], b = node.inputs[1], y = node.outputs[0];
  if (!IsF32(c, a) || !IsF32(c, b) || !IsF32(c, y)) return Status::Ok();
  algorithm alg = op == "Add"   ? algorithm::binary_add
                  : op == "Sub" ? algorithm::binary_sub
                  : op == "Mul" ? algorithm::binary_mul
                  : op == "Div" ? algorithm::binary_div
                  : op == "Max" ? algorithm::binary_max
                                : algorithm::binary_min;
  bool commutative = op == "Add" || op == "Mul" || op == "Max" || op == "Min";
  Dims ad = DimsOf(c, a), bd = DimsOf(c, b), yd = DimsOf(c, y);
  if (yd.empty() || yd.size() > 12) return Status::Ok();
  if (ad != yd) {
    if (!commutative || bd != yd) return Status::Ok();
    std::swap(a, b);
    std::swap(ad, bd);
  }
  if (bd.size() > yd.size()) return Status::Ok();
  int src0 = c.SlotOf(a);
  // Padded blocked layouts hold zeros past the channel count; keep them zero.
  if (c.slot(src0).blocked && HasPadding(c.slot(src0).md, yd) &&
      !(alg == algorithm::binary_mul || (bd == yd && alg != algorithm::binary_div))) {
    src0 = c.PlainSlot(a);
  }
  memory::desc md0 = c.slot(src0).md;
  int src1;
  std::optional<memory::desc> md1;
  if (bd == yd) {
    src1 = c.SlotWithDesc(b, md0);
  } else {
    src1 = c.PlainSlot(b);
    md1 = PlainDesc(PadLeft(bd, yd.size()));
  }
  memory::desc src1_md = md1 ? *md1 : c.slot(src1).md;
  dnnl::binary::primitive_desc pd;
  try {
    pd = dnnl::binary::primitive_desc(dnnl::binary::desc(alg, md0, src1_md, md0), c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = NewKernel(op);
  int dst = c.NewValueSlot(y, md0);
  k->primitive = dnnl::binary(pd);
  k->slot_args = {{DNNL_ARG_SRC_0, src0, {}}, {DNNL_ARG_SRC_1, src1, md1}, {DNNL_ARG_DST, dst, {}}};
  Finish(c, std::move(k), id);
  *handled = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
Status BuildSoftmax(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  ir::ValueId x = node.inputs[0], y = node.outputs[0];
  if (!c.IsFloatActivation(x) || node.outputs.size() != 1) return Status::Ok();
  Dims xd = DimsOf(c, x);
  int64_t rank = static_cast<int64_t>(xd.size());
  int64_t axis = node.GetInt("axis", c.graph().opset_version >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return Status::Ok();
  // Before opset 13 the op flattened to 2-D at `axis`: equal only when axis is the last one.
  if (c.graph().opset_version < 13 && axis != rank - 1) return Status::Ok();
  int src = c.PlainSlot(x);
  memory::desc md = PlainDesc(xd);
  auto k = NewKernel(node.op_type);
  try {
    if (node.op_type == "Softmax") {
      dnnl::softmax_forward::primitive_desc pd(
          dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, md,
                                      static_cast<int>(axis)),
          c.engine());
      k->primitive = dnnl::softmax_forward(pd);
    } else {
      dnnl::logsoftmax_forward::primitive_desc pd(
          dnnl::logsoftmax_forward::desc(dnnl::prop_kind::forward_inference, md,
                                         static_cast<int>(axis)),
          c.engine());
      k->primitive = dnnl::logsoftmax_forward(pd);
    }
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  int dst = c.NewValueSlot(y, md);
  k->slot_args = {{DNNL_ARG_SRC, src, {}}, {DNNL_ARG_DST, dst, {}}};
  Finish(c, std::move(k), id);
  *handled = true;
  return Status::Ok();
}

// LayerNormalization over the last axis with constant scale (and bias).
Status BuildLayerNorm(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.size() < 2) return Status::Ok();
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != ir::kNoValue) return Status::Ok();
  }
  ir::ValueId x = node.inputs[0], y = node.outputs[0];
  if (!c.IsFloatActivation(x)) return Status::Ok();
  Dims xd = DimsOf(c, x);
  int64_t rank = static_cast<int64_t>(xd.size());
  int64_t axis = node.GetInt("axis", -1);
  if (axis < 0) axis += rank;
  if (axis != rank - 1 || node.GetInt("stash_type", 1) != 1) return Status::Ok();
  const Tensor* scale = ConstOf(c, node.inputs[1]);
  const Tensor* bias = Present(node, 2) ? ConstOf(c, node.inputs[2]) : nullptr;
  int64_t ch = xd.back();
  if (!scale || scale->dtype() != DType::kFloat32 || scale->num_elements() != ch) {
    return Status::Ok();
  }
  if (Present(node, 2) &&
      (!bias || bias->dtype() != DType::kFloat32 || bias->num_elements() != ch)) {
    return Status::Ok();
  }
  auto flags = dnnl::normalization_flags::use_scale;
  if (bias) flags = flags | dnnl::normalization_flags::use_shift;
  memory::desc md = PlainDesc(xd);
  dnnl::layer_normalization_forward::primitive_desc pd;
  try {
    pd = dnnl::layer_normalization_forward::primitive_desc(
        dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_inference, md,
                                                node.GetFloat("epsilon", 1e-5f), flags),
        c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = NewKernel("LayerNormalization");
  k->primitive = dnnl::layer_normalization_forward(pd);
  int src = c.PlainSlot(x);
  int dst = c.NewValueSlot(y, md);
  k->slot_args = {{DNNL_ARG_SRC, src, {}}, {DNNL_ARG_DST, dst, {}}};
  k->const_args.push_back({DNNL_ARG_SCALE, memory(PlainDesc({ch}), c.engine(),
                                                  const_cast<std::byte*>(scale->raw_data()))});
  if (bias) {
    k->const_args.push_back({DNNL_ARG_SHIFT, memory(PlainDesc({ch}), c.engine(),
                                                    const_cast<std::byte*>(bias->raw_data()))});
  }
  Finish(c, std::move(k), id);
  *handled = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
Status BuildConcat(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  ir::ValueId y = node.outputs[0];
  if (!IsF32(c, y) || node.inputs.empty()) return Status::Ok();
  Dims yd = DimsOf(c, y);
  int64_t rank = static_cast<int64_t>(yd.size());
  int64_t axis = node.GetInt("axis", 0);
  if (axis < 0) axis += rank;
  if (rank == 0 || axis < 0 || axis >= rank) return Status::Ok();
  std::vector<memory::desc> mds;
  std::vector<int> srcs;
  for (ir::ValueId in : node.inputs) {
    if (in == ir::kNoValue || !IsF32(c, in)) return Status::Ok();
    Dims d = DimsOf(c, in);
    for (int64_t v : d) {
      if (v == 0) return Status::Ok();
    }
    mds.push_back(PlainDesc(d));
  }
  dnnl::concat::primitive_desc pd;
  try {
    pd = dnnl::concat::primitive_desc(PlainDesc(yd), static_cast<int>(axis), mds, c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = NewKernel("Concat");
  k->primitive = dnnl::concat(pd);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    k->slot_args.push_back(
        {DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), c.PlainSlot(node.inputs[i]), {}});
  }
  int dst = c.NewValueSlot(y, PlainDesc(yd));
  k->slot_args.push_back({DNNL_ARG_DST, dst, {}});
  Finish(c, std::move(k), id);
  *handled = true;
  return Status::Ok();
}

// Transpose as a oneDNN reorder from a permuted-strides view of the input.
Status BuildTranspose(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  ir::ValueId x = node.inputs[0], y = node.outputs[0];
  if (!c.IsFloatActivation(x)) return Status::Ok();
  Dims xd = DimsOf(c, x), yd = DimsOf(c, y);
  size_t rank = xd.size();
  if (rank == 0 || rank > 12) return Status::Ok();
  Dims perm = node.GetInts("perm");
  if (perm.empty()) {
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  }
  if (perm.size() != rank) return Status::Ok();
  Dims in_strides(rank, 1);
  for (int i = static_cast<int>(rank) - 2; i >= 0; --i)
    in_strides[i] = in_strides[i + 1] * xd[i + 1];
  memory::dims view_strides(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(rank)) return Status::Ok();
    view_strides[i] = in_strides[perm[i]];
  }
  // A transpose of a dense layout is a relabeling of its axes: the output aliases the input's
  // bytes with permuted strides and moves no data. A consumer that needs plain data reorders it
  // once; when the input's physical order already is the output's logical one (convnext's
  // NCHW -> NHWC around LayerNorm, with oneDNN's convs writing NHWC), nothing runs at all.
  {
    int src = c.SlotOf(x);
    const memory::desc& in_md = c.slot(src).md;
    std::vector<int> inverse(rank, -1);
    bool is_perm = true;
    for (size_t i = 0; i < rank; ++i) {
      is_perm = is_perm && inverse[perm[i]] < 0;
      inverse[perm[i]] = static_cast<int>(i);
    }
    memory::desc out_md;
    bool dense = is_perm && in_md.data.format_kind == dnnl_blocked &&
                 in_md.data.format_desc.blocking.inner_nblks == 0 && !HasPadding(in_md, xd) &&
                 c.slot(src).storage != Storage::kConstant;
    if (dense) out_md = in_md.permute_axes(inverse, /*allow_empty=*/true);
    if (dense && out_md.dims() == ToDnnl(yd)) {
      int dst = c.NewValueSlot(y, out_md);
      c.slot(dst).storage = Storage::kAlias;
      auto k = std::make_unique<AliasKernel>();
      k->op_type = "Transpose";
      k->input_slots = {src};
      k->output_slots = {dst};
      k->alias_source = src;
      c.AddKernel(std::move(k), {id}, "alias");
      *handled = true;
      return Status::Ok();
    }
  }
  memory::desc view(ToDnnl(yd), memory::data_type::f32, view_strides);
  dnnl::reorder::primitive_desc pd;
  try {
    pd = dnnl::reorder::primitive_desc(c.engine(), view, c.engine(), PlainDesc(yd));
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = NewKernel("Transpose");
  k->primitive = dnnl::reorder(pd);
  int src = c.PlainSlot(x);
  int dst = c.NewValueSlot(y, PlainDesc(yd));
  k->slot_args = {{DNNL_ARG_FROM, src, view}, {DNNL_ARG_TO, dst, {}}};
  k->input_slots = {src};
  k->output_slots = {dst};
  c.AddKernel(std::move(k), {id}, "dnnl");
  *handled = true;
  return Status::Ok();
}

// Reshape-like ops move no data: the output aliases the (plain) input bytes.
Status BuildAlias(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.empty() || node.outputs.empty()) return Status::Ok();
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != ir::kNoValue) return Status::Ok();  // Dropout's mask
  }
  ir::ValueId x = node.inputs[0], y = node.outputs[0];
  if (c.value(x).dtype != c.value(y).dtype) return Status::Ok();
  int src = c.PlainSlot(x);
  Dims yd = DimsOf(c, y);
  int dst = c.NewValueSlot(y, IsF32(c, y) ? PlainDesc(yd) : memory::desc());
  c.slot(dst).storage = Storage::kAlias;
  c.slot(dst).blocked = false;
  auto k = std::make_unique<AliasKernel>();
  k->op_type = node.op_type;
  k->input_slots = {src};
  k->output_slots = {dst};
  k->alias_source = src;
  c.AddKernel(std::move(k), {id}, "alias");
  *handled = true;
  return Status::Ok();
}

}  // namespace ridge::cpu
