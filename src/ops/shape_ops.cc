// Shape, Size, Constant, ConstantOfShape, Range: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpShape{"Shape", OpKind::kShape, nullptr, nullptr, nullptr};
extern const OpDef kOpSize{"Size", OpKind::kShape, nullptr, nullptr, nullptr};
extern const OpDef kOpConstant{"Constant", OpKind::kShape, nullptr, nullptr, nullptr};
extern const OpDef kOpConstantOfShape{"ConstantOfShape", OpKind::kShape, nullptr, nullptr, nullptr};
extern const OpDef kOpRange{"Range", OpKind::kShape, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
