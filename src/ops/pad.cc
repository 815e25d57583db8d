// Pad: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpPad{"Pad", OpKind::kDataMovement, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
