// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (ONNX opset 11-19).
//
// MaxPool/AveragePool attributes: kernel_shape (required), strides, pads, dilations, auto_pad,
// ceil_mode; MaxPool: storage_order and the optional int64 Indices output (flat row-major index
// into the input, or column-major over spatial dims when storage_order = 1); AveragePool:
// count_include_pad. With ceil_mode, a window that would start inside the end padding is dropped
// and a window hanging past the padded input counts only its in-bounds part (PyTorch/ONNX rule).
//
// Cost: the input is read once and the output written once; FLOPs = one operation per window
// element (compare or add): output elements * prod(kernel) for windowed pools, input elements
// for global pools. Kind: reduction.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

Status InferWindowPool(InferContext& ctx, bool is_max) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const DType dt = ctx.input_dtype(0);
  const Shape* x = ctx.input_shape(0);
  if (!ctx.node().HasAttr("kernel_shape")) return ctx.Error("attribute kernel_shape is required");
  const size_t sp = ctx.node().GetInts("kernel_shape").size();
  if (x && x->rank() != sp + 2) {
    return ctx.Error("input " + x->ToString() + " must have rank " + std::to_string(sp + 2) +
                     " for kernel_shape of " + std::to_string(sp) + " entries");
  }
  auto win = nn::ReadWindow(ctx.node(), sp, {}, true);
  if (!win.ok()) return ctx.Error(win.status().message());
  if (!is_max && ctx.node().HasAttr("dilations") && ctx.opset_version() != 0 &&
      ctx.opset_version() < 19) {
    return ctx.Error("AveragePool dilations need opset 19");
  }
  const int64_t cip = ctx.node().GetInt("count_include_pad", 0);
  if (cip != 0 && cip != 1) return ctx.Error("count_include_pad must be 0 or 1");
  const int64_t so = ctx.node().GetInt("storage_order", 0);
  if (so != 0 && so != 1) return ctx.Error("storage_order must be 0 or 1");
  if (!x) {
    ctx.SetOutput(0, dt, nn::ShapeOf(std::vector<int64_t>(sp + 2, -1)));
    if (is_max) ctx.SetOutput(1, DType::kInt64, nn::ShapeOf(std::vector<int64_t>(sp + 2, -1)));
    return Status::Ok();
  }
  std::vector<Dim> dims = x->dims();
  for (size_t i = 0; i < sp; ++i) {
    const Dim& in = (*x)[i + 2];
    auto out = nn::WindowOutDim(&*win, i, in.known() ? in.value : -1);
    if (!out.ok()) return ctx.Error(out.status().message() + " (input " + x->ToString() + ")");
    dims[i + 2] = *out >= 0 ? Dim(*out) : Dim();
  }
  ctx.SetOutput(0, dt, Shape(dims));
  if (is_max) ctx.SetOutput(1, DType::kInt64, Shape(dims));
  return Status::Ok();
}

Status InferMaxPool(InferContext& ctx) { return InferWindowPool(ctx, true); }
Status InferAveragePool(InferContext& ctx) { return InferWindowPool(ctx, false); }

Status InferGlobalPool(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  const Shape* x = ctx.input_shape(0);
  if (!x) {
    ctx.SetOutputType(0, ctx.input_dtype(0));
    return Status::Ok();
  }
  if (x->rank() < 2) return ctx.Error("input must have rank >= 2, got " + x->ToString());
  std::vector<Dim> dims = x->dims();
  for (size_t i = 2; i < dims.size(); ++i) dims[i] = Dim(1);
  ctx.SetOutput(0, ctx.input_dtype(0), Shape(dims));
  return Status::Ok();
}

NodeCost CostWindowPool(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kReduction);
  const auto k = ctx.node().GetInts("kernel_shape");
  c.flops = static_cast<double>(ctx.output_elements(0)) * static_cast<double>(nn::Prod(k));
  return c;
}

NodeCost CostGlobalPool(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kReduction);
  c.flops = static_cast<double>(ctx.input_elements(0));
  return c;
}

// ---- Reference kernels ----------------------------------------------------------------------
// Walks every output element of a windowed pool and calls fn(out_index, in_base, offsets) where
// offsets are the flat spatial offsets (within one N*C plane) of in-bounds window elements, and
// `window_count_with_pad` is the divisor for count_include_pad.
Status WindowPoolReference(KernelContext& ctx, bool is_max) {
  const Tensor& xt = ctx.input(0);
  if (xt.rank() < 3) return ctx.Error("input must have rank >= 3");
  const size_t sp = xt.rank() - 2;
  RIDGE_ASSIGN_OR_RETURN(nn::Window w, nn::ReadWindow(ctx.node(), sp, {}, true));
  const auto& xd = xt.dims();
  std::vector<int64_t> in(xd.begin() + 2, xd.end()), out(sp);
  for (size_t i = 0; i < sp; ++i) {
    RIDGE_ASSIGN_OR_RETURN(out[i], nn::WindowOutDim(&w, i, in[i]));
  }
  std::vector<int64_t> ydims = {xd[0], xd[1]};
  ydims.insert(ydims.end(), out.begin(), out.end());
  RIDGE_RETURN_IF_ERROR(nn::CheckAlloc(ydims, 8));
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "X"));
  const bool include_pad = ctx.node().GetInt("count_include_pad", 0) != 0;
  const bool col_major = ctx.node().GetInt("storage_order", 0) != 0;
  const int64_t planes = xd[0] * xd[1];
  const int64_t in_sz = nn::Prod(in), out_sz = nn::Prod(out), k_sz = nn::Prod(w.kernel);
  RIDGE_RETURN_IF_ERROR(nn::CheckWork(static_cast<double>(out_sz) * static_cast<double>(k_sz) *
                                      static_cast<double>(std::max<int64_t>(planes, 1))));
  std::vector<float> y(static_cast<size_t>(planes * out_sz));
  std::vector<int64_t> indices(is_max ? y.size() : 0);
  std::vector<int64_t> o(sp), kk(sp), pos(sp);
  for (int64_t oi = 0; oi < out_sz; ++oi) {
    // Decompose oi into output coordinates.
    for (size_t i = sp, r = static_cast<size_t>(oi); i-- > 0;) {
      o[i] = static_cast<int64_t>(r % static_cast<size_t>(out[i]));
      r /= static_cast<size_t>(out[i]);
    }
    // In-bounds window offsets and the count_include_pad divisor (window clipped to the
    // padded input, PyTorch's rule).
    std::vector<int64_t> offsets, col_offsets;
    int64_t padded_count = 1;
    for (size_t i = 0; i < sp; ++i) {
      const int64_t start = o[i] * w.strides[i] - w.pads_begin[i];
      const int64_t end =
          std::min(start + (w.kernel[i] - 1) * w.dilations[i] + 1, in[i] + w.pads_end[i]);
      padded_count *= (end - start + w.dilations[i] - 1) / w.dilations[i];
    }
    for (int64_t ki = 0; ki < k_sz; ++ki) {
      bool inside = true;
      for (size_t i = sp, r = static_cast<size_t>(ki); i-- > 0;) {
        kk[i] = static_cast<int64_t>(r % static_cast<size_t>(w.kernel[i]));
        r /= static_cast<size_t>(w.kernel[i]);
        pos[i] = o[i] * w.strides[i] - w.pads_begin[i] + kk[i] * w.dilations[i];
        if (pos[i] < 0 || pos[i] >= in[i]) inside = false;
      }
      if (!inside) continue;
      int64_t flat = 0, col = 0, mul = 1;
      for (size_t i = 0; i < sp; ++i) flat = flat * in[i] + pos[i];
      for (size_t i = 0; i < sp; ++i) {
        col += pos[i] * mul;
        mul *= in[i];
      }
      offsets.push_back(flat);
      col_offsets.push_back(col);
    }
    for (int64_t p = 0; p < planes; ++p) {
      const float* xp = x.data() + p * in_sz;
      const size_t yi = static_cast<size_t>(p * out_sz + oi);
      if (is_max) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t arg = -1;
        for (size_t j = 0; j < offsets.size(); ++j) {
          const float v = xp[offsets[j]];
          if (arg < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
            best = v;
            arg = static_cast<int64_t>(j);
          }
        }
        y[yi] = best;
        if (arg >= 0) {
          const size_t a = static_cast<size_t>(arg);
          indices[yi] = p * in_sz + (col_major ? col_offsets[a] : offsets[a]);
        }
      } else {
        double sum = 0;
        for (int64_t off : offsets) sum += xp[off];
        const double count =
            include_pad ? static_cast<double>(padded_count) : static_cast<double>(offsets.size());
        y[yi] = count > 0 ? static_cast<float>(sum / count) : 0.0f;
      }
    }
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), ydims, y));
  ctx.SetOutput(0, std::move(yt));
  if (is_max && ctx.num_outputs() > 1) {
    Tensor it(DType::kInt64, ydims);
    std::copy(indices.begin(), indices.end(), it.data<int64_t>());
    ctx.SetOutput(1, std::move(it));
  }
  return Status::Ok();
}

Status MaxPoolReference(KernelContext& ctx) { return WindowPoolReference(ctx, true); }
Status AveragePoolReference(KernelContext& ctx) { return WindowPoolReference(ctx, false); }

Status GlobalPoolReference(KernelContext& ctx, bool is_max) {
  const Tensor& xt = ctx.input(0);
  if (xt.rank() < 2) return ctx.Error("input must have rank >= 2");
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "X"));
  const auto& xd = xt.dims();
  const int64_t planes = xd[0] * xd[1], sz = nn::Prod(xd, 2, xd.size());
  std::vector<int64_t> ydims = xd;
  for (size_t i = 2; i < ydims.size(); ++i) ydims[i] = 1;
  std::vector<float> y(static_cast<size_t>(planes));
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x.data() + p * sz;
    if (is_max) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < sz; ++i)
        if (xp[i] > best || std::isnan(xp[i])) best = xp[i];
      y[static_cast<size_t>(p)] = best;
    } else {
      double sum = 0;
      for (int64_t i = 0; i < sz; ++i) sum += xp[i];
      y[static_cast<size_t>(p)] = sz ? static_cast<float>(sum / static_cast<double>(sz)) : 0.0f;
    }
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), ydims, y));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

Status GlobalAveragePoolReference(KernelContext& ctx) { return GlobalPoolReference(ctx, false); }
Status GlobalMaxPoolReference(KernelContext& ctx) { return GlobalPoolReference(ctx, true); }

}  // namespace

extern const OpDef kOpMaxPool{"MaxPool", OpKind::kReduction, InferMaxPool, CostWindowPool,
                              MaxPoolReference};
extern const OpDef kOpAveragePool{"AveragePool", OpKind::kReduction, InferAveragePool,
                                  CostWindowPool, AveragePoolReference};
extern const OpDef kOpGlobalAveragePool{"GlobalAveragePool", OpKind::kReduction, InferGlobalPool,
                                        CostGlobalPool, GlobalAveragePoolReference};
extern const OpDef kOpGlobalMaxPool{"GlobalMaxPool", OpKind::kReduction, InferGlobalPool,
                                    CostGlobalPool, GlobalMaxPoolReference};

}  // namespace ridge::ops
