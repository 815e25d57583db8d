// Conv, ConvTranspose: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpConv{"Conv", OpKind::kCompute, nullptr, nullptr, nullptr};
extern const OpDef kOpConvTranspose{"ConvTranspose", OpKind::kCompute, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
