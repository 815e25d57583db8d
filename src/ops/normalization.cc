// BatchNormalization, LayerNormalization, InstanceNormalization: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpBatchNormalization{"BatchNormalization", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpLayerNormalization{"LayerNormalization", OpKind::kElementwise, nullptr, nullptr, nullptr};
extern const OpDef kOpInstanceNormalization{"InstanceNormalization", OpKind::kElementwise, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
