// Conv and ConvTranspose (ONNX opset 11-17): attributes, shape inference, cost, CPU reference.
//
// Attributes: auto_pad (NOTSET, SAME_UPPER, SAME_LOWER, VALID), pads, strides, dilations, group,
// kernel_shape (inferred from W when absent); ConvTranspose adds output_padding, output_shape.
// 1-D, 2-D and 3-D (any spatial rank) are handled alike.
//
// Cost of Conv (multiply-add = 2 FLOPs):
//   FLOPs = 2 * N * Cout * prod(out spatial) * (Cin/group) * prod(kernel)
//           + N * Cout * prod(out spatial) when a bias B is present (one add per output).
//   GEMM view (implicit GEMM, per group): m = N*prod(out spatial), n = Cout/group,
//   k = Cin/group * prod(kernel).
// Cost of ConvTranspose: the same MACs counted from the input side (every input pixel scatters a
//   full kernel): 2 * N * Cin * prod(in spatial) * (Cout/group) * prod(kernel) (+ bias adds);
//   GEMM view m = N*prod(in spatial), n = Cout/group*prod(kernel), k = Cin/group.
#include <algorithm>

#include "core/checked_math.h"
#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

// Checks X/W ranks, group and the channel relation; fills the parts both ops share.
struct ConvGeometry {
  size_t spatial = 0;
  int64_t group = 1;
  std::vector<int64_t> weight_kernel;  // W dims[2:] when known (else empty)
};

Result<ConvGeometry> CheckConvInputs(InferContext& ctx, bool transpose) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 3));
  const Shape* x = ctx.input_shape(0);
  const Shape* w = ctx.input_shape(1);
  ConvGeometry g;
  g.group = ctx.node().GetInt("group", 1);
  if (g.group < 1) return ctx.Error("group must be >= 1, got " + std::to_string(g.group));
  if (!IsFloatingPoint(ctx.input_dtype(0)) && ctx.input_dtype(0) != DType::kUndefined) {
    return ctx.Error("input X must be a floating-point tensor, got " +
                     std::string(DTypeName(ctx.input_dtype(0))));
  }
  if (x && x->rank() < 3) {
    return ctx.Error("input X must have rank >= 3 (N, C, spatial...), got " + x->ToString());
  }
  if (w && w->rank() < 3) {
    return ctx.Error("weight W must have rank >= 3 (M, C/group, kernel...), got " + w->ToString());
  }
  if (x && w && x->rank() != w->rank()) {
    return ctx.Error("X " + x->ToString() + " and W " + w->ToString() + " must have equal rank");
  }
  g.spatial = x ? x->rank() - 2 : (w ? w->rank() - 2 : 0);
  if (w) {
    for (size_t i = 2; i < w->rank(); ++i) {
      if (!(*w)[i].known()) {
        g.weight_kernel.clear();
        break;
      }
      g.weight_kernel.push_back((*w)[i].value);
    }
  }
  if (x && w && (*x)[1].known() && (*w)[1].known() && (*w)[0].known()) {
    const int64_t c = (*x)[1].value;
    if (!transpose) {
      if (c % g.group != 0 || c / g.group != (*w)[1].value) {
        return ctx.Error("input channels " + std::to_string(c) + " / group " +
                         std::to_string(g.group) + " must equal W dim 1 (" +
                         std::to_string((*w)[1].value) + ")");
      }
      if ((*w)[0].value % g.group != 0) {
        return ctx.Error("output channels (W dim 0 = " + std::to_string((*w)[0].value) +
                         ") must be divisible by group " + std::to_string(g.group));
      }
    } else if (c != (*w)[0].value) {
      return ctx.Error("input channels " + std::to_string(c) + " must equal W dim 0 (" +
                       std::to_string((*w)[0].value) + ")");
    }
  }
  if (ctx.has_input(2)) {
    const Shape* b = ctx.input_shape(2);
    if (b && b->rank() != 1) return ctx.Error("bias B must be 1-D, got " + b->ToString());
  }
  return g;
}

Status InferConv(InferContext& ctx) {
  RIDGE_ASSIGN_OR_RETURN(ConvGeometry g, CheckConvInputs(ctx, false));
  const Shape* x = ctx.input_shape(0);
  const Shape* w = ctx.input_shape(1);
  const DType dt = ctx.input_dtype(0);
  if (!x && !w) {
    ctx.SetOutputType(0, dt);  // rank unknown
    return Status::Ok();
  }
  if (!x) {
    // Rank known from W only: dims unknown except channels.
    std::vector<Dim> dims(g.spatial + 2);
    dims[1] = (*w)[0];
    ctx.SetOutput(0, dt, Shape(dims));
    return Status::Ok();
  }
  auto win = nn::ReadWindow(ctx.node(), g.spatial, g.weight_kernel, false);
  if (!win.ok() && g.weight_kernel.empty() && !ctx.node().HasAttr("kernel_shape")) {
    // Kernel unknown (W shape unknown and no attribute): spatial dims unknown.
    std::vector<Dim> dims(x->rank());
    dims[0] = (*x)[0];
    if (w) dims[1] = (*w)[0];
    ctx.SetOutput(0, dt, Shape(dims));
    return Status::Ok();
  }
  if (!win.ok()) return ctx.Error(win.status().message());
  nn::Window wd = *win;
  if (!g.weight_kernel.empty() && g.weight_kernel != wd.kernel) {
    return ctx.Error("kernel_shape attribute disagrees with the weight's spatial dims " +
                     (w ? w->ToString() : std::string()));
  }
  std::vector<Dim> dims(x->rank());
  dims[0] = (*x)[0];
  if (w) dims[1] = (*w)[0];
  for (size_t i = 0; i < g.spatial; ++i) {
    const Dim& in = (*x)[i + 2];
    auto out = nn::WindowOutDim(&wd, i, in.known() ? in.value : -1);
    if (!out.ok()) return ctx.Error(out.status().message() + " (input " + x->ToString() + ")");
    if (*out >= 0) dims[i + 2] = Dim(*out);
  }
  if (ctx.has_input(2) && w && (*w)[0].known()) {
    const Shape* b = ctx.input_shape(2);
    if (b && (*b)[0].known() && (*b)[0].value != (*w)[0].value) {
      return ctx.Error("bias B has " + std::to_string((*b)[0].value) + " entries, expected " +
                       std::to_string((*w)[0].value) + " (output channels)");
    }
  }
  ctx.SetOutput(0, dt, Shape(dims));
  return Status::Ok();
}

// ConvTranspose output dims and resolved pads for known input dims. Output dims -1 = unknown.
Result<std::vector<int64_t>> ConvTransposeOut(const ir::Node& node, nn::Window* w,
                                              const std::vector<int64_t>& in_spatial) {
  const size_t sp = in_spatial.size();
  auto out_pad = node.GetInts("output_padding", std::vector<int64_t>(sp, 0));
  if (out_pad.size() != sp) {
    return InvalidModel("output_padding must have " + std::to_string(sp) + " entries");
  }
  for (size_t i = 0; i < sp; ++i) {
    if (out_pad[i] < 0 || out_pad[i] >= std::max(w->strides[i], w->dilations[i])) {
      return InvalidModel("output_padding[" + std::to_string(i) +
                          "] must be in [0, max(stride, dilation))");
    }
  }
  std::vector<int64_t> out_shape = node.GetInts("output_shape", {});
  if (!out_shape.empty()) {
    if (out_shape.size() == sp + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    if (out_shape.size() != sp) {
      return InvalidModel("output_shape must have " + std::to_string(sp) + " spatial entries");
    }
  }
  std::vector<int64_t> out(sp, -1);
  for (size_t i = 0; i < sp; ++i) {
    if (in_spatial[i] < 0) continue;
    const int64_t full =
        w->strides[i] * (in_spatial[i] - 1) + out_pad[i] + (w->kernel[i] - 1) * w->dilations[i] + 1;
    int64_t target = -1;
    if (!out_shape.empty()) {
      target = out_shape[i];
    } else if (w->auto_pad == "SAME_UPPER" || w->auto_pad == "SAME_LOWER") {
      target = in_spatial[i] * w->strides[i];
    }
    if (target >= 0) {
      const int64_t total = full - target;
      if (total < 0) {
        // Negative total padding: ONNX pads the output at the end; we treat it as invalid.
        return InvalidModel("output_shape " + std::to_string(target) +
                            " is larger than the full transposed-conv output " +
                            std::to_string(full));
      }
      w->pads_begin[i] = w->auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w->pads_end[i] = total - w->pads_begin[i];
      out[i] = target;
    } else {
      out[i] = full - w->pads_begin[i] - w->pads_end[i];
    }
    if (out[i] < 1) {
      return InvalidModel("output size " + std::to_string(out[i]) + " on spatial dim " +
                          std::to_string(i) + " is not positive");
    }
  }
  return out;
}

Status InferConvTranspose(InferContext& ctx) {
  RIDGE_ASSIGN_OR_RETURN(ConvGeometry g, CheckConvInputs(ctx, true));
  const Shape* x = ctx.input_shape(0);
  const Shape* w = ctx.input_shape(1);
  const DType dt = ctx.input_dtype(0);
  const size_t rank = g.spatial + 2;
  std::vector<Dim> dims(rank);
  if (x) dims[0] = (*x)[0];
  if (w && (*w)[1].known()) {
    auto channels = CheckedMul((*w)[1].value, g.group);
    if (!channels) return ctx.Error("group " + std::to_string(g.group) + " overflows channels");
    dims[1] = Dim(*channels);
  }
  auto win = nn::ReadWindow(ctx.node(), g.spatial, g.weight_kernel, false);
  if (!win.ok() && g.weight_kernel.empty() && !ctx.node().HasAttr("kernel_shape")) {
    ctx.SetOutput(0, dt, Shape(dims));
    return Status::Ok();
  }
  if (!win.ok()) return ctx.Error(win.status().message());
  if (x) {
    std::vector<int64_t> in(g.spatial);
    for (size_t i = 0; i < g.spatial; ++i) in[i] = (*x)[i + 2].known() ? (*x)[i + 2].value : -1;
    auto out = ConvTransposeOut(ctx.node(), &*win, in);
    if (!out.ok()) return ctx.Error(out.status().message());
    for (size_t i = 0; i < g.spatial; ++i)
      if ((*out)[i] >= 0) dims[i + 2] = Dim((*out)[i]);
  }
  ctx.SetOutput(0, dt, Shape(dims));
  return Status::Ok();
}

// ---- Cost -----------------------------------------------------------------------------------
NodeCost CostConv(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kCompute);
  auto x = ctx.input_dims(0);
  auto w = ctx.input_dims(1);
  auto y = ctx.output_dims(0);
  if (x.size() < 3 || w.size() != x.size() || y.size() != x.size()) return c;
  const int64_t group = std::max<int64_t>(1, ctx.node().GetInt("group", 1));
  const double n = static_cast<double>(x[0]), cout = static_cast<double>(w[0]);
  const double cin_per_group = static_cast<double>(w[1]);
  const double out_spatial = static_cast<double>(nn::Prod(y, 2, y.size()));
  const double kernel = static_cast<double>(nn::Prod(w, 2, w.size()));
  c.flops = 2.0 * n * cout * out_spatial * cin_per_group * kernel;
  if (ctx.has_input(2)) c.flops += n * cout * out_spatial;
  c.gemm_m = x[0] * nn::Prod(y, 2, y.size());
  c.gemm_n = w[0] / group;
  c.gemm_k = w[1] * nn::Prod(w, 2, w.size());
  return c;
}

NodeCost CostConvTranspose(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kCompute);
  auto x = ctx.input_dims(0);
  auto w = ctx.input_dims(1);
  auto y = ctx.output_dims(0);
  if (x.size() < 3 || w.size() != x.size() || y.size() != x.size()) return c;
  const int64_t group = std::max<int64_t>(1, ctx.node().GetInt("group", 1));
  const double kernel = static_cast<double>(nn::Prod(w, 2, w.size()));
  const double in_spatial = static_cast<double>(nn::Prod(x, 2, x.size()));
  // w = [Cin, Cout/group, k...]
  c.flops = 2.0 * static_cast<double>(x[0]) * static_cast<double>(w[0]) * in_spatial *
            static_cast<double>(w[1]) * kernel;
  if (ctx.has_input(2)) c.flops += static_cast<double>(ctx.output_elements(0));
  c.gemm_m = x[0] * nn::Prod(x, 2, x.size());
  c.gemm_n = w[1] * nn::Prod(w, 2, w.size());
  c.gemm_k = w[0] / group;
  return c;
}

// ---- Reference kernels ----------------------------------------------------------------------
// Spatial geometry padded to 3 dims (leading dims of size 1) so one loop nest serves 1-D..3-D.
struct Geo3 {
  int64_t in[3], out[3], k[3], s[3], d[3], p[3];
};

Result<Geo3> To3(const std::vector<int64_t>& in, const std::vector<int64_t>& out,
                 const nn::Window& w) {
  const size_t sp = in.size();
  if (sp > 3) return Unsupported("reference kernel handles at most 3 spatial dims");
  Geo3 g;
  for (size_t j = 0; j < 3; ++j) {
    if (j < 3 - sp) {
      g.in[j] = g.out[j] = g.k[j] = g.s[j] = g.d[j] = 1;
      g.p[j] = 0;
      continue;
    }
    const size_t i = j - (3 - sp);
    g.in[j] = in[i];
    g.out[j] = out[i];
    g.k[j] = w.kernel[i];
    g.s[j] = w.strides[i];
    g.d[j] = w.dilations[i];
    g.p[j] = w.pads_begin[i];
  }
  return g;
}

Status ConvReference(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  const Tensor& wt = ctx.input(1);
  if (xt.rank() < 3 || wt.rank() != xt.rank()) return ctx.Error("X/W ranks are invalid");
  const size_t sp = xt.rank() - 2;
  const int64_t group = ctx.node().GetInt("group", 1);
  const auto& xd = xt.dims();
  const auto& wd = wt.dims();
  if (group < 1 || xd[1] % group != 0 || xd[1] / group != wd[1] || wd[0] % group != 0) {
    return ctx.Error("channels do not match W and group");
  }
  std::vector<int64_t> wk(wd.begin() + 2, wd.end());
  RIDGE_ASSIGN_OR_RETURN(nn::Window w, nn::ReadWindow(ctx.node(), sp, wk, false));
  if (w.kernel != wk) return ctx.Error("kernel_shape disagrees with W");
  std::vector<int64_t> in(xd.begin() + 2, xd.end()), out(sp);
  for (size_t i = 0; i < sp; ++i) {
    RIDGE_ASSIGN_OR_RETURN(out[i], nn::WindowOutDim(&w, i, in[i]));
  }
  RIDGE_ASSIGN_OR_RETURN(Geo3 g, To3(in, out, w));
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "X"));
  RIDGE_ASSIGN_OR_RETURN(auto wv, nn::ToFloats(wt, "W"));
  std::vector<float> bias;
  if (ctx.has_input(2)) {
    RIDGE_ASSIGN_OR_RETURN(bias, nn::ToFloats(ctx.input(2), "B"));
    if (static_cast<int64_t>(bias.size()) != wd[0]) return ctx.Error("B size != output channels");
  }
  std::vector<int64_t> ydims = {xd[0], wd[0]};
  ydims.insert(ydims.end(), out.begin(), out.end());
  RIDGE_RETURN_IF_ERROR(nn::CheckAlloc(ydims, 4));
  const int64_t n_batch = xd[0], cin = xd[1], cout = wd[0];
  const int64_t cin_g = cin / group, cout_g = cout / group;
  const int64_t in_sz = g.in[0] * g.in[1] * g.in[2], out_sz = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_sz = g.k[0] * g.k[1] * g.k[2];
  RIDGE_RETURN_IF_ERROR(nn::CheckWork(static_cast<double>(n_batch * cout) *
                                      static_cast<double>(out_sz) * static_cast<double>(cin_g) *
                                      static_cast<double>(k_sz)));
  std::vector<float> y(static_cast<size_t>(n_batch * cout * out_sz));
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t m = 0; m < cout; ++m) {
      const int64_t grp = m / cout_g;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
            double acc = bias.empty() ? 0.0 : bias[static_cast<size_t>(m)];
            for (int64_t ci = 0; ci < cin_g; ++ci) {
              const int64_t c = grp * cin_g + ci;
              const float* xp = x.data() + (n * cin + c) * in_sz;
              const float* wp = wv.data() + (m * cin_g + ci) * k_sz;
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
                const int64_t i0 = o0 * g.s[0] - g.p[0] + k0 * g.d[0];
                if (i0 < 0 || i0 >= g.in[0]) continue;
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                  const int64_t i1 = o1 * g.s[1] - g.p[1] + k1 * g.d[1];
                  if (i1 < 0 || i1 >= g.in[1]) continue;
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t i2 = o2 * g.s[2] - g.p[2] + k2 * g.d[2];
                    if (i2 < 0 || i2 >= g.in[2]) continue;
                    acc += static_cast<double>(xp[(i0 * g.in[1] + i1) * g.in[2] + i2]) *
                           wp[(k0 * g.k[1] + k1) * g.k[2] + k2];
                  }
                }
              }
            }
            y[static_cast<size_t>(((n * cout + m) * g.out[0] + o0) * g.out[1] * g.out[2] +
                                  o1 * g.out[2] + o2)] = static_cast<float>(acc);
          }
        }
      }
    }
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), ydims, y));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

Status ConvTransposeReference(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  const Tensor& wt = ctx.input(1);
  if (xt.rank() < 3 || wt.rank() != xt.rank()) return ctx.Error("X/W ranks are invalid");
  const size_t sp = xt.rank() - 2;
  const int64_t group = ctx.node().GetInt("group", 1);
  const auto& xd = xt.dims();
  const auto& wd = wt.dims();
  if (group < 1 || xd[1] != wd[0] || xd[1] % group != 0) {
    return ctx.Error("channels do not match W and group");
  }
  std::vector<int64_t> wk(wd.begin() + 2, wd.end());
  RIDGE_ASSIGN_OR_RETURN(nn::Window w, nn::ReadWindow(ctx.node(), sp, wk, false));
  if (w.kernel != wk) return ctx.Error("kernel_shape disagrees with W");
  std::vector<int64_t> in(xd.begin() + 2, xd.end());
  RIDGE_ASSIGN_OR_RETURN(auto out, ConvTransposeOut(ctx.node(), &w, in));
  RIDGE_ASSIGN_OR_RETURN(Geo3 g, To3(in, out, w));
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "X"));
  RIDGE_ASSIGN_OR_RETURN(auto wv, nn::ToFloats(wt, "W"));
  const int64_t n_batch = xd[0], cin = xd[1], cout_g = wd[1], cout = cout_g * group;
  const int64_t cin_g = cin / group;
  std::vector<int64_t> ydims = {n_batch, cout};
  ydims.insert(ydims.end(), out.begin(), out.end());
  RIDGE_RETURN_IF_ERROR(nn::CheckAlloc(ydims, 4));
  std::vector<float> bias;
  if (ctx.has_input(2)) {
    RIDGE_ASSIGN_OR_RETURN(bias, nn::ToFloats(ctx.input(2), "B"));
    if (static_cast<int64_t>(bias.size()) != cout) return ctx.Error("B size != output channels");
  }
  const int64_t in_sz = g.in[0] * g.in[1] * g.in[2], out_sz = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_sz = g.k[0] * g.k[1] * g.k[2];
  RIDGE_RETURN_IF_ERROR(nn::CheckWork(static_cast<double>(n_batch * cin) *
                                      static_cast<double>(in_sz) * static_cast<double>(cout_g) *
                                      static_cast<double>(k_sz)));
  std::vector<double> y(static_cast<size_t>(n_batch * cout * out_sz), 0.0);
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t c = 0; c < cin; ++c) {
      const int64_t grp = c / cin_g;
      for (int64_t mo = 0; mo < cout_g; ++mo) {
        const int64_t m = grp * cout_g + mo;
        const float* wp = wv.data() + (c * cout_g + mo) * k_sz;
        double* yp = y.data() + (n * cout + m) * out_sz;
        for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
          for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
            for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
              const double xv = x[static_cast<size_t>((n * cin + c) * in_sz +
                                                      (i0 * g.in[1] + i1) * g.in[2] + i2)];
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
                const int64_t o0 = i0 * g.s[0] + k0 * g.d[0] - g.p[0];
                if (o0 < 0 || o0 >= g.out[0]) continue;
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                  const int64_t o1 = i1 * g.s[1] + k1 * g.d[1] - g.p[1];
                  if (o1 < 0 || o1 >= g.out[1]) continue;
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t o2 = i2 * g.s[2] + k2 * g.d[2] - g.p[2];
                    if (o2 < 0 || o2 >= g.out[2]) continue;
                    yp[(o0 * g.out[1] + o1) * g.out[2] + o2] +=
                        xv * wp[(k0 * g.k[1] + k1) * g.k[2] + k2];
                  }
                }
              }
            }
      }
    }
  }
  std::vector<float> yf(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    const size_t m = (i / static_cast<size_t>(out_sz)) % static_cast<size_t>(cout);
    yf[i] = static_cast<float>(y[i] + (bias.empty() ? 0.0 : bias[m]));
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), ydims, yf));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpConv{"Conv", OpKind::kCompute, InferConv, CostConv, ConvReference};
extern const OpDef kOpConvTranspose{"ConvTranspose", OpKind::kCompute, InferConvTranspose,
                                    CostConvTranspose, ConvTransposeReference};

}  // namespace ridge::ops
