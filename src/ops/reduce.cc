// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL2, ReduceSumSquare, ArgMax, ArgMin: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpReduceMean{"ReduceMean", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpReduceSum{"ReduceSum", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpReduceMax{"ReduceMax", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpReduceMin{"ReduceMin", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpReduceProd{"ReduceProd", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpReduceL2{"ReduceL2", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpReduceSumSquare{"ReduceSumSquare", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpArgMax{"ArgMax", OpKind::kReduction, nullptr, nullptr, nullptr};
extern const OpDef kOpArgMin{"ArgMin", OpKind::kReduction, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
