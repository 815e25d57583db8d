// Concat, Split, Slice, Gather, GatherElements, Tile, Expand: attributes, shape inference, cost and CPU reference kernels.
// PLACEHOLDER: definitions not yet written (infer/cost/reference are nullptr).
#include "ops/op.h"

namespace ridge::ops {

extern const OpDef kOpConcat{"Concat", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpSplit{"Split", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpSlice{"Slice", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpGather{"Gather", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpGatherElements{"GatherElements", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpTile{"Tile", OpKind::kDataMovement, nullptr, nullptr, nullptr};
extern const OpDef kOpExpand{"Expand", OpKind::kDataMovement, nullptr, nullptr, nullptr};

}  // namespace ridge::ops
