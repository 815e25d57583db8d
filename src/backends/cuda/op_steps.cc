// Steps for everything but Conv and Gemm/MatMul: pointwise chains (pointwise_chain_step.cc)
// and single activations / broadcasting arithmetic (with a following activation fused as an
// epilogue), pooling, global average pooling, views (Flatten/Reshape/... alias their input's
// buffer), Transpose and Softmax.
#include <cmath>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/elementwise.cuh"
#include "backends/cuda/kernels/layer_norm.cuh"
#include "backends/cuda/kernels/pool.cuh"
#include "backends/cuda/kernels/softmax.cuh"
#include "backends/cuda/kernels/transpose.cuh"
#include "backends/cuda/pointwise_ops.h"

namespace ridge::cuda {

using kernels::Act;
using kernels::ActParams;
using kernels::BinOp;

Status Engine::Impl::BuildOther(ir::NodeId id) {
  const ir::Graph& g = *graph;
  const ir::Node& node = g.node(id);
  const std::string& op = node.op_type;
  Impl* self = this;
  const bool h = half;

  RIDGE_ASSIGN_OR_RETURN(bool chained, TryBuildPointwiseChain(id));
  if (chained) return Status::Ok();
  ActParams act;
  if (UnaryAct(g, node, &act)) {
    RIDGE_ASSIGN_OR_RETURN(Ref x, GetAny(node.inputs[0]));
    Ref y = Define(node.outputs[0], x.nhwc);
    const int64_t n = NumElements(y.dims);
    const int32_t xb = x.buf, yb = y.buf;
    AddStep(Step{"unary",
                 [self, h, xb, yb, n, act](cudaStream_t s) {
                   kernels::LaunchUnary(h, self->Ptr(xb), self->Ptr(yb), n, act, s);
                 }},
            {xb}, {yb});
    return Status::Ok();
  }

  BinOp bop;
  if (BinaryOp(op, &bop)) {
    if (node.inputs.size() != 2) return Unsupported(op + " with more than two inputs");
    ir::ValueId out_val = node.outputs[0];
    ActParams epi;
    if (ir::NodeId c = SoleConsumer(out_val); c != ir::kNoNode) {
      ActParams p;
      const std::string& cop = g.node(c).op_type;
      if (cop != "Identity" && cop != "Dropout" && UnaryAct(g, g.node(c), &p)) {
        epi = p;
        fused[c] = true;
        stats.fused_nodes++;
        out_val = g.node(c).outputs[0];
      }
    }
    std::vector<int64_t> out_dims;
    for (const Dim& d : g.value(out_val).shape->dims()) out_dims.push_back(d.value);
    // NHWC output when a rank-4 activation operand of the output's shape is NHWC already.
    bool want_nhwc = false;
    for (ir::ValueId v : node.inputs)
      if (out_dims.size() == 4 && nhwc.count(v) && !PhysicallySame(out_dims) &&
          nhwc[v].dims == out_dims)
        want_nhwc = true;
    Ref in[2];
    for (int i = 0; i < 2; ++i) {
      ir::ValueId v = node.inputs[i];
      bool same = g.value(v).shape && g.value(v).shape->ToInts() == out_dims;
      if (want_nhwc && same && !g.value(v).constant) {
        RIDGE_ASSIGN_OR_RETURN(in[i], Get(v, true));
      } else {
        RIDGE_ASSIGN_OR_RETURN(in[i], GetAny(v));
      }
    }
    Ref y = Define(out_val, want_nhwc);
    const int64_t n = NumElements(out_dims);
    kernels::BroadcastIndex idx;
    const bool same_shape = in[0].dims == out_dims && in[1].dims == out_dims &&
                            in[0].nhwc == y.nhwc && in[1].nhwc == y.nhwc;
    if (!same_shape) {
      if (out_dims.size() > static_cast<size_t>(kernels::kMaxRank))
        return Unsupported("broadcast rank above 6");
      auto sa = LogicalStrides(in[0], out_dims), sb = LogicalStrides(in[1], out_dims);
      std::vector<size_t> perm(out_dims.size());
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
      if (y.nhwc) perm = {0, 2, 3, 1};
      idx.rank = static_cast<int32_t>(out_dims.size());
      for (size_t i = 0; i < perm.size(); ++i) {
        idx.dims[i] = out_dims[perm[i]];
        idx.stride_a[i] = sa[perm[i]];
        idx.stride_b[i] = sb[perm[i]];
      }
    }
    const int32_t ab = in[0].buf, bb = in[1].buf, yb = y.buf;
    AddStep(Step{same_shape ? "binary" : "binary_broadcast",
                 [self, h, bop, ab, bb, yb, n, idx, same_shape, epi](cudaStream_t s) {
                   kernels::LaunchBinary(h, bop, self->Ptr(ab), self->Ptr(bb), self->Ptr(yb), n,
                                         idx, same_shape, epi, s);
                 }},
            {ab, bb}, {yb});
    return Status::Ok();
  }

  if (op == "MaxPool" || op == "AveragePool") {
    if (node.outputs.size() > 1 && node.outputs[1] != ir::kNoValue)
      return Unsupported("MaxPool indices output");
    RIDGE_ASSIGN_OR_RETURN(Ref x, Get(node.inputs[0], true));
    if (x.dims.size() != 4) return Unsupported("only 2-D pooling runs on the GPU");
    Ref y = Define(node.outputs[0], true);
    auto k = node.GetInts("kernel_shape");
    auto st = node.GetInts("strides", {1, 1});
    auto pads = node.GetInts("pads", {0, 0, 0, 0});
    auto dil = node.GetInts("dilations", {1, 1});
    if (k.size() != 2 || st.size() != 2 || pads.size() != 4 || dil.size() != 2)
      return Unsupported("pool attributes must describe 2-D pooling");
    if (node.GetString("auto_pad", "NOTSET") != "NOTSET")
      return Unsupported("pool auto_pad on the GPU");
    kernels::PoolParams p;
    p.n = x.dims[0];
    p.c = x.dims[1];
    p.h = x.dims[2];
    p.w = x.dims[3];
    p.oh = y.dims[2];
    p.ow = y.dims[3];
    p.kh = static_cast<int32_t>(k[0]);
    p.kw = static_cast<int32_t>(k[1]);
    p.sh = static_cast<int32_t>(st[0]);
    p.sw = static_cast<int32_t>(st[1]);
    p.ph = static_cast<int32_t>(pads[0]);
    p.pw = static_cast<int32_t>(pads[1]);
    p.dh = static_cast<int32_t>(dil[0]);
    p.dw = static_cast<int32_t>(dil[1]);
    p.is_max = op == "MaxPool";
    p.count_include_pad = node.GetInt("count_include_pad", 0) != 0;
    const int32_t xb = x.buf, yb = y.buf;
    AddStep(Step{"pool_nhwc",
                 [self, h, xb, yb, p](cudaStream_t s) {
                   kernels::LaunchPoolNhwc(h, self->Ptr(xb), self->Ptr(yb), p, s);
                 }},
            {xb}, {yb});
    return Status::Ok();
  }

  if (op == "GlobalAveragePool") {
    RIDGE_ASSIGN_OR_RETURN(Ref x, Get(node.inputs[0], true));
    if (x.dims.size() != 4) return Unsupported("GlobalAveragePool on a non 4-D tensor");
    Ref y = Define(node.outputs[0], true);
    const int64_t n = x.dims[0], c = x.dims[1], hw = x.dims[2] * x.dims[3];
    const int32_t pb = NewBuffer(n * kernels::GlobalAvgPoolChunks(hw) * c * 4);  // fp32 partials
    const int32_t xb = x.buf, yb = y.buf;
    AddStep(Step{"global_avg_pool_nhwc",
                 [self, h, xb, yb, pb, n, hw, c](cudaStream_t s) {
                   kernels::LaunchGlobalAvgPoolNhwc(h, self->Ptr(xb), self->Ptr(yb),
                                                    static_cast<float*>(self->Ptr(pb)), n, hw, c,
                                                    s);
                 }},
            {xb}, {yb, pb});
    return Status::Ok();
  }

  if (op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze") {
    // Views: the output shares the input's plain (row-major) buffer.
    RIDGE_ASSIGN_OR_RETURN(Ref x, Get(node.inputs[0], false));
    Ref y;
    y.buf = x.buf;
    for (const Dim& d : g.value(node.outputs[0]).shape->dims()) y.dims.push_back(d.value);
    plain[node.outputs[0]] = y;
    if (PhysicallySame(y.dims)) nhwc[node.outputs[0]] = Ref{y.buf, y.dims, true};
    return Status::Ok();
  }

  if (op == "Transpose") {
    const std::vector<int64_t> perm_attr = node.GetInts("perm");
    const std::vector<int64_t> to_nhwc = {0, 2, 3, 1}, from_nhwc = {0, 3, 1, 2};
    // NCHW<->NHWC permutes are free when the engine already holds the other layout: the
    // output aliases those bytes (ConvNeXt's permute -> LayerNorm -> permute costs nothing).
    if (perm_attr == to_nhwc && nhwc.count(node.inputs[0]) &&
        !PhysicallySame(nhwc[node.inputs[0]].dims)) {
      const Ref& src = nhwc[node.inputs[0]];
      Ref y{src.buf, {src.dims[0], src.dims[2], src.dims[3], src.dims[1]}, false};
      plain[node.outputs[0]] = y;
      if (PhysicallySame(y.dims)) nhwc[node.outputs[0]] = Ref{y.buf, y.dims, true};
      return Status::Ok();
    }
    if (perm_attr == from_nhwc && plain.count(node.inputs[0]) &&
        plain[node.inputs[0]].dims.size() == 4) {
      const Ref& src = plain[node.inputs[0]];
      Ref y{src.buf, {src.dims[0], src.dims[3], src.dims[1], src.dims[2]}, true};
      nhwc[node.outputs[0]] = y;
      if (PhysicallySame(y.dims)) plain[node.outputs[0]] = Ref{y.buf, y.dims, false};
      return Status::Ok();
    }
    RIDGE_ASSIGN_OR_RETURN(Ref x, Get(node.inputs[0], false));
    const size_t r = x.dims.size();
    if (r > 6) return Unsupported("Transpose above rank 6");
    std::vector<int64_t> perm = node.GetInts("perm");
    if (perm.empty())
      for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
    if (perm.size() != r) return InvalidModel("Transpose perm size differs from rank");
    std::vector<int64_t> in_strides(r), out_dims(r), strides(r);
    int64_t s = 1;
    for (size_t i = r; i-- > 0;) {
      in_strides[i] = s;
      s *= x.dims[i];
    }
    for (size_t i = 0; i < r; ++i) {
      out_dims[i] = x.dims[static_cast<size_t>(perm[i])];
      strides[i] = in_strides[static_cast<size_t>(perm[i])];
    }
    Ref y = Define(node.outputs[0], false);
    const int es = static_cast<int>(esize);
    const int32_t xb = x.buf, yb = y.buf;
    const int rank = static_cast<int>(r);
    AddStep(Step{"transpose",
                 [self, es, xb, yb, rank, out_dims, strides](cudaStream_t s) {
                   kernels::LaunchTranspose(es, self->Ptr(xb), self->Ptr(yb), rank, out_dims.data(),
                                            strides.data(), s);
                 }},
            {xb}, {yb});
    return Status::Ok();
  }

  if (op == "Softmax") {
    RIDGE_ASSIGN_OR_RETURN(Ref x, Get(node.inputs[0], false));
    const int64_t r = static_cast<int64_t>(x.dims.size());
    const bool modern = g.opset_version >= 13 || g.opset_version == 0;
    int64_t axis = node.GetInt("axis", modern ? -1 : 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return InvalidModel("Softmax axis out of range");
    // opset < 13 normalizes the flattened [axis, rank) block; 13+ one axis.
    int64_t outer = 1, len = 1, inner = 1;
    for (int64_t i = 0; i < r; ++i) {
      const int64_t d = x.dims[static_cast<size_t>(i)];
      if (i < axis)
        outer *= d;
      else if (i == axis || !modern)
        len *= d;
      else
        inner *= d;
    }
    Ref y = Define(node.outputs[0], false);
    const int32_t xb = x.buf, yb = y.buf;
    if (inner == 1) {
      AddStep(Step{"softmax",
                   [self, h, xb, yb, outer, len](cudaStream_t s) {
                     kernels::LaunchSoftmax(h, self->Ptr(xb), self->Ptr(yb), outer, len, s);
                   }},
              {xb}, {yb});
    } else {
      AddStep(Step{"softmax_strided",
                   [self, h, xb, yb, outer, len, inner](cudaStream_t s) {
                     kernels::LaunchSoftmaxStrided(h, self->Ptr(xb), self->Ptr(yb), outer, len,
                                                   inner, s);
                   }},
              {xb}, {yb});
    }
    return Status::Ok();
  }

  if (op == "Concat" || op == "Slice" || op == "Split" || op == "Resize") return BuildMovement(id);

  if (op == "LayerNormalization") {
    RIDGE_ASSIGN_OR_RETURN(Ref x, Get(node.inputs[0], false));
    const int64_t r = static_cast<int64_t>(x.dims.size());
    int64_t axis = node.GetInt("axis", -1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return InvalidModel("LayerNormalization axis out of range");
    for (size_t i = 1; i < node.outputs.size(); ++i)
      if (node.outputs[i] != ir::kNoValue && !g.value(node.outputs[i]).consumers.empty())
        return Unsupported("LayerNormalization mean/inv-std outputs on the GPU");
    int64_t cols = 1;
    for (int64_t i = axis; i < r; ++i) cols *= x.dims[static_cast<size_t>(i)];
    int32_t sb = -1, bb = -1;
    for (size_t i = 1; i < 3 && i < node.inputs.size(); ++i) {
      if (node.inputs[i] == ir::kNoValue) continue;
      const auto& c = g.value(node.inputs[i]).constant;
      if (!c || c->num_elements() != cols)
        return Unsupported(
            "LayerNormalization scale/bias must be constant with the normalized size");
      RIDGE_ASSIGN_OR_RETURN(int32_t buf, Upload(*c));
      (i == 1 ? sb : bb) = buf;
    }
    Ref y = Define(node.outputs[0], false);
    const int64_t rows = cols ? NumElements(x.dims) / cols : 0;
    const float eps = node.GetFloat("epsilon", 1e-5f);
    const int32_t xb = x.buf, yb = y.buf;
    AddStep(Step{"layer_norm",
                 [self, h, xb, yb, sb, bb, rows, cols, eps](cudaStream_t s) {
                   kernels::LaunchLayerNorm(h, self->Ptr(xb), sb >= 0 ? self->Ptr(sb) : nullptr,
                                            bb >= 0 ? self->Ptr(bb) : nullptr, self->Ptr(yb), rows,
                                            cols, eps, s);
                 }},
            {xb}, {yb});
    return Status::Ok();
  }
  return Unsupported("no GPU kernel for " + op + " here");
}

}  // namespace ridge::cuda
