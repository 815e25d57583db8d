// BatchNormalization (inference form), LayerNormalization (opset 17), InstanceNormalization.
//
// BatchNormalization: Y = (X - mean) / sqrt(var + epsilon) * scale + B over channel dim 1. Only
//   the inference form is supported: training_mode = 1 or the running-mean/var outputs are
//   rejected with Unsupported. Cost: 2 FLOPs per element (a deployed BN is one multiply-add with
//   pre-folded per-channel scale/shift), kind elementwise.
// LayerNormalization: normalizes over dims [axis, rank) (axis default -1), epsilon 1e-5,
//   Scale required, B optional; optional outputs Mean and InvStdDev have X's dims with 1s from
//   axis on, dtype float32 (stash_type 1). Cost: 8 FLOPs per element (mean: 1, variance: 3,
//   normalize: 2, scale and bias: 2), kind reduction.
// InstanceNormalization: per (N, C) plane mean/variance, scale/B of size C; same 8 FLOPs/element.
#include <cmath>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

// Requires input i to be 1-D with `channels` entries when both are known.
Status CheckChannelVector(InferContext& ctx, size_t i, const char* name, const Dim& channels) {
  if (!ctx.has_input(i)) return Status::Ok();
  const Shape* s = ctx.input_shape(i);
  if (!s) return Status::Ok();
  if (s->rank() != 1) return ctx.Error(std::string(name) + " must be 1-D, got " + s->ToString());
  if (channels.known() && (*s)[0].known() && (*s)[0].value != channels.value) {
    return ctx.Error(std::string(name) + " has " + std::to_string((*s)[0].value) +
                     " entries but the input has " + std::to_string(channels.value) + " channels");
  }
  return Status::Ok();
}

Status InferBatchNorm(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(5, 5));
  if (ctx.node().GetInt("training_mode", 0) != 0) {
    return Unsupported(ctx.Error("training_mode = 1 is not supported (inference only)").message());
  }
  for (size_t i = 1; i < ctx.num_outputs(); ++i) {
    if (ctx.has_output(i)) {
      return Unsupported(ctx.Error("output " + std::to_string(i) +
                                   " (running statistics) is training-only and not supported")
                             .message());
    }
  }
  const Shape* x = ctx.input_shape(0);
  if (x && x->rank() < 2) return ctx.Error("input X must have rank >= 2, got " + x->ToString());
  const Dim c = x ? (*x)[1] : Dim();
  const char* names[] = {"", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) RIDGE_RETURN_IF_ERROR(CheckChannelVector(ctx, i, names[i], c));
  if (x) {
    ctx.SetOutput(0, ctx.input_dtype(0), *x);
  } else {
    ctx.SetOutputType(0, ctx.input_dtype(0));
  }
  return Status::Ok();
}

Status InferInstanceNorm(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(3, 3));
  const Shape* x = ctx.input_shape(0);
  if (x && x->rank() < 3) return ctx.Error("input must have rank >= 3, got " + x->ToString());
  const Dim c = x ? (*x)[1] : Dim();
  RIDGE_RETURN_IF_ERROR(CheckChannelVector(ctx, 1, "scale", c));
  RIDGE_RETURN_IF_ERROR(CheckChannelVector(ctx, 2, "B", c));
  if (x) {
    ctx.SetOutput(0, ctx.input_dtype(0), *x);
  } else {
    ctx.SetOutputType(0, ctx.input_dtype(0));
  }
  return Status::Ok();
}

Status InferLayerNorm(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 3));
  const DType dt = ctx.input_dtype(0);
  const Shape* x = ctx.input_shape(0);
  const int64_t stash = ctx.node().GetInt("stash_type", 1);
  const DType stat_dt = stash == 1 ? DType::kFloat32 : dt;
  if (!x) {
    ctx.SetOutputType(0, dt);
    ctx.SetOutputType(1, stat_dt);
    ctx.SetOutputType(2, stat_dt);
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x->rank());
  auto axis = nn::NormAxis(ctx.node().GetInt("axis", -1), rank);
  if (!axis) {
    return ctx.Error("axis " + std::to_string(ctx.node().GetInt("axis", -1)) +
                     " is out of range for input " + x->ToString());
  }
  // Scale and B must broadcast to X's normalized dims [axis, rank).
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    const Shape* s = ctx.input_shape(i);
    if (!s) continue;
    if (static_cast<int64_t>(s->rank()) > rank - *axis) {
      return ctx.Error(std::string(i == 1 ? "Scale" : "B") + " " + s->ToString() +
                       " has more dims than the normalized part of X " + x->ToString());
    }
    for (size_t j = 0; j < s->rank(); ++j) {
      const Dim& sd = (*s)[j];
      const Dim& xd = (*x)[x->rank() - s->rank() + j];
      if (sd.known() && xd.known() && sd.value != 1 && sd.value != xd.value) {
        return ctx.Error(std::string(i == 1 ? "Scale" : "B") + " " + s->ToString() +
                         " does not broadcast to X " + x->ToString());
      }
    }
  }
  ctx.SetOutput(0, dt, *x);
  std::vector<Dim> stat = x->dims();
  for (int64_t i = *axis; i < rank; ++i) stat[static_cast<size_t>(i)] = Dim(1);
  ctx.SetOutput(1, stat_dt, Shape(stat));
  ctx.SetOutput(2, stat_dt, Shape(stat));
  return Status::Ok();
}

NodeCost CostBatchNorm(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kElementwise);
  c.flops = 2.0 * static_cast<double>(ctx.output_elements(0));
  return c;
}

NodeCost CostNormWithStats(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kReduction);
  c.flops = 8.0 * static_cast<double>(ctx.input_elements(0));
  return c;
}

// ---- Reference kernels ----------------------------------------------------------------------
Status BatchNormReference(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  if (xt.rank() < 2) return ctx.Error("input must have rank >= 2");
  const int64_t c = xt.dims()[1], inner = nn::Prod(xt.dims(), 2, xt.rank());
  std::vector<float> p[4];
  const char* names[] = {"scale", "B", "input_mean", "input_var"};
  for (size_t i = 0; i < 4; ++i) {
    RIDGE_ASSIGN_OR_RETURN(p[i], nn::ToFloats(ctx.input(i + 1), names[i]));
    if (static_cast<int64_t>(p[i].size()) != c) {
      return ctx.Error(std::string(names[i]) + " size does not match channels");
    }
  }
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "X"));
  const float eps = ctx.node().GetFloat("epsilon", 1e-5f);
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t ch = (i / static_cast<size_t>(inner)) % static_cast<size_t>(c);
    x[i] = (x[i] - p[2][ch]) / std::sqrt(p[3][ch] + eps) * p[0][ch] + p[1][ch];
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), xt.dims(), x));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

// Mean and (biased) variance per (N, C) plane, accumulated in double.
Status InstanceNormReference(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  if (xt.rank() < 3) return ctx.Error("input must have rank >= 3");
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "X"));
  RIDGE_ASSIGN_OR_RETURN(auto scale, nn::ToFloats(ctx.input(1), "scale"));
  RIDGE_ASSIGN_OR_RETURN(auto bias, nn::ToFloats(ctx.input(2), "B"));
  const int64_t c = xt.dims()[1], inner = nn::Prod(xt.dims(), 2, xt.rank());
  if (static_cast<int64_t>(scale.size()) != c || static_cast<int64_t>(bias.size()) != c) {
    return ctx.Error("scale/B size does not match channels");
  }
  const double eps = ctx.node().GetFloat("epsilon", 1e-5f);
  const int64_t planes = xt.dims()[0] * c;
  for (int64_t p = 0; p < planes; ++p) {
    float* xp = x.data() + p * inner;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < inner; ++i) mean += xp[i];
    mean /= static_cast<double>(std::max<int64_t>(inner, 1));
    for (int64_t i = 0; i < inner; ++i) var += (xp[i] - mean) * (xp[i] - mean);
    var /= static_cast<double>(std::max<int64_t>(inner, 1));
    const double inv = 1.0 / std::sqrt(var + eps);
    const size_t ch = static_cast<size_t>(p % c);
    for (int64_t i = 0; i < inner; ++i)
      xp[i] = static_cast<float>((xp[i] - mean) * inv * scale[ch] + bias[ch]);
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), xt.dims(), x));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

// Element j of a trailing-broadcast parameter of dims `pd` for normalized-part dims `nd`
// (pd right-aligned to nd, size-1 dims broadcast).
float TrailingAt(const std::vector<float>& v, const std::vector<int64_t>& pd,
                 const std::vector<int64_t>& nd, int64_t j) {
  int64_t off = 0, stride = 1;
  for (size_t i = nd.size(), k = pd.size(); i-- > 0 && k-- > 0;) {
    const int64_t coord = j % nd[i];
    j /= nd[i];
    if (pd[k] != 1) off += coord * stride;
    stride *= pd[k];
  }
  return v[static_cast<size_t>(off)];
}

Status LayerNormReference(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(xt.rank());
  auto axis = nn::NormAxis(ctx.node().GetInt("axis", -1), rank);
  if (!axis) return ctx.Error("axis out of range");
  RIDGE_ASSIGN_OR_RETURN(auto x, nn::ToFloats(xt, "X"));
  RIDGE_ASSIGN_OR_RETURN(auto scale, nn::ToFloats(ctx.input(1), "Scale"));
  std::vector<float> bias;
  if (ctx.has_input(2)) {
    RIDGE_ASSIGN_OR_RETURN(bias, nn::ToFloats(ctx.input(2), "B"));
  }
  const auto& xd = xt.dims();
  std::vector<int64_t> nd(xd.begin() + *axis, xd.end());
  for (int i = 1; i < 3; ++i) {
    if (!ctx.has_input(static_cast<size_t>(i))) continue;
    const auto& pd = ctx.input(static_cast<size_t>(i)).dims();
    if (pd.size() > nd.size()) return ctx.Error("Scale/B rank too large");
    for (size_t k = 0; k < pd.size(); ++k)
      if (pd[k] != 1 && pd[k] != nd[nd.size() - pd.size() + k])
        return ctx.Error("Scale/B do not broadcast to the normalized dims");
  }
  const int64_t inner = nn::Prod(nd), outer = nn::Prod(xd, 0, static_cast<size_t>(*axis));
  const double eps = ctx.node().GetFloat("epsilon", 1e-5f);
  std::vector<float> mean_out(static_cast<size_t>(outer)), inv_out(static_cast<size_t>(outer));
  const auto& sd = ctx.input(1).dims();
  for (int64_t o = 0; o < outer; ++o) {
    float* xp = x.data() + o * inner;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < inner; ++i) mean += xp[i];
    mean /= static_cast<double>(std::max<int64_t>(inner, 1));
    for (int64_t i = 0; i < inner; ++i) var += (xp[i] - mean) * (xp[i] - mean);
    var /= static_cast<double>(std::max<int64_t>(inner, 1));
    const double inv = 1.0 / std::sqrt(var + eps);
    mean_out[static_cast<size_t>(o)] = static_cast<float>(mean);
    inv_out[static_cast<size_t>(o)] = static_cast<float>(inv);
    for (int64_t i = 0; i < inner; ++i) {
      double v = (xp[i] - mean) * inv * TrailingAt(scale, sd, nd, i);
      if (!bias.empty()) v += TrailingAt(bias, ctx.input(2).dims(), nd, i);
      xp[i] = static_cast<float>(v);
    }
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(xt.dtype(), xd, x));
  ctx.SetOutput(0, std::move(yt));
  std::vector<int64_t> stat_dims = xd;
  for (int64_t i = *axis; i < rank; ++i) stat_dims[static_cast<size_t>(i)] = 1;
  const DType stat_dt = ctx.node().GetInt("stash_type", 1) == 1 ? DType::kFloat32 : xt.dtype();
  if (ctx.num_outputs() > 1) {
    RIDGE_ASSIGN_OR_RETURN(Tensor m, nn::FromFloats(stat_dt, stat_dims, mean_out));
    ctx.SetOutput(1, std::move(m));
  }
  if (ctx.num_outputs() > 2) {
    RIDGE_ASSIGN_OR_RETURN(Tensor s, nn::FromFloats(stat_dt, stat_dims, inv_out));
    ctx.SetOutput(2, std::move(s));
  }
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpBatchNormalization{"BatchNormalization", OpKind::kElementwise, InferBatchNorm,
                                         CostBatchNorm, BatchNormReference};
extern const OpDef kOpLayerNormalization{"LayerNormalization", OpKind::kReduction, InferLayerNorm,
                                         CostNormWithStats, LayerNormReference};
extern const OpDef kOpInstanceNormalization{"InstanceNormalization", OpKind::kReduction,
                                            InferInstanceNorm, CostNormWithStats,
                                            InstanceNormReference};

}  // namespace ridge::ops
