// Resize: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpResize{"Resize", OpKind::kDataMovement, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
