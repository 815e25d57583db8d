// Reshape, Flatten, Squeeze, Unsqueeze, Transpose, DepthToSpace, SpaceToDepth: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpReshape{"Reshape", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpFlatten{"Flatten", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpSqueeze{"Squeeze", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpUnsqueeze{"Unsqueeze", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpTranspose{"Transpose", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpDepthToSpace{"DepthToSpace", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpSpaceToDepth{"SpaceToDepth", OpKind::kDataMovement, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
