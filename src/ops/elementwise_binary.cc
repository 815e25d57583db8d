// Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Mod, PRelu, Equal, Less, LessOrEqual, Greater, GreaterOrEqual, And, Or, Xor, Where: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpAdd{"Add", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSub{"Sub", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpMul{"Mul", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpDiv{"Div", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpPow{"Pow", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpMax{"Max", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpMin{"Min", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSum{"Sum", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpMean{"Mean", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpMod{"Mod", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpPRelu{"PRelu", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpEqual{"Equal", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpLess{"Less", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpLessOrEqual{"LessOrEqual", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpGreater{"Greater", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpGreaterOrEqual{"GreaterOrEqual", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpAnd{"And", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpOr{"Or", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpXor{"Xor", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpWhere{"Where", OpKind::kElementwise, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
