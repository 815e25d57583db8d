// Resize (opset 10-19).
//
// Inputs: X, roi (optional; used by tf_crop_and_resize), scales (optional), sizes (optional);
// opset 10 has (X, scales) only. Exactly one of scales/sizes must be given (a present but empty
// tensor counts as absent). Opset 18 adds `axes` (which dims scales/sizes refer to) and
// keep_aspect_ratio_policy (stretch, not_larger, not_smaller) for sizes.
// Output dims: sizes, or floor(in * scale) (times the roi extent for tf_crop_and_resize).
// Modes: nearest (nearest_mode round_prefer_floor [default], round_prefer_ceil, floor, ceil),
// linear (n-linear), cubic (cubic_coeff_a default -0.75, exclude_outside). Coordinate
// transformation modes: half_pixel (default), half_pixel_symmetric, pytorch_half_pixel,
// align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize (extrapolation_value
// outside the crop). Out-of-range neighbour indices clamp to the border (ONNX edge padding).
// Scales or sizes not constant: output rank known, dims unknown.
//
// Cost: nearest is data movement (read input, write output, no FLOPs); linear/cubic cost
// 2 FLOPs per tap per output element (2 or 4 taps per resized axis), kind elementwise. roi,
// scales and sizes are metadata and not counted.
// Reference: per-axis taps (index, weight) combined as an outer product; nearest copies raw
// element bytes (any dtype), linear/cubic compute in float.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

struct ResizeAttrs {
  std::string mode, coord, nearest_mode, policy;
  float cubic_a = -0.75f, extrapolation = 0.0f;
  bool exclude_outside = false;
};

Result<ResizeAttrs> ReadAttrs(const ir::Node& node, int64_t opset) {
  ResizeAttrs a;
  a.mode = node.GetString("mode", "nearest");
  if (a.mode != "nearest" && a.mode != "linear" && a.mode != "cubic") {
    return InvalidModel("mode '" + a.mode + "' is not one of nearest, linear, cubic");
  }
  const bool v10 = opset != 0 && opset < 11;
  a.coord = node.GetString("coordinate_transformation_mode", v10 ? "asymmetric" : "half_pixel");
  static const char* kCoords[] = {
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  bool ok = false;
  for (const char* c : kCoords) ok |= a.coord == c;
  if (!ok) return InvalidModel("coordinate_transformation_mode '" + a.coord + "' is not supported");
  a.nearest_mode = node.GetString("nearest_mode", v10 ? "floor" : "round_prefer_floor");
  if (a.nearest_mode != "round_prefer_floor" && a.nearest_mode != "round_prefer_ceil" &&
      a.nearest_mode != "floor" && a.nearest_mode != "ceil") {
    return InvalidModel("nearest_mode '" + a.nearest_mode + "' is not supported");
  }
  a.policy = node.GetString("keep_aspect_ratio_policy", "stretch");
  if (a.policy != "stretch" && a.policy != "not_larger" && a.policy != "not_smaller") {
    return InvalidModel("keep_aspect_ratio_policy '" + a.policy + "' is not supported");
  }
  a.cubic_a = node.GetFloat("cubic_coeff_a", -0.75f);
  a.extrapolation = node.GetFloat("extrapolation_value", 0.0f);
  a.exclude_outside = node.GetInt("exclude_outside", 0) != 0;
  return a;
}

// What Resize needs from its inputs, wherever they come from (InferContext or KernelContext).
struct ResizeInputs {
  std::vector<int64_t> in;  // X dims, -1 unknown
  bool scales_present = false, sizes_present = false;
  const Tensor* roi = nullptr;
  const Tensor* scales = nullptr;  // constant data (nullptr: not constant)
  const Tensor* sizes = nullptr;
};

struct ResizePlan {
  bool known = true;          // false: scales/sizes not constant
  std::vector<int64_t> out;   // -1 unknown
  std::vector<double> scale;  // per dim, used by the coordinate transform
  std::vector<double> roi_start, roi_end;
  std::vector<bool> resized;  // dims named by `axes` (the others pass through)
};

Result<ResizePlan> Plan(const ir::Node& node, const ResizeAttrs& a, const ResizeInputs& ri) {
  const int64_t rank = static_cast<int64_t>(ri.in.size());
  ResizePlan p;
  p.out = ri.in;
  p.scale.assign(ri.in.size(), 1.0);
  p.roi_start.assign(ri.in.size(), 0.0);
  p.roi_end.assign(ri.in.size(), 1.0);
  std::vector<int64_t> axes = node.GetInts("axes");
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  std::vector<int64_t> ax(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    auto n = nn::NormAxis(axes[i], rank);
    if (!n) return InvalidModel("axes entry " + std::to_string(axes[i]) + " is out of range");
    ax[i] = *n;
  }
  p.resized.assign(ri.in.size(), false);
  for (int64_t d : ax) p.resized[static_cast<size_t>(d)] = true;
  if (ri.scales_present == ri.sizes_present) {
    return InvalidModel(ri.scales_present ? "only one of scales and sizes may be given"
                                          : "one of scales and sizes is required");
  }
  if ((ri.scales_present && !ri.scales) || (ri.sizes_present && !ri.sizes)) {
    p.known = false;
    for (int64_t d : ax) p.out[static_cast<size_t>(d)] = -1;
    return p;
  }
  if (a.coord == "tf_crop_and_resize" && ri.roi && ri.roi->num_elements() > 0) {
    if (ri.roi->num_elements() != static_cast<int64_t>(2 * ax.size())) {
      return InvalidModel("roi must have 2 entries per resized axis");
    }
    for (size_t i = 0; i < ax.size(); ++i) {
      p.roi_start[static_cast<size_t>(ax[i])] = ri.roi->GetAsDouble(static_cast<int64_t>(i));
      p.roi_end[static_cast<size_t>(ax[i])] =
          ri.roi->GetAsDouble(static_cast<int64_t>(i + ax.size()));
    }
  }
  if (ri.scales) {
    if (ri.scales->num_elements() != static_cast<int64_t>(ax.size())) {
      return InvalidModel("scales has " + std::to_string(ri.scales->num_elements()) +
                          " entries, expected " + std::to_string(ax.size()));
    }
    if (!nn::IsFloatType(ri.scales->dtype())) return InvalidModel("scales must be float");
    for (size_t i = 0; i < ax.size(); ++i) {
      const size_t d = static_cast<size_t>(ax[i]);
      const double s = ri.scales->GetAsDouble(static_cast<int64_t>(i));
      if (!(s > 0) || !std::isfinite(s)) {
        return InvalidModel("scales entry " + std::to_string(s) + " must be positive");
      }
      p.scale[d] = s;
      if (ri.in[d] >= 0) {
        const double extent = p.roi_end[d] - p.roi_start[d];
        const double o = std::floor(static_cast<double>(ri.in[d]) * extent * s);
        if (!(o >= 0)) return InvalidModel("roi and scales give a negative or NaN output dim");
        if (o > 1e12) return LimitExceeded("scaled output dim is too large");
        p.out[d] = static_cast<int64_t>(o);
      }
    }
    return p;
  }
  RIDGE_ASSIGN_OR_RETURN(auto sizes, nn::IntValues(*ri.sizes, "sizes"));
  if (sizes.size() != ax.size()) {
    return InvalidModel("sizes has " + std::to_string(sizes.size()) + " entries, expected " +
                        std::to_string(ax.size()));
  }
  for (int64_t s : sizes)
    if (s < 0) return InvalidModel("sizes entries must be non-negative");
  if (a.policy != "stretch") {
    // One common scale: the smallest (not_larger) or largest (not_smaller) of sizes/in.
    double common = a.policy == "not_larger" ? 1e300 : 0.0;
    for (size_t i = 0; i < ax.size(); ++i) {
      const int64_t in = ri.in[static_cast<size_t>(ax[i])];
      if (in <= 0) {
        p.out[static_cast<size_t>(ax[i])] = -1;
        continue;
      }
      const double r = static_cast<double>(sizes[i]) / static_cast<double>(in);
      common = a.policy == "not_larger" ? std::min(common, r) : std::max(common, r);
    }
    for (size_t i = 0; i < ax.size(); ++i) {
      const size_t d = static_cast<size_t>(ax[i]);
      p.scale[d] = common;
      if (ri.in[d] > 0) {
        const double o = std::round(common * static_cast<double>(ri.in[d]));
        if (o > 1e12) return LimitExceeded("scaled output dim is too large");
        p.out[d] = static_cast<int64_t>(o);
      }
    }
    return p;
  }
  for (size_t i = 0; i < ax.size(); ++i) {
    const size_t d = static_cast<size_t>(ax[i]);
    p.out[d] = sizes[i];
    p.scale[d] = ri.in[d] > 0 ? static_cast<double>(sizes[i]) / static_cast<double>(ri.in[d]) : 1;
  }
  return p;
}

bool IsFullRoi(double roi_start, double roi_end) { return roi_start == 0.0 && roi_end == 1.0; }

// Present and non-empty: a tensor input given as "" or with 0 elements counts as absent.
bool Present(InferContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return false;
  const Shape* s = ctx.input_shape(i);
  if (s) {
    auto n = s->NumElements();
    if (n && *n == 0) return false;
  }
  return true;
}

Status InferResize(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 4));
  auto attrs = ReadAttrs(ctx.node(), ctx.opset_version());
  if (!attrs.ok()) return ctx.Error(attrs.status().message());
  const DType dt = ctx.input_dtype(0);
  const Shape* x = ctx.input_shape(0);
  if (!x) {
    ctx.SetOutputType(0, dt);
    return Status::Ok();
  }
  const bool v10 = ctx.opset_version() != 0 && ctx.opset_version() < 11;
  ResizeInputs ri;
  ri.in = nn::DimsOrUnknown(*x);
  const size_t scales_slot = v10 ? 1 : 2;
  ri.roi = !v10 && ctx.has_input(1) ? ctx.input_constant(1) : nullptr;
  ri.scales_present = Present(ctx, scales_slot);
  ri.sizes_present = !v10 && Present(ctx, 3);
  if (ri.scales_present) ri.scales = ctx.input_constant(scales_slot);
  if (ri.sizes_present) ri.sizes = ctx.input_constant(3);
  auto plan = Plan(ctx.node(), *attrs, ri);
  if (!plan.ok()) return ctx.Error(plan.status().message() + " (input " + x->ToString() + ")");
  std::vector<Dim> dims = x->dims();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (!plan->resized[i]) continue;  // keeps symbolic dims such as the batch
    if (plan->out[i] == ri.in[i] && ri.in[i] >= 0) continue;
    if (plan->known && ri.in[i] < 0 && plan->out[i] < 0 && plan->scale[i] == 1.0 &&
        IsFullRoi(plan->roi_start[i], plan->roi_end[i])) {
      continue;  // scale 1 of an unknown dim: the dim (and its symbol) is unchanged
    }
    dims[i] = plan->out[i] >= 0 ? Dim(plan->out[i]) : Dim();
  }
  ctx.SetOutput(0, dt, Shape(dims));
  return Status::Ok();
}

NodeCost CostResize(const CostContext& ctx) {
  NodeCost c;
  c.bytes_read = ctx.input_bytes(0);
  c.bytes_written = ctx.output_bytes(0);
  const std::string mode = ctx.node().GetString("mode", "nearest");
  if (mode == "nearest") {
    c.kind = OpKind::kDataMovement;
    return c;
  }
  c.kind = OpKind::kElementwise;
  auto in = ctx.input_dims(0), out = ctx.output_dims(0);
  double taps = 1;
  if (in.size() == out.size()) {
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i] != out[i]) taps *= mode == "linear" ? 2 : 4;
  }
  c.flops = 2.0 * taps * static_cast<double>(ctx.output_elements(0));
  return c;
}

// ---- Reference ------------------------------------------------------------------------------
struct Tap {
  int64_t index;
  double weight;
};

double SourceCoord(const ResizeAttrs& a, double x, int64_t in, int64_t out, double scale,
                   double roi_start, double roi_end) {
  const std::string& m = a.coord;
  if (m == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (m == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(out) / (scale * static_cast<double>(in));
    const double offset = static_cast<double>(in) * (1 - adjustment) / 2;
    return offset + (x + 0.5) / scale - 0.5;
  }
  if (m == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (m == "align_corners") {
    return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / static_cast<double>(out - 1);
  }
  if (m == "asymmetric") return x / scale;
  if (m == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  // tf_crop_and_resize
  const double span = static_cast<double>(in - 1);
  return out > 1
             ? roi_start * span + x * (roi_end - roi_start) * span / static_cast<double>(out - 1)
             : 0.5 * (roi_start + roi_end) * span;
}

int64_t Clamp(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// Taps of one output coordinate along one axis; empty means "extrapolate" (tf_crop_and_resize).
std::vector<Tap> AxisTaps(const ResizeAttrs& a, int64_t o, int64_t in, int64_t out, double scale,
                          double rs, double re) {
  if (in == out && scale == 1.0 && a.coord != "tf_crop_and_resize") return {{o, 1.0}};
  double x = SourceCoord(a, static_cast<double>(o), in, out, scale, rs, re);
  if (!std::isfinite(x)) return {};  // only a non-finite roi gets here: extrapolate
  if (a.coord == "tf_crop_and_resize" && (x < 0 || x > static_cast<double>(in - 1))) return {};
  // Far outside the input every tap clamps to the border anyway; clamping keeps the casts below
  // defined for extreme scales.
  x = std::clamp(x, -4.0, static_cast<double>(in) + 4.0);
  if (a.mode == "nearest") {
    double r;
    const double fl = std::floor(x);
    if (a.nearest_mode == "floor") {
      r = fl;
    } else if (a.nearest_mode == "ceil") {
      r = std::ceil(x);
    } else if (x - fl == 0.5) {
      r = a.nearest_mode == "round_prefer_floor" ? fl : fl + 1;
    } else {
      r = std::round(x);
    }
    return {{Clamp(static_cast<int64_t>(r), in), 1.0}};
  }
  const int64_t x0 = static_cast<int64_t>(std::floor(x));
  const double t = x - static_cast<double>(x0);
  if (a.mode == "linear") return {{Clamp(x0, in), 1 - t}, {Clamp(x0 + 1, in), t}};
  const double A = a.cubic_a;
  auto far = [A](double d) { return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A; };  // 1 < d < 2
  auto near = [A](double d) { return ((A + 2) * d - (A + 3)) * d * d + 1; };       // d <= 1
  const double w[4] = {far(t + 1), near(t), near(1 - t), far(2 - t)};
  std::vector<Tap> taps;
  double sum = 0;
  for (int j = 0; j < 4; ++j) {
    const int64_t idx = x0 - 1 + j;
    if (a.exclude_outside && (idx < 0 || idx >= in)) continue;
    taps.push_back({Clamp(idx, in), w[j]});
    sum += w[j];
  }
  if (a.exclude_outside && sum != 0) {
    for (auto& tp : taps) tp.weight /= sum;
  }
  return taps;
}

Status ResizeReference(KernelContext& ctx) {
  RIDGE_ASSIGN_OR_RETURN(ResizeAttrs a, ReadAttrs(ctx.node(), ctx.opset_version()));
  const Tensor& xt = ctx.input(0);
  const bool v10 = ctx.opset_version() != 0 && ctx.opset_version() < 11;
  auto present = [&](size_t i) { return ctx.has_input(i) && ctx.input(i).num_elements() > 0; };
  ResizeInputs ri;
  ri.in = xt.dims();
  const size_t scales_slot = v10 ? 1 : 2;
  ri.roi = !v10 && ctx.has_input(1) ? &ctx.input(1) : nullptr;
  ri.scales_present = present(scales_slot);
  ri.sizes_present = !v10 && present(3);
  if (ri.scales_present) ri.scales = &ctx.input(scales_slot);
  if (ri.sizes_present) ri.sizes = &ctx.input(3);
  RIDGE_ASSIGN_OR_RETURN(ResizePlan p, Plan(ctx.node(), a, ri));
  const size_t rank = xt.rank();
  const size_t es = DTypeSize(xt.dtype());
  if (es == 0) return Unsupported("Resize reference: unsupported dtype");
  RIDGE_RETURN_IF_ERROR(nn::CheckAlloc(p.out, std::max<size_t>(es, 4)));
  for (size_t i = 0; i < rank; ++i) {
    if (p.out[i] > nn::kMaxRefBytes) return LimitExceeded("Resize output dim is too large");
    if (ri.in[i] == 0 && p.out[i] > 0) return ctx.Error("cannot resize an empty axis");
  }
  // taps[axis][o]
  std::vector<std::vector<std::vector<Tap>>> taps(rank);
  for (size_t i = 0; i < rank; ++i) {
    taps[i].resize(static_cast<size_t>(p.out[i]));
    for (int64_t o = 0; o < p.out[i]; ++o) {
      taps[i][static_cast<size_t>(o)] =
          AxisTaps(a, o, ri.in[i], p.out[i], p.scale[i], p.roi_start[i], p.roi_end[i]);
    }
  }
  std::vector<int64_t> stride(rank, 1);
  for (size_t i = rank; i-- > 1;) stride[i - 1] = stride[i] * ri.in[i];
  const bool nearest = a.mode == "nearest";
  std::vector<float> x;
  if (!nearest) {
    RIDGE_ASSIGN_OR_RETURN(x, nn::ToFloats(xt, "X"));
  }
  Tensor yraw(xt.dtype(), nearest ? p.out : std::vector<int64_t>{0});
  std::vector<float> y(nearest ? 0 : static_cast<size_t>(nn::Prod(p.out)));
  std::vector<std::byte> extrap(es);
  if (nearest && nn::IsFloatType(xt.dtype())) {
    RIDGE_ASSIGN_OR_RETURN(Tensor e,
                           nn::FromFloats(xt.dtype(), {1}, std::vector<float>{a.extrapolation}));
    std::memcpy(extrap.data(), e.raw_data(), es);
  }
  const int64_t total = nn::Prod(p.out);
  std::vector<int64_t> o(rank, 0), c(rank, 0);
  for (int64_t e = 0; e < total; ++e) {
    bool outside = false;
    for (size_t i = 0; i < rank; ++i) outside |= taps[i][static_cast<size_t>(o[i])].empty();
    if (nearest) {
      std::byte* dst = yraw.raw_data() + static_cast<size_t>(e) * es;
      if (outside) {
        std::memcpy(dst, extrap.data(), es);
      } else {
        int64_t off = 0;
        for (size_t i = 0; i < rank; ++i)
          off += taps[i][static_cast<size_t>(o[i])][0].index * stride[i];
        std::memcpy(dst, xt.raw_data() + static_cast<size_t>(off) * es, es);
      }
    } else if (outside) {
      y[static_cast<size_t>(e)] = a.extrapolation;
    } else {
      // Sum over the outer product of the per-axis taps.
      double acc = 0;
      std::fill(c.begin(), c.end(), 0);
      while (true) {
        int64_t off = 0;
        double w = 1;
        for (size_t i = 0; i < rank; ++i) {
          const Tap& t = taps[i][static_cast<size_t>(o[i])][static_cast<size_t>(c[i])];
          off += t.index * stride[i];
          w *= t.weight;
        }
        acc += w * x[static_cast<size_t>(off)];
        size_t i = rank;
        while (i-- > 0) {
          if (++c[i] < static_cast<int64_t>(taps[i][static_cast<size_t>(o[i])].size())) break;
          c[i] = 0;
        }
        if (i == static_cast<size_t>(-1)) break;
      }
      y[static_cast<size_t>(e)] = static_cast<float>(acc);
    }
    for (size_t i = rank; i-- > 0;) {
      if (++o[i] < p.out[i]) break;
      o[i] = 0;
    }
  }
  if (nearest) {
    ctx.SetOutput(0, std::move(yraw));
  } else {
    RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), p.out, y));
    ctx.SetOutput(0, std::move(yt));
  }
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpResize{"Resize", OpKind::kDataMovement, InferResize, CostResize,
                             ResizeReference};

}  // namespace ridge::ops
