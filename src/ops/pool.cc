// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpMaxPool{"MaxPool", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpAveragePool{"AveragePool", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpGlobalAveragePool{"GlobalAveragePool", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpGlobalMaxPool{"GlobalMaxPool", OpKind::kReduction, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
