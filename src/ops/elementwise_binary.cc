// Binary and variadic elementwise ops with numpy multidirectional broadcasting:
// Add Sub Mul Div Pow Max Min Sum Mean Mod PRelu, comparisons Equal Less LessOrEqual Greater
// GreaterOrEqual (-> bool), logic And Or Xor (bool only) and Where (3-way broadcast).
//
// Cost (FLOPs per output element; bytes come from CostContext::ElementwiseCost):
//   Add Sub Mul Div Max Min, comparisons, logic, Where (select): 1
//   Sum with n inputs: n-1 adds; Mean: n-1 adds + 1 divide = n
//   Mod: 2 (divide + multiply-subtract counted as one)   PRelu: 2 (compare + multiply)
//   Pow: 8 (exp(b * log(a)): log and exp counted as ~4 each, like Sigmoid/Exp in the unary file)
// An Add of two non-constant inputs of the same known shape is a residual (shortcut) add: pure
// memory traffic, reported as kShortcutAdd so the analyzer can count it apart.
//
// Reference kernels: float32/float64 and every integer type natively; float16/bfloat16 are
// computed in float32 and rounded back. Integer arithmetic wraps (two's complement) instead of
// invoking undefined behaviour; integer Div truncates toward zero like C; integer division or
// Mod by zero is an error, not a crash. Mod with fmod=0 takes the sign of the divisor (Python),
// fmod=1 the sign of the dividend (C fmod); floating-point Mod requires fmod=1 (ONNX rule).
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/op.h"
#include "ops/util_tensor.h"

namespace ridge::ops {
namespace {

enum class Bin {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kPow,
  kMax,
  kMin,
  kMod,
  kPRelu,
  kEqual,
  kLess,
  kLessEq,
  kGreater,
  kGreaterEq,
  kAnd,
  kOr,
  kXor
};

enum class TypeRule { kArith, kPow, kCompare, kLogic };

std::string Name(DType d) { return std::string(DTypeName(d)); }

// ---- Inference ------------------------------------------------------------------------------
Status CheckTypes(InferContext& ctx, TypeRule rule, size_t first, size_t count, DType* out) {
  DType t0 = ctx.input_dtype(first);
  for (size_t i = first; i < first + count; ++i) {
    DType t = ctx.input_dtype(i);
    if (t == DType::kString) return ctx.Error("input " + std::to_string(i) + " is a string");
    if (rule == TypeRule::kLogic && t != DType::kBool && t != DType::kUndefined) {
      return ctx.Error("input " + std::to_string(i) + " must be bool, got " + Name(t));
    }
    if ((rule == TypeRule::kArith || (rule == TypeRule::kPow && i == first)) && t == DType::kBool) {
      return ctx.Error("input " + std::to_string(i) + " must be numeric, got bool");
    }
    if (rule != TypeRule::kPow && t != t0 && t != DType::kUndefined && t0 != DType::kUndefined) {
      return ctx.Error("inputs must share one dtype, got " + Name(t0) + " and " + Name(t));
    }
  }
  *out = (rule == TypeRule::kCompare || rule == TypeRule::kLogic) ? DType::kBool : t0;
  return Status::Ok();
}

Status InferBroadcast(InferContext& ctx, size_t first, DType out_dtype) {
  std::vector<Shape> shapes;
  for (size_t i = first; i < ctx.num_inputs(); ++i) {
    const Shape* s = ctx.input_shape(i);
    if (s == nullptr) return Status::Ok();  // rank unknown: leave the output unknown
    shapes.push_back(*s);
  }
  auto out = BroadcastShapes(shapes);
  if (!out.ok()) return ctx.Error(out.status().message());
  ctx.SetOutput(0, out_dtype, std::move(*out));
  return Status::Ok();
}

template <TypeRule rule, size_t kMin, size_t kMax>
Status InferNary(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(kMin, kMax));
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
  }
  DType out;
  RIDGE_RETURN_IF_ERROR(CheckTypes(ctx, rule, 0, ctx.num_inputs(), &out));
  return InferBroadcast(ctx, 0, out);
}

Status InferMod(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR((InferNary<TypeRule::kArith, 2, 2>(ctx)));
  int64_t fmod = ctx.node().GetInt("fmod", 0);
  if (fmod != 0 && fmod != 1) return ctx.Error("attribute fmod must be 0 or 1");
  if (IsFloatLike(ctx.input_dtype(0)) && fmod != 1) {
    return ctx.Error("attribute fmod must be 1 for floating-point inputs");
  }
  return Status::Ok();
}

Status InferWhere(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(3, 3));
  DType c = ctx.input_dtype(0);
  if (c != DType::kBool && c != DType::kUndefined) {
    return ctx.Error("input 0 (condition) must be bool, got " + Name(c));
  }
  DType out;
  RIDGE_RETURN_IF_ERROR(CheckTypes(ctx, TypeRule::kCompare, 1, 2, &out));
  return InferBroadcast(ctx, 0, ctx.input_dtype(1));
}

// ---- Cost -----------------------------------------------------------------------------------
template <int kFlops>
NodeCost CostFixed(const CostContext& ctx) {
  return ctx.ElementwiseCost(OpKind::kElementwise, kFlops);
}

NodeCost CostAdd(const CostContext& ctx) {
  bool residual = ctx.num_inputs() == 2 && ctx.has_input(0) && ctx.has_input(1) &&
                  !ctx.input_is_constant(0) && !ctx.input_is_constant(1) &&
                  !ctx.input_dims(0).empty() && ctx.input_dims(0) == ctx.input_dims(1);
  return ctx.ElementwiseCost(residual ? OpKind::kShortcutAdd : OpKind::kElementwise, 1);
}

NodeCost CostSum(const CostContext& ctx) {
  double n = static_cast<double>(ctx.num_inputs());
  return ctx.ElementwiseCost(OpKind::kElementwise, n > 1 ? n - 1 : 0);
}

NodeCost CostMean(const CostContext& ctx) {
  return ctx.ElementwiseCost(OpKind::kElementwise, static_cast<double>(ctx.num_inputs()));
}

// ---- Reference ------------------------------------------------------------------------------
template <typename T>
T SaturateFromDouble(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
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

// One arithmetic step on T. Integers wrap modulo 2^bits; zero divisors are rejected earlier.
template <typename T>
T Arith(Bin op, T a, T b, bool fmod) {
  if constexpr (std::is_integral_v<T>) {
    using U = uint64_t;
    switch (op) {
      case Bin::kAdd:
        return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
      case Bin::kSub:
        return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
      case Bin::kMul:
        return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
      case Bin::kDiv:
        if constexpr (std::is_signed_v<T>) {
          if (b == T(-1)) return static_cast<T>(U{0} - static_cast<U>(a));
        }
        return static_cast<T>(a / b);
      case Bin::kMod: {
        if constexpr (std::is_signed_v<T>) {
          if (b == T(-1)) return T{0};
          T r = static_cast<T>(a % b);
          if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
          return r;
        } else {
          return static_cast<T>(a % b);
        }
      }
      case Bin::kMax:
        return a < b ? b : a;
      case Bin::kMin:
        return b < a ? b : a;
      case Bin::kPRelu: {
        if constexpr (std::is_signed_v<T>) {
          return a < 0 ? static_cast<T>(static_cast<U>(a) * static_cast<U>(b)) : a;
        } else {
          return a;
        }
      }
      default:
        return T{0};
    }
  } else {
    switch (op) {
      case Bin::kAdd:
        return a + b;
      case Bin::kSub:
        return a - b;
      case Bin::kMul:
        return a * b;
      case Bin::kDiv:
        return a / b;
      case Bin::kMod:
        return std::fmod(a, b);
      case Bin::kMax:
        return (std::isnan(a) || std::isnan(b)) ? a + b : (a < b ? b : a);
      case Bin::kMin:
        return (std::isnan(a) || std::isnan(b)) ? a + b : (b < a ? b : a);
      case Bin::kPRelu:
        return a < 0 ? a * b : a;
      default:
        return T{0};
    }
  }
}

template <typename T>
bool Compare(Bin op, T a, T b) {
  switch (op) {
    case Bin::kEqual:
      return a == b;
    case Bin::kLess:
      return a < b;
    case Bin::kLessEq:
      return a <= b;
    case Bin::kGreater:
      return a > b;
    case Bin::kGreaterEq:
      return a >= b;
    case Bin::kAnd:
      return a && b;
    case Bin::kOr:
      return a || b;
    case Bin::kXor:
      return static_cast<bool>(a) != static_cast<bool>(b);
    default:
      return false;
  }
}

bool IsCompare(Bin op) { return op >= Bin::kEqual; }

bool IsHalfLike(DType d) { return d == DType::kFloat16 || d == DType::kBFloat16; }

// out = a (op) b with broadcasting. Half-precision inputs are computed in float32.
Result<Tensor> BinaryKernel(const KernelContext& ctx, Bin op, const Tensor& a_in,
                            const Tensor& b_in) {
  DType dtype = a_in.dtype();
  if (op != Bin::kPow && b_in.dtype() != dtype) {
    return ctx.Error("inputs have different dtypes " + Name(dtype) + " and " + Name(b_in.dtype()));
  }
  if (IsHalfLike(dtype)) {
    RIDGE_ASSIGN_OR_RETURN(Tensor a, ToFloat32(a_in));
    Tensor b = b_in;
    if (IsHalfLike(b_in.dtype())) {
      RIDGE_ASSIGN_OR_RETURN(b, ToFloat32(b_in));
    }
    RIDGE_ASSIGN_OR_RETURN(Tensor r, BinaryKernel(ctx, op, a, b));
    return IsCompare(op) ? r : FromFloat32(r, dtype);
  }
  auto dims = BroadcastInts(a_in.dims(), b_in.dims());
  if (!dims.ok()) return ctx.Error(dims.status().message());
  DType out_dtype = IsCompare(op) ? DType::kBool : dtype;
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(out_dtype, *dims));
  BroadcastIterator it(*dims, {a_in.dims(), b_in.dims()});
  bool fmod = ctx.node().GetInt("fmod", 0) != 0;

  if (op == Bin::kPow) {
    // The exponent may have its own dtype: read it as double.
    Status st = VisitDType(dtype, [&](auto tag) -> Status {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        return ctx.Error("Pow does not accept bool");
      } else {
        const T* pa = a_in.data<T>();
        T* po = out.data<T>();
        it.ForEach([&](int64_t i, const int64_t* off) {
          double r = std::pow(static_cast<double>(pa[off[0]]), b_in.GetAsDouble(off[1]));
          po[i] = SaturateFromDouble<T>(r);
        });
        return Status::Ok();
      }
    });
    RIDGE_RETURN_IF_ERROR(st);
    return out;
  }

  Status st = VisitDType(dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* pa = a_in.data<T>();
    const T* pb = b_in.data<T>();
    if (IsCompare(op)) {
      if ((op == Bin::kAnd || op == Bin::kOr || op == Bin::kXor) && dtype != DType::kBool) {
        return ctx.Error("logical ops need bool inputs, got " + Name(dtype));
      }
      bool* po = out.data<bool>();
      it.ForEach(
          [&](int64_t i, const int64_t* off) { po[i] = Compare(op, pa[off[0]], pb[off[1]]); });
      return Status::Ok();
    }
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.Error("arithmetic on bool tensors is not defined");
    } else {
      if constexpr (std::is_integral_v<T>) {
        if (op == Bin::kDiv || op == Bin::kMod) {
          for (int64_t i = 0; i < b_in.num_elements(); ++i) {
            if (pb[i] == 0) return ctx.Error("integer division by zero");
          }
        }
      } else {
        if (op == Bin::kMod && !fmod) {
          return ctx.Error("Mod on floating-point inputs requires fmod=1");
        }
      }
      T* po = out.data<T>();
      it.ForEach([&](int64_t i, const int64_t* off) {
        po[i] = Arith<T>(op, pa[off[0]], pb[off[1]], fmod);
      });
      return Status::Ok();
    }
  });
  RIDGE_RETURN_IF_ERROR(st);
  return out;
}

template <Bin op>
Status RefBinary(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.Error("expects 2 inputs");
  RIDGE_ASSIGN_OR_RETURN(Tensor out, BinaryKernel(ctx, op, ctx.input(0), ctx.input(1)));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// Variadic Max/Min/Sum: fold inputs pairwise (broadcasting is associative).
template <Bin op>
Status RefVariadic(KernelContext& ctx) {
  if (ctx.num_inputs() == 0 || !ctx.has_input(0)) return ctx.Error("expects at least 1 input");
  Tensor acc = ctx.input(0);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
    RIDGE_ASSIGN_OR_RETURN(acc, BinaryKernel(ctx, op, acc, ctx.input(i)));
  }
  ctx.SetOutput(0, acc.Clone());
  return Status::Ok();
}

Status RefMean(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RefVariadic<Bin::kAdd>(ctx));
  Tensor sum = ctx.output(0);
  if (!IsFloatLike(sum.dtype())) return ctx.Error("Mean needs floating-point inputs");
  RIDGE_ASSIGN_OR_RETURN(Tensor f, ToFloat32(sum));
  f = f.Clone();
  float n = static_cast<float>(ctx.num_inputs());
  for (float& v : f.span<float>()) v /= n;
  RIDGE_ASSIGN_OR_RETURN(Tensor out, FromFloat32(f, sum.dtype()));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status RefWhere(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 3));
  if (ctx.num_inputs() != 3) return ctx.Error("expects 3 inputs");
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (c.dtype() != DType::kBool) return ctx.Error("condition must be bool");
  if (x.dtype() != y.dtype()) return ctx.Error("X and Y must share one dtype");
  size_t esize = DTypeSize(x.dtype());
  if (esize == 0) return ctx.Error("unsupported dtype " + Name(x.dtype()));
  std::vector<Shape> shapes = {Shape::FromInts(c.dims()), Shape::FromInts(x.dims()),
                               Shape::FromInts(y.dims())};
  auto shape = BroadcastShapes(shapes);
  if (!shape.ok()) return ctx.Error(shape.status().message());
  std::vector<int64_t> dims = *shape->ToInts();
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(x.dtype(), dims));
  BroadcastIterator it(dims, {c.dims(), x.dims(), y.dims()});
  const bool* pc = c.data<bool>();
  it.ForEach([&](int64_t i, const int64_t* off) {
    const std::byte* src =
        pc[off[0]] ? x.raw_data() + off[1] * esize : y.raw_data() + off[2] * esize;
    std::memcpy(out.raw_data() + i * esize, src, esize);
  });
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

constexpr auto kArith2 = &InferNary<TypeRule::kArith, 2, 2>;
constexpr auto kArithN = &InferNary<TypeRule::kArith, 1, 1024>;
constexpr auto kCompare2 = &InferNary<TypeRule::kCompare, 2, 2>;
constexpr auto kLogic2 = &InferNary<TypeRule::kLogic, 2, 2>;

}  // namespace

extern const OpDef kOpAdd{"Add", OpKind::kElementwise, kArith2, CostAdd, RefBinary<Bin::kAdd>};
extern const OpDef kOpSub{"Sub", OpKind::kElementwise, kArith2, CostFixed<1>, RefBinary<Bin::kSub>};
extern const OpDef kOpMul{"Mul", OpKind::kElementwise, kArith2, CostFixed<1>, RefBinary<Bin::kMul>};
extern const OpDef kOpDiv{"Div", OpKind::kElementwise, kArith2, CostFixed<1>, RefBinary<Bin::kDiv>};
extern const OpDef kOpPow{"Pow", OpKind::kElementwise, InferNary<TypeRule::kPow, 2, 2>,
                          CostFixed<8>, RefBinary<Bin::kPow>};
extern const OpDef kOpMax{"Max", OpKind::kElementwise, kArithN, CostSum, RefVariadic<Bin::kMax>};
extern const OpDef kOpMin{"Min", OpKind::kElementwise, kArithN, CostSum, RefVariadic<Bin::kMin>};
extern const OpDef kOpSum{"Sum", OpKind::kElementwise, kArithN, CostSum, RefVariadic<Bin::kAdd>};
extern const OpDef kOpMean{"Mean", OpKind::kElementwise, kArithN, CostMean, RefMean};
extern const OpDef kOpMod{"Mod", OpKind::kElementwise, InferMod, CostFixed<2>,
                          RefBinary<Bin::kMod>};
extern const OpDef kOpPRelu{"PRelu", OpKind::kElementwise, kArith2, CostFixed<2>,
                            RefBinary<Bin::kPRelu>};
extern const OpDef kOpEqual{"Equal", OpKind::kElementwise, kCompare2, CostFixed<1>,
                            RefBinary<Bin::kEqual>};
extern const OpDef kOpLess{"Less", OpKind::kElementwise, kCompare2, CostFixed<1>,
                           RefBinary<Bin::kLess>};
extern const OpDef kOpLessOrEqual{"LessOrEqual", OpKind::kElementwise, kCompare2, CostFixed<1>,
                                  RefBinary<Bin::kLessEq>};
extern const OpDef kOpGreater{"Greater", OpKind::kElementwise, kCompare2, CostFixed<1>,
                              RefBinary<Bin::kGreater>};
extern const OpDef kOpGreaterOrEqual{"GreaterOrEqual", OpKind::kElementwise, kCompare2,
                                     CostFixed<1>, RefBinary<Bin::kGreaterEq>};
extern const OpDef kOpAnd{"And", OpKind::kElementwise, kLogic2, CostFixed<1>, RefBinary<Bin::kAnd>};
extern const OpDef kOpOr{"Or", OpKind::kElementwise, kLogic2, CostFixed<1>, RefBinary<Bin::kOr>};
extern const OpDef kOpXor{"Xor", OpKind::kElementwise, kLogic2, CostFixed<1>, RefBinary<Bin::kXor>};
extern const OpDef kOpWhere{"Where", OpKind::kElementwise, InferWhere, CostFixed<1>, RefWhere};

}  // namespace ridge::ops
