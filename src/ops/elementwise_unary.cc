// Relu, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, Elu, Selu, Softplus, Gelu, Clip, Exp, Log, Sqrt, Reciprocal, Neg, Abs, Erf, Floor, Ceil, Round, Sign, Sin, Cos, Not, Cast, Identity, Dropout: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpRelu{"Relu", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpLeakyRelu{"LeakyRelu", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSigmoid{"Sigmoid", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpHardSigmoid{"HardSigmoid", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpHardSwish{"HardSwish", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpTanh{"Tanh", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpElu{"Elu", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSelu{"Selu", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSoftplus{"Softplus", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpGelu{"Gelu", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpClip{"Clip", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpExp{"Exp", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpLog{"Log", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSqrt{"Sqrt", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpReciprocal{"Reciprocal", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpNeg{"Neg", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpAbs{"Abs", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpErf{"Erf", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpFloor{"Floor", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpCeil{"Ceil", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpRound{"Round", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSign{"Sign", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpSin{"Sin", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpCos{"Cos", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpNot{"Not", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpCast{"Cast", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpIdentity{"Identity", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpDropout{"Dropout", OpKind::kElementwise, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
