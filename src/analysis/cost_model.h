// Per-node cost of a shape-inferred graph at one precision: FLOPs, bytes, intensity and kind,
// taken from each op's own cost function (src/ops/<op>.cc). Nothing here knows op formulas.
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "ir/graph.h"
#include "ops/op.h"

namespace ridge::analysis {

struct NodeRecord {
  ir::NodeId node_id = ir::kNoNode;
  std::string name;  // node name, or "#<id>" when the model left it empty
  std::string op_type;
  ops::NodeCost cost;         // zero when cost_missing or folded
  bool cost_missing = false;  // the op has no cost function yet: counted as zero, listed
  bool folded = false;        // every output is a constant: done at build time, no runtime work

  double intensity_flops_per_byte() const {
    return cost.total_bytes() > 0 ? cost.flops / cost.total_bytes() : 0;
  }
};

struct CostTotals {
  double flops = 0;
  double macs = 0;  // multiply-adds of compute ops (conv, gemm, matmul), GEMM view M*N*K
  double bytes_read = 0, weight_bytes = 0, bytes_written = 0;
  double params = 0;  // elements of the initializers the graph uses
  double total_bytes() const { return bytes_read + weight_bytes + bytes_written; }
};

struct CostReport {
  Precision precision = Precision::kFp32;
  std::vector<NodeRecord> nodes;  // graph order (topological)
  CostTotals totals;
  std::vector<std::string> missing_cost_ops;  // distinct op types counted as zero
};

// Bytes of one element of `dtype` at `precision` (floating tensors take the precision's size),
// the same rule as ops::CostContext.
double ElementBytesAt(DType dtype, Precision precision);
// Bytes of value `id` at `precision`; 0 when its shape is unknown.
double ValueBytesAt(const ir::Graph& graph, ir::ValueId id, Precision precision);

// The graph must be shape-inferred (ops::InferShapes). Fails only on an unknown op.
Result<CostReport> ComputeCosts(const ir::Graph& graph, Precision precision);

}  // namespace ridge::analysis
