// Gemm, MatMul: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpGemm{"Gemm", OpKind::kCompute, nullptr, nullptr, nullptr};
extern const OpDef kOpMatMul{"MatMul", OpKind::kCompute, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
