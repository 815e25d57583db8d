// Softmax, LogSoftmax: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpSoftmax{"Softmax", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpLogSoftmax{"LogSoftmax", OpKind::kReduction, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
