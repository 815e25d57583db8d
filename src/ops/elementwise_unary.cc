// Unary elementwise ops and activations, plus Cast, Identity and Dropout (inference mode).
//
// Cost, FLOPs per output element (transcendentals counted as ~4, the usual cost of a
// polynomial/exp evaluation; one compare or select = 1):
//   Relu 1, LeakyRelu 2, Sigmoid 4, HardSigmoid 3, HardSwish 4, Tanh 4, Elu 4, Selu 5,
//   Softplus 4, Gelu 8, Clip 2, Exp 4, Log 4, Sqrt 2, Reciprocal 1, Neg 1, Abs 1, Erf 8,
//   Floor 1, Ceil 1, Round 1, Sign 1, Sin 4, Cos 4, Not 1.
// Cast reads and writes every element (kDataMovement, 0 FLOPs). Identity and Dropout are views
// in a real engine (Dropout is the identity at inference): kDataMovement, 0 FLOPs and 0 bytes.
//
// Reference kernels compute floating-point ops in float32 (float16/bfloat16/float64 converted
// in and rounded back). Relu, Neg, Abs, Sign and Clip also accept integer tensors; Not takes
// bool. Round rounds half to even. Cast from float to an integer truncates toward zero and
// saturates (NaN -> 0) instead of invoking undefined behaviour; Cast to bool is "nonzero".
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/op.h"
#include "ops/util_tensor.h"

namespace ridge::ops {
namespace {

std::string Name(DType d) { return std::string(DTypeName(d)); }

// ---- Inference ------------------------------------------------------------------------------
void SetSameAsInput(InferContext& ctx, size_t out, DType dtype) {
  if (const Shape* s = ctx.input_shape(0)) ctx.SetOutput(out, dtype, *s);
}

enum class Accepts { kFloat, kNumeric, kBool, kAny };

template <Accepts kAccepts>
Status InferUnary(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  DType t = ctx.input_dtype(0);
  if (t != DType::kUndefined) {
    bool ok = kAccepts == Accepts::kAny || (kAccepts == Accepts::kFloat && IsFloatLike(t)) ||
              (kAccepts == Accepts::kNumeric && (IsFloatLike(t) || IsInteger(t))) ||
              (kAccepts == Accepts::kBool && t == DType::kBool);
    if (!ok) return ctx.Error("input 0 has unsupported dtype " + Name(t));
  }
  SetSameAsInput(ctx, 0, t);
  return Status::Ok();
}

Status InferGelu(InferContext& ctx) {
  std::string a = ctx.node().GetString("approximate", "none");
  if (a != "none" && a != "tanh") {
    return ctx.Error("attribute approximate must be 'none' or 'tanh', got '" + a + "'");
  }
  return InferUnary<Accepts::kFloat>(ctx);
}

Status InferClip(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 3));
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    const Shape* s = ctx.input_shape(i);
    if (s && !(s->rank() == 0 || (s->rank() == 1 && (*s)[0].value == 1))) {
      return ctx.Error(std::string("input ") + (i == 1 ? "min" : "max") +
                       " must be a scalar, got shape " + s->ToString());
    }
  }
  DType t = ctx.input_dtype(0);
  if (t == DType::kBool || t == DType::kString) {
    return ctx.Error("input 0 has unsupported dtype " + Name(t));
  }
  SetSameAsInput(ctx, 0, t);
  return Status::Ok();
}

Status InferCast(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1));
  if (!ctx.node().HasAttr("to")) return ctx.Error("attribute 'to' is required");
  int64_t to = ctx.node().GetInt("to", 0);
  if (to > INT32_MAX || to < 0 || !IsKnownDType(static_cast<int32_t>(to)) ||
      DTypeSize(static_cast<DType>(to)) == 0) {
    return ctx.Error("attribute 'to' = " + std::to_string(to) + " is not a supported dtype");
  }
  SetSameAsInput(ctx, 0, static_cast<DType>(to));
  return Status::Ok();
}

Status InferDropout(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 3));
  float ratio = ctx.node().GetFloat("ratio", 0.5f);
  if (ratio < 0 || ratio >= 1) return ctx.Error("attribute ratio must be in [0, 1)");
  SetSameAsInput(ctx, 0, ctx.input_dtype(0));
  SetSameAsInput(ctx, 1, DType::kBool);
  return Status::Ok();
}

// ---- Cost -----------------------------------------------------------------------------------
template <int kFlops>
NodeCost CostUnary(const CostContext& ctx) {
  return ctx.ElementwiseCost(OpKind::kElementwise, kFlops);
}

NodeCost CostCast(const CostContext& ctx) { return ctx.ElementwiseCost(OpKind::kDataMovement, 0); }

NodeCost CostView(const CostContext&) {
  NodeCost c;
  c.kind = OpKind::kDataMovement;
  return c;
}

// ---- Reference: functors --------------------------------------------------------------------
// Each functor is built from the node (attributes read once) and applied per element.
// kIntegers: whether it also runs on integer tensors (in their own type).
template <typename T>
T ReluOf(T x) {
  return x < T{0} ? T{0} : x;
}

#define RIDGE_SIMPLE_FLOAT_FN(Name_, expr)             \
  struct Name_ {                                       \
    static constexpr bool kIntegers = false;           \
    explicit Name_(const ir::Node&) {}                 \
    float operator()(float x) const { return (expr); } \
  };

RIDGE_SIMPLE_FLOAT_FN(SigmoidFn, 1.0f / (1.0f + std::exp(-x)))
RIDGE_SIMPLE_FLOAT_FN(TanhFn, std::tanh(x))
RIDGE_SIMPLE_FLOAT_FN(SoftplusFn, x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)))
RIDGE_SIMPLE_FLOAT_FN(HardSwishFn, x* std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f)))
RIDGE_SIMPLE_FLOAT_FN(ExpFn, std::exp(x))
RIDGE_SIMPLE_FLOAT_FN(LogFn, std::log(x))
RIDGE_SIMPLE_FLOAT_FN(SqrtFn, std::sqrt(x))
RIDGE_SIMPLE_FLOAT_FN(ReciprocalFn, 1.0f / x)
RIDGE_SIMPLE_FLOAT_FN(ErfFn, std::erf(x))
RIDGE_SIMPLE_FLOAT_FN(FloorFn, std::floor(x))
RIDGE_SIMPLE_FLOAT_FN(CeilFn, std::ceil(x))
RIDGE_SIMPLE_FLOAT_FN(RoundFn, std::nearbyint(x))  // default FP mode: round half to even
RIDGE_SIMPLE_FLOAT_FN(SinFn, std::sin(x))
RIDGE_SIMPLE_FLOAT_FN(CosFn, std::cos(x))
#undef RIDGE_SIMPLE_FLOAT_FN

struct ReluFn {
  static constexpr bool kIntegers = true;
  explicit ReluFn(const ir::Node&) {}
  template <typename T>
  T operator()(T x) const {
    return ReluOf(x);
  }
};

struct NegFn {
  static constexpr bool kIntegers = true;
  explicit NegFn(const ir::Node&) {}
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(uint64_t{0} - static_cast<uint64_t>(x));  // wraps at INT_MIN
    } else {
      return -x;
    }
  }
};

struct AbsFn {
  static constexpr bool kIntegers = true;
  explicit AbsFn(const ir::Node&) {}
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) {
      return x;
    } else if constexpr (std::is_integral_v<T>) {
      return x < 0 ? NegFn(ir::Node{})(x) : x;
    } else {
      return std::fabs(x);
    }
  }
};

struct SignFn {
  static constexpr bool kIntegers = true;
  explicit SignFn(const ir::Node&) {}
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(x)) return x;
    }
    return x > T{0} ? T{1} : (x < T{0} ? static_cast<T>(-1) : T{0});
  }
};

struct LeakyReluFn {
  static constexpr bool kIntegers = false;
  float alpha;
  explicit LeakyReluFn(const ir::Node& n) : alpha(n.GetFloat("alpha", 0.01f)) {}
  float operator()(float x) const { return x < 0 ? alpha * x : x; }
};

struct HardSigmoidFn {
  static constexpr bool kIntegers = false;
  float alpha, beta;
  explicit HardSigmoidFn(const ir::Node& n)
      : alpha(n.GetFloat("alpha", 0.2f)), beta(n.GetFloat("beta", 0.5f)) {}
  float operator()(float x) const { return std::max(0.0f, std::min(1.0f, alpha * x + beta)); }
};

struct EluFn {
  static constexpr bool kIntegers = false;
  float alpha;
  explicit EluFn(const ir::Node& n) : alpha(n.GetFloat("alpha", 1.0f)) {}
  float operator()(float x) const { return x < 0 ? alpha * (std::exp(x) - 1.0f) : x; }
};

struct SeluFn {
  static constexpr bool kIntegers = false;
  float alpha, gamma;
  // Defaults from the ONNX Selu specification.
  explicit SeluFn(const ir::Node& n)
      : alpha(n.GetFloat("alpha", 1.67326319217681884765625f)),
        gamma(n.GetFloat("gamma", 1.05070102214813232421875f)) {}
  float operator()(float x) const {
    return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha);
  }
};

struct GeluFn {
  static constexpr bool kIntegers = false;
  bool tanh_approx;
  explicit GeluFn(const ir::Node& n) : tanh_approx(n.GetString("approximate", "none") == "tanh") {}
  float operator()(float x) const {
    if (tanh_approx) {
      constexpr float kSqrt2OverPi = 0.7978845608028654f;
      return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
    return 0.5f * x * (1.0f + std::erf(x / std::sqrt(2.0f)));
  }
};

// Applies Fn elementwise. Floating tensors go through float32; integers stay in their type.
template <typename Fn>
Status RefUnary(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  if (!ctx.has_input(0)) return ctx.Error("input 0 is missing");
  const Tensor& in = ctx.input(0);
  Fn fn(ctx.node());
  if (IsFloatLike(in.dtype())) {
    RIDGE_ASSIGN_OR_RETURN(Tensor f, ToFloat32(in));
    RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(DType::kFloat32, in.dims()));
    const float* pi = f.data<float>();
    float* po = out.data<float>();
    for (int64_t i = 0; i < out.num_elements(); ++i) po[i] = fn(pi[i]);
    RIDGE_ASSIGN_OR_RETURN(Tensor back, FromFloat32(out, in.dtype()));
    ctx.SetOutput(0, std::move(back));
    return Status::Ok();
  }
  if constexpr (Fn::kIntegers) {
    if (IsInteger(in.dtype())) {
      RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(in.dtype(), in.dims()));
      RIDGE_RETURN_IF_ERROR(VisitDType(in.dtype(), [&](auto tag) -> Status {
        using T = decltype(tag);
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          const T* pi = in.data<T>();
          T* po = out.data<T>();
          for (int64_t i = 0; i < out.num_elements(); ++i) po[i] = fn(pi[i]);
        }
        return Status::Ok();
      }));
      ctx.SetOutput(0, std::move(out));
      return Status::Ok();
    }
  }
  return ctx.Error("unsupported input dtype " + Name(in.dtype()));
}

Status RefNot(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  if (in.dtype() != DType::kBool) return ctx.Error("Not needs a bool input");
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(DType::kBool, in.dims()));
  for (int64_t i = 0; i < in.num_elements(); ++i) {
    out.data<uint8_t>()[i] = in.data<uint8_t>()[i] ? 0 : 1;
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// Clip bounds come from inputs 1/2 (opset >= 11) or attributes min/max (opset < 11).
Status RefClip(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  if (ctx.node().HasAttr("min")) lo = ctx.node().GetFloat("min", 0);
  if (ctx.node().HasAttr("max")) hi = ctx.node().GetFloat("max", 0);
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    const Tensor& b = ctx.input(i);
    if (b.num_elements() != 1) return ctx.Error("min/max inputs must be scalars");
    if (b.dtype() != in.dtype()) return ctx.Error("min/max must have the input's dtype");
    (i == 1 ? lo : hi) = b.GetAsDouble(0);
  }
  if (IsFloatLike(in.dtype())) {
    RIDGE_ASSIGN_OR_RETURN(Tensor f, ToFloat32(in));
    RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(DType::kFloat32, in.dims()));
    for (int64_t i = 0; i < in.num_elements(); ++i) {
      float x = f.data<float>()[i];
      // min(max(x, lo), hi): when lo > hi every value becomes hi (ONNX rule); NaN passes.
      if (x < lo) x = static_cast<float>(lo);
      if (x > hi) x = static_cast<float>(hi);
      out.data<float>()[i] = x;
    }
    RIDGE_ASSIGN_OR_RETURN(Tensor back, FromFloat32(out, in.dtype()));
    ctx.SetOutput(0, std::move(back));
    return Status::Ok();
  }
  if (!IsInteger(in.dtype())) return ctx.Error("unsupported input dtype " + Name(in.dtype()));
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(in.dtype(), in.dims()));
  RIDGE_RETURN_IF_ERROR(VisitDType(in.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Integer bounds compared in the type itself (no rounding through double for int64).
      T tlo = std::numeric_limits<T>::lowest(), thi = std::numeric_limits<T>::max();
      if (ctx.has_input(1)) tlo = ctx.input(1).data<T>()[0];
      if (ctx.has_input(2)) thi = ctx.input(2).data<T>()[0];
      for (int64_t i = 0; i < in.num_elements(); ++i) {
        T x = in.data<T>()[i];
        if (x < tlo) x = tlo;
        if (x > thi) x = thi;
        out.data<T>()[i] = x;
      }
    }
    return Status::Ok();
  }));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

template <typename T>
T CastFromDouble(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    // Truncate toward zero, saturating out-of-range values; NaN -> 0.
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) {
      return std::numeric_limits<T>::lowest();
    }
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) {
      return std::numeric_limits<T>::max();
    }
    return static_cast<T>(v);
  }
}

Status RefCast(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  auto to = static_cast<DType>(ctx.node().GetInt("to", 0));
  if (DTypeSize(in.dtype()) == 0) return ctx.Error("cannot cast from " + Name(in.dtype()));
  if (to == DType::kFloat16 || to == DType::kBFloat16) {
    RIDGE_ASSIGN_OR_RETURN(Tensor f, NewTensor(DType::kFloat32, in.dims()));
    for (int64_t i = 0; i < in.num_elements(); ++i) {
      f.data<float>()[i] = static_cast<float>(in.GetAsDouble(i));
    }
    RIDGE_ASSIGN_OR_RETURN(Tensor out, FromFloat32(f, to));
    ctx.SetOutput(0, std::move(out));
    return Status::Ok();
  }
  if (DTypeSize(to) == 0) return ctx.Error("cannot cast to " + Name(to));
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(to, in.dims()));
  bool from_int = IsInteger(in.dtype()) || in.dtype() == DType::kBool;
  bool from_u64 = in.dtype() == DType::kUInt64;
  RIDGE_RETURN_IF_ERROR(VisitDType(to, [&](auto tag) -> Status {
    using T = decltype(tag);
    T* po = out.data<T>();
    for (int64_t i = 0; i < in.num_elements(); ++i) {
      if (from_u64) {
        uint64_t v = in.data<uint64_t>()[i];
        if constexpr (std::is_same_v<T, bool>) {
          po[i] = v != 0;
        } else {
          po[i] = static_cast<T>(v);  // integers: modular; floats: nearest
        }
      } else if (from_int) {
        int64_t v = in.GetAsInt64(i);
        if constexpr (std::is_same_v<T, bool>) {
          po[i] = v != 0;
        } else {
          po[i] = static_cast<T>(v);  // integers: modular (two's complement), like numpy
        }
      } else {
        po[i] = CastFromDouble<T>(in.GetAsDouble(i));
      }
    }
    return Status::Ok();
  }));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status RefIdentity(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  if (!ctx.has_input(0)) return ctx.Error("input 0 is missing");
  ctx.SetOutput(0, ctx.input(0));
  return Status::Ok();
}

Status RefDropout(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  RIDGE_RETURN_IF_ERROR(RefIdentity(ctx));
  if (ctx.num_outputs() > 1) {
    RIDGE_ASSIGN_OR_RETURN(Tensor mask, NewTensor(DType::kBool, ctx.input(0).dims()));
    std::memset(mask.raw_data(), 1, mask.size_bytes());
    ctx.SetOutput(1, std::move(mask));
  }
  return Status::Ok();
}

constexpr auto kFloatIn = &InferUnary<Accepts::kFloat>;
constexpr auto kNumericIn = &InferUnary<Accepts::kNumeric>;

}  // namespace

#define RIDGE_UNARY(Op, infer, flops, Fn) \
  extern const OpDef kOp##Op{#Op, OpKind::kElementwise, infer, CostUnary<flops>, RefUnary<Fn>};
RIDGE_UNARY(Relu, kNumericIn, 1, ReluFn)
RIDGE_UNARY(LeakyRelu, kFloatIn, 2, LeakyReluFn)
RIDGE_UNARY(Sigmoid, kFloatIn, 4, SigmoidFn)
RIDGE_UNARY(HardSigmoid, kFloatIn, 3, HardSigmoidFn)
RIDGE_UNARY(HardSwish, kFloatIn, 4, HardSwishFn)
RIDGE_UNARY(Tanh, kFloatIn, 4, TanhFn)
RIDGE_UNARY(Elu, kFloatIn, 4, EluFn)
RIDGE_UNARY(Selu, kFloatIn, 5, SeluFn)
RIDGE_UNARY(Softplus, kFloatIn, 4, SoftplusFn)
RIDGE_UNARY(Gelu, InferGelu, 8, GeluFn)
RIDGE_UNARY(Exp, kFloatIn, 4, ExpFn)
RIDGE_UNARY(Log, kFloatIn, 4, LogFn)
RIDGE_UNARY(Sqrt, kFloatIn, 2, SqrtFn)
RIDGE_UNARY(Reciprocal, kFloatIn, 1, ReciprocalFn)
RIDGE_UNARY(Neg, kNumericIn, 1, NegFn)
RIDGE_UNARY(Abs, kNumericIn, 1, AbsFn)
RIDGE_UNARY(Erf, kFloatIn, 8, ErfFn)
RIDGE_UNARY(Floor, kFloatIn, 1, FloorFn)
RIDGE_UNARY(Ceil, kFloatIn, 1, CeilFn)
RIDGE_UNARY(Round, kFloatIn, 1, RoundFn)
RIDGE_UNARY(Sign, kNumericIn, 1, SignFn)
RIDGE_UNARY(Sin, kFloatIn, 4, SinFn)
RIDGE_UNARY(Cos, kFloatIn, 4, CosFn)
#undef RIDGE_UNARY

extern const OpDef kOpClip{"Clip", OpKind::kElementwise, InferClip, CostUnary<2>, RefClip};
extern const OpDef kOpNot{"Not", OpKind::kElementwise, InferUnary<Accepts::kBool>, CostUnary<1>,
                          RefNot};
extern const OpDef kOpCast{"Cast", OpKind::kDataMovement, InferCast, CostCast, RefCast};
extern const OpDef kOpIdentity{"Identity", OpKind::kDataMovement, InferUnary<Accepts::kAny>,
                               CostView, RefIdentity};
extern const OpDef kOpDropout{"Dropout", OpKind::kDataMovement, InferDropout, CostView, RefDropout};

}  // namespace ridge::ops
