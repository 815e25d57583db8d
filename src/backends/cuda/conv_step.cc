// Conv on cuDNN: NHWC activations, KRSC filters, the algorithm (tactic) picked by timing cuDNN's
// heuristic candidates on the real shapes with the real fused call (tactics.cc). Folded at build
// time: a following BatchNormalization (into weights/bias); fused at run time: bias + ReLU, and the
// residual Add + ReLU (z input) through cudnnConvolutionBiasActivationForward; other activations
// run as a bias+activation epilogue kernel.
#include <algorithm>
#include <cmath>
#include <memory>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/elementwise.cuh"

namespace ridge::cuda {
namespace {

struct ConvState {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnActivationDescriptor_t act = nullptr;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  size_t ws = 0;
  // 1x1 stride-1 convolutions are also plain GEMMs over NHWC rows; cuBLASLt (split-K for the
  // few rows of small feature maps) is timed against cuDNN at build and the faster one runs.
  std::shared_ptr<LtGemm> lt;
  bool use_lt = false;
  ~ConvState() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (act) cudnnDestroyActivationDescriptor(act);
  }
};

// Activation a node applies, if it is one the epilogue kernel knows; kNone otherwise.
kernels::ActParams ActOf(const ir::Graph& g, ir::NodeId id, bool* ok) {
  const ir::Node& n = g.node(id);
  kernels::ActParams p;
  *ok = true;
  if (n.op_type == "Relu") {
    p.act = kernels::Act::kRelu;
  } else if (n.op_type == "Sigmoid") {
    p.act = kernels::Act::kSigmoid;
  } else if (n.op_type == "HardSwish") {
    p.act = kernels::Act::kHardSwish;
  } else if (n.op_type == "Clip") {
    p.act = kernels::Act::kClip;
    p.a = -INFINITY;
    p.b = INFINITY;
    if (n.HasAttr("min")) p.a = n.GetFloat("min", p.a);
    if (n.HasAttr("max")) p.b = n.GetFloat("max", p.b);
    for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
      if (n.inputs[i] == ir::kNoValue) continue;
      const auto& c = g.value(n.inputs[i]).constant;
      if (!c || c->num_elements() != 1) {
        *ok = false;
        break;
      }
      (i == 1 ? p.a : p.b) = static_cast<float>(c->GetAsDouble(0));
    }
  } else {
    *ok = false;
  }
  return p;
}

}  // namespace

Status Engine::Impl::BuildConv(ir::NodeId id) {
  const ir::Graph& g = *graph;
  const ir::Node& node = g.node(id);
  if (node.inputs.size() < 2 || !g.value(node.inputs[1]).constant)
    return Unsupported("Conv weights must be constant on the GPU");
  const Tensor& w_in = *g.value(node.inputs[1]).constant;
  if (w_in.rank() != 4) return Unsupported("only 2-D convolutions (4-D weights) run on the GPU");
  const int64_t k = w_in.dims()[0], cg = w_in.dims()[1], kh = w_in.dims()[2], kw = w_in.dims()[3];
  std::vector<float> w(static_cast<size_t>(w_in.num_elements()));
  for (int64_t i = 0; i < w_in.num_elements(); ++i) w[i] = static_cast<float>(w_in.GetAsDouble(i));
  std::vector<float> b(static_cast<size_t>(k), 0.f);
  bool has_bias = false;
  if (node.inputs.size() > 2 && node.inputs[2] != ir::kNoValue) {
    const auto& bc = g.value(node.inputs[2]).constant;
    if (!bc || bc->num_elements() != k) return Unsupported("Conv bias must be constant");
    for (int64_t i = 0; i < k; ++i) b[i] = static_cast<float>(bc->GetAsDouble(i));
    has_bias = true;
  }
  ir::ValueId y_val = node.outputs[0];

  // Fold a BatchNormalization that only this conv feeds: w' = w * s, b' = (b - mean) * s + beta.
  if (ir::NodeId c = SoleConsumer(y_val);
      c != ir::kNoNode && g.node(c).op_type == "BatchNormalization") {
    const ir::Node& bn = g.node(c);
    bool all_const = bn.inputs.size() >= 5;
    for (size_t i = 1; all_const && i < 5; ++i)
      all_const = g.value(bn.inputs[i]).constant.has_value() &&
                  g.value(bn.inputs[i]).constant->num_elements() == k;
    if (all_const) {
      const float eps = bn.GetFloat("epsilon", 1e-5f);
      const Tensor &gamma = *g.value(bn.inputs[1]).constant,
                   &beta = *g.value(bn.inputs[2]).constant, &mean = *g.value(bn.inputs[3]).constant,
                   &var = *g.value(bn.inputs[4]).constant;
      const int64_t per = cg * kh * kw;
      for (int64_t o = 0; o < k; ++o) {
        const double s = gamma.GetAsDouble(o) / std::sqrt(var.GetAsDouble(o) + eps);
        for (int64_t j = 0; j < per; ++j) w[o * per + j] = static_cast<float>(w[o * per + j] * s);
        b[o] = static_cast<float>((b[o] - mean.GetAsDouble(o)) * s + beta.GetAsDouble(o));
      }
      has_bias = true;
      fused[c] = true;
      stats.fused_nodes++;
      y_val = bn.outputs[0];
    }
  }

  // What follows: Relu (cuDNN fused), Add(residual)+Relu (cuDNN fused with z), or another
  // activation (epilogue kernel).
  bool cudnn_relu = false, epilogue = false;
  kernels::ActParams act;
  ir::ValueId z_val = ir::kNoValue;
  // SiLU as exported by PyTorch: y feeds a Sigmoid and a Mul(y, sigmoid(y)) and nothing else.
  if (const ir::Value& yv = g.value(y_val); !yv.is_graph_output && yv.consumers.size() == 2) {
    ir::NodeId c0 = yv.consumers[0], c1 = yv.consumers[1];
    if (g.node(c0).op_type == "Mul") std::swap(c0, c1);
    const ir::Node &sig = g.node(c0), &mul = g.node(c1);
    if (sig.op_type == "Sigmoid" && mul.op_type == "Mul" && mul.inputs.size() == 2 &&
        SoleConsumer(sig.outputs[0]) == c1 &&
        ((mul.inputs[0] == y_val && mul.inputs[1] == sig.outputs[0]) ||
         (mul.inputs[1] == y_val && mul.inputs[0] == sig.outputs[0]))) {
      epilogue = true;
      act.act = kernels::Act::kSilu;
      fused[c0] = fused[c1] = true;
      stats.fused_nodes += 2;
      y_val = mul.outputs[0];
    }
  }
  if (ir::NodeId c = SoleConsumer(y_val); !epilogue && c != ir::kNoNode) {
    const ir::Node& cn = g.node(c);
    bool ok = false;
    kernels::ActParams p = ActOf(g, c, &ok);
    if (ok && p.act == kernels::Act::kRelu) {
      cudnn_relu = true;
      fused[c] = true;
      y_val = cn.outputs[0];
    } else if (ok) {
      epilogue = true;
      act = p;
      fused[c] = true;
      y_val = cn.outputs[0];
    } else if (cn.op_type == "Add" && cn.inputs.size() == 2) {
      ir::ValueId other = cn.inputs[0] == y_val ? cn.inputs[1] : cn.inputs[0];
      ir::NodeId after = SoleConsumer(cn.outputs[0]);
      bool ready =
          other != y_val && (plain.count(other) || nhwc.count(other)) && !g.value(other).constant;
      bool relu_after = after != ir::kNoNode && g.node(after).op_type == "Relu";
      if (ready && relu_after && g.value(other).shape == g.value(y_val).shape) {
        z_val = other;
        cudnn_relu = true;
        fused[c] = fused[after] = true;
        stats.fused_nodes++;
        y_val = g.node(after).outputs[0];
      }
    }
    if (fused[c]) stats.fused_nodes++;
  }

  // Channel padding: see EngineOptions::pad_input_channels. `cin` is what cuDNN sees.
  const ir::ValueId x_val = node.inputs[0];
  const int64_t group = node.GetInt("group", 1);
  const bool pad_channels = half && options.pad_input_channels && group == 1 && cg < 8 &&
                            !nhwc.count(x_val) && Dims(x_val).size() == 4;
  const int64_t cin = pad_channels ? 8 : cg;
  Ref x;
  if (pad_channels) {
    RIDGE_ASSIGN_OR_RETURN(x, GetNhwcPadded(x_val, cin));
  } else {
    RIDGE_ASSIGN_OR_RETURN(x, Get(x_val, true));
  }
  Ref z;
  if (z_val != ir::kNoValue) {
    RIDGE_ASSIGN_OR_RETURN(z, Get(z_val, true));
  }
  Ref y = Define(y_val, true);
  if (x.dims.size() != 4 || y.dims.size() != 4) return Unsupported("Conv must be 2-D");
  std::vector<int64_t> strides = node.GetInts("strides", {1, 1});
  std::vector<int64_t> dil = node.GetInts("dilations", {1, 1});
  std::vector<int64_t> pads = node.GetInts("pads", {0, 0, 0, 0});
  const std::string auto_pad = node.GetString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    // SAME_*: total padding from the inferred output size; cuDNN needs it symmetric.
    for (int d = 0; d < 2; ++d) {
      int64_t in = x.dims[2 + d], out = y.dims[2 + d], kk = d ? kw : kh;
      int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + (kk - 1) * dil[d] + 1 - in);
      pads[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[d + 2] = total - pads[d];
    }
  }
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    return Unsupported("Conv attributes must describe a 2-D convolution");
  // Depthwise (one filter per channel): Ridgeline's own kernel, bias and activation fused.
  if (group > 1 && group == k && cg == 1 && x.dims[1] == k && z_val == ir::kNoValue) {
    kernels::DepthwiseParams p;
    p.n = x.dims[0];
    p.c = k;
    p.h = x.dims[2];
    p.w = x.dims[3];
    p.oh = y.dims[2];
    p.ow = y.dims[3];
    p.kh = static_cast<int32_t>(kh);
    p.kw = static_cast<int32_t>(kw);
    p.sh = static_cast<int32_t>(strides[0]);
    p.sw = static_cast<int32_t>(strides[1]);
    p.ph = static_cast<int32_t>(pads[0]);
    p.pw = static_cast<int32_t>(pads[1]);
    p.dh = static_cast<int32_t>(dil[0]);
    p.dw = static_cast<int32_t>(dil[1]);
    if (cudnn_relu) p.act.act = kernels::Act::kRelu;
    if (epilogue) p.act = act;
    return BuildDepthwiseConv(node.name, x, y, w, has_bias ? &b : nullptr, p);
  }
  if (pads[0] != pads[2] || pads[1] != pads[3])
    return Unsupported("asymmetric Conv padding is not supported on the GPU");

  // Weights KCRS -> KRSC (the NHWC filter layout) with cin >= cg channels (the padded ones
  // zero), in the storage precision.
  Tensor w_krsc(DType::kFloat32, {k, kh, kw, cin});
  std::fill(w_krsc.data<float>(), w_krsc.data<float>() + w_krsc.num_elements(), 0.f);
  for (int64_t o = 0; o < k; ++o)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t r = 0; r < kh; ++r)
        for (int64_t s = 0; s < kw; ++s)
          w_krsc.data<float>()[((o * kh + r) * kw + s) * cin + c] =
              w[((o * cg + c) * kh + r) * kw + s];
  RIDGE_ASSIGN_OR_RETURN(int32_t w_buf, Upload(w_krsc));
  Tensor b_t(DType::kFloat32, {k});
  for (int64_t o = 0; o < k; ++o) b_t.data<float>()[o] = b[o];
  RIDGE_ASSIGN_OR_RETURN(int32_t b_buf, Upload(b_t));

  auto st = std::make_shared<ConvState>();
  const cudnnDataType_t dt = half ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  auto i32 = [](int64_t v) { return static_cast<int>(v); };
  RIDGE_CUDNN(cudnnCreateTensorDescriptor(&st->x));
  RIDGE_CUDNN(cudnnCreateTensorDescriptor(&st->y));
  RIDGE_CUDNN(cudnnCreateTensorDescriptor(&st->bias));
  RIDGE_CUDNN(cudnnCreateFilterDescriptor(&st->w));
  RIDGE_CUDNN(cudnnCreateConvolutionDescriptor(&st->conv));
  RIDGE_CUDNN(cudnnCreateActivationDescriptor(&st->act));
  RIDGE_CUDNN(cudnnSetTensor4dDescriptor(st->x, CUDNN_TENSOR_NHWC, dt, i32(x.dims[0]),
                                         i32(x.dims[1]), i32(x.dims[2]), i32(x.dims[3])));
  RIDGE_CUDNN(cudnnSetTensor4dDescriptor(st->y, CUDNN_TENSOR_NHWC, dt, i32(y.dims[0]),
                                         i32(y.dims[1]), i32(y.dims[2]), i32(y.dims[3])));
  RIDGE_CUDNN(cudnnSetTensor4dDescriptor(st->bias, CUDNN_TENSOR_NHWC, dt, 1, i32(k), 1, 1));
  RIDGE_CUDNN(
      cudnnSetFilter4dDescriptor(st->w, dt, CUDNN_TENSOR_NHWC, i32(k), i32(cin), i32(kh), i32(kw)));
  RIDGE_CUDNN(cudnnSetConvolution2dDescriptor(st->conv, i32(pads[0]), i32(pads[1]), i32(strides[0]),
                                              i32(strides[1]), i32(dil[0]), i32(dil[1]),
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  RIDGE_CUDNN(cudnnSetConvolutionGroupCount(st->conv, i32(group)));
  // fp32 stays exact fp32 (no TF32) so results track the CPU reference.
  RIDGE_CUDNN(cudnnSetConvolutionMathType(st->conv, half ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  RIDGE_CUDNN(
      cudnnSetActivationDescriptor(st->act, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
  int n_out = 0, c_out = 0, h_out = 0, w_out = 0;
  RIDGE_CUDNN(cudnnGetConvolution2dForwardOutputDim(st->conv, st->x, st->w, &n_out, &c_out, &h_out,
                                                    &w_out));
  if (n_out != y.dims[0] || c_out != y.dims[1] || h_out != y.dims[2] || w_out != y.dims[3])
    return Status(StatusCode::kInternal, "cuDNN output dims differ from shape inference");

  Impl* self = this;
  const int32_t xb = x.buf, yb = y.buf, zb = z.buf;
  const int64_t y_elems = NumElements(y.dims);
  const bool fused_relu = cudnn_relu, use_epi = epilogue, bias = has_bias;
  Step step;
  step.kind =
      fused_relu ? (zb >= 0 ? "cudnn_conv_bias_add_relu" : "cudnn_conv_bias_relu") : "cudnn_conv";
  const kernels::ActParams epi_act = act;
  const int64_t channels = k;
  // One convolution call through cuDNN with the given workspace (run and build-time timing).
  auto run_cudnn = [self, st, xb, yb, zb, w_buf, b_buf, fused_relu, use_epi, bias, epi_act, y_elems,
                    channels](void* ws, cudaStream_t s) {
    const float one = 1.f, zero = 0.f;
    if (fused_relu) {
      const float alpha2 = zb >= 0 ? 1.f : 0.f;
      return cudnnConvolutionBiasActivationForward(
          self->cudnn, &one, st->x, self->Ptr(xb), st->w, self->Ptr(w_buf), st->conv, st->algo, ws,
          st->ws, &alpha2, st->y, zb >= 0 ? self->Ptr(zb) : self->Ptr(yb), st->bias,
          self->Ptr(b_buf), st->act, st->y, self->Ptr(yb));
    }
    cudnnStatus_t r =
        cudnnConvolutionForward(self->cudnn, &one, st->x, self->Ptr(xb), st->w, self->Ptr(w_buf),
                                st->conv, st->algo, ws, st->ws, &zero, st->y, self->Ptr(yb));
    if (r == CUDNN_STATUS_SUCCESS && (bias || use_epi))
      kernels::LaunchBiasAct(self->half, self->Ptr(yb), bias ? self->Ptr(b_buf) : nullptr, y_elems,
                             channels, 1, epi_act, s);
    return r;
  };
  auto run_lt = [self, st, xb, yb, zb, w_buf, use_epi, epi_act, y_elems, channels](cudaStream_t s) {
    cublasStatus_t r = self->LaunchLt(*st->lt, self->Ptr(w_buf), self->Ptr(xb),
                                      zb >= 0 ? self->Ptr(zb) : nullptr, self->Ptr(yb), s);
    if (r == CUBLAS_STATUS_SUCCESS && use_epi)
      kernels::LaunchBiasAct(self->half, self->Ptr(yb), nullptr, y_elems, channels, 1, epi_act, s);
    return r;
  };
  const bool pointwise = kh == 1 && kw == 1 && strides[0] == 1 && strides[1] == 1 && pads[0] == 0 &&
                         pads[1] == 0 && group == 1;
  if (pointwise) {
    RIDGE_ASSIGN_OR_RETURN(
        st->lt, MakeLtGemm(NumElements(x.dims) / cin, k, cin, /*trans_w=*/true,
                           has_bias ? Ptr(b_buf) : nullptr,
                           cudnn_relu ? LtAct::kRelu : LtAct::kNone, 1.f, zb >= 0 ? 1.f : 0.f));
  }
  // The layer signature: everything that changes which tactic is valid or fastest.
  TacticKey key("conv");
  key.Add("prec", half ? "fp16" : "fp32")
      .Add("x", x.dims)
      .Add("w", std::vector<int64_t>{k, cin, kh, kw})
      .Add("y", y.dims)
      .Add("pads", pads)
      .Add("strides", strides)
      .Add("dil", dil)
      .Add("group", group)
      .Add("fuse", fused_relu ? (zb >= 0 ? "bias_add_relu" : "bias_relu") : "none")
      .Add("then", use_epi || (bias && !fused_relu) ? static_cast<int64_t>(act.act) + 1 : 0)
      .Add("ws", options.max_workspace_bytes);
  if (pointwise) key.Add("pw", options.pointwise_conv_backend).Add("lt_ws", lt_workspace_bytes);
  const std::string what = "Conv " + node.name;
  // Candidates: cuDNN's heuristic list of algorithms (fp32 keeps FMA math: no TF32), and for
  // 1x1 stride-1 convs cuBLASLt's top algos; pointwise_conv_backend 1 / 2 keeps one library.
  auto candidates = [self, st]() -> Result<std::vector<Tactic>> {
    RIDGE_RETURN_IF_ERROR(self->EnsureTimingWorkspace());
    const int32_t pw = self->options.pointwise_conv_backend;
    const auto max = static_cast<size_t>(std::max(1, self->options.max_tactic_candidates));
    std::vector<Tactic> out;
    if (!st->lt || pw != 2) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int found = 0;
      RIDGE_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(self->cudnn, st->x, st->w, st->conv, st->y,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found,
                                                         perf));
      for (int i = 0; i < found && out.size() < max; ++i) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
        Tactic t;
        t.library = "cudnn";
        t.algo = static_cast<int32_t>(perf[i].algo);
        t.math = static_cast<int32_t>(self->half ? perf[i].mathType : CUDNN_FMA_MATH);
        bool dup = false;
        for (const Tactic& o : out) dup = dup || (o.algo == t.algo && o.math == t.math);
        if (!dup) out.push_back(t);
      }
    }
    if (st->lt && pw != 1) {
      RIDGE_ASSIGN_OR_RETURN(auto lt, self->LtCandidates(*st->lt, static_cast<int32_t>(max)));
      out.insert(out.end(), lt.begin(), lt.end());
    }
    return out;
  };
  // Makes launch run tactic t; checks it fits this layer, its limits and the precision rules.
  auto apply = [self, st](const Tactic& t) -> Status {
    if (t.library == "cublaslt") {
      if (!st->lt) return InvalidArgument("cuBLASLt runs 1x1 stride-1 convolutions only");
      RIDGE_RETURN_IF_ERROR(self->ApplyLtTactic(t, st->lt.get()));
      st->use_lt = true;
      return Status::Ok();
    }
    if (t.library != "cudnn" || t.algo < 0 || t.algo >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT ||
        t.math < 0 || t.math > CUDNN_FMA_MATH)
      return InvalidArgument("not a cuDNN convolution algorithm");
    if (!self->half && t.math != CUDNN_FMA_MATH)
      return InvalidArgument("fp32 convolutions keep FMA math (no TF32)");
    const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(t.algo);
    RIDGE_CUDNN(cudnnSetConvolutionMathType(st->conv, static_cast<cudnnMathType_t>(t.math)));
    size_t ws = 0;
    RIDGE_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(self->cudnn, st->x, st->w, st->conv, st->y,
                                                        algo, &ws));
    const int64_t limit = self->timing_ws ? self->timing_ws_bytes
                                          : std::max<int64_t>(0, self->options.max_workspace_bytes);
    if (static_cast<int64_t>(ws) > limit)
      return Unsupported("needs " + std::to_string(ws) + " B of workspace (limit " +
                         std::to_string(limit) + ")");
    st->algo = algo;
    st->ws = ws;
    st->use_lt = false;
    return Status::Ok();
  };
  auto launch = [self, st, run_cudnn, run_lt](cudaStream_t s) -> Status {
    if (st->use_lt) return CublasStatus(run_lt(s), "cublasLtMatmul (1x1 conv)");
    return CudnnStatus(run_cudnn(self->timing_ws, s), "cuDNN convolution");
  };
  step.prepare = [self, st, key = key.str(), what, candidates, apply, launch]() -> Status {
    RIDGE_RETURN_IF_ERROR(self->ChooseTactic(what, key, candidates, apply, launch).status());
    if (st->use_lt)
      self->stats.step_kinds["(of which 1x1 conv on cuBLASLt)"]++;
    else
      self->workspace_bytes = std::max<int64_t>(self->workspace_bytes, st->ws);
    return Status::Ok();
  };
  step.launch = [self, st, run_cudnn, run_lt](cudaStream_t s) {
    if (st->use_lt)
      run_lt(s);
    else
      run_cudnn(self->Workspace(), s);
  };
  std::vector<int32_t> reads = {x.buf};
  if (zb >= 0) reads.push_back(zb);
  AddStep(std::move(step), reads, {y.buf});
  return Status::Ok();
}

}  // namespace ridge::cuda
