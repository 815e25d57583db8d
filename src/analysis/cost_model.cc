#include "analysis/cost_model.h"

#include <algorithm>
#include <set>

namespace ridge::analysis {

double ElementBytesAt(DType dtype, Precision precision) {
  if (IsFloatingPoint(dtype) || dtype == DType::kUndefined) {
    return static_cast<double>(PrecisionBytes(precision));
  }
  size_t size = DTypeSize(dtype);
  return size ? static_cast<double>(size) : static_cast<double>(PrecisionBytes(precision));
}

double ValueBytesAt(const ir::Graph& graph, ir::ValueId id, Precision precision) {
  if (id == ir::kNoValue) return 0;
  const ir::Value& v = graph.value(id);
  if (!v.shape) return 0;
  auto n = v.shape->NumElements();
  return n ? static_cast<double>(*n) * ElementBytesAt(v.dtype, precision) : 0;
}

// Multiply-adds of a compute op from its GEMM view (M x N x K per group): FLOPs / 2 would
// also count bias adds, which MAC counters (and published figures) leave out.
static double MultiplyAdds(const ir::Node& node, const ops::NodeCost& cost) {
  if (cost.gemm_m <= 0 || cost.gemm_n <= 0 || cost.gemm_k <= 0) return cost.flops / 2;
  double groups = 1;
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose") {
    groups = static_cast<double>(std::max<int64_t>(1, node.GetInt("group", 1)));
  }
  return static_cast<double>(cost.gemm_m) * static_cast<double>(cost.gemm_n) *
         static_cast<double>(cost.gemm_k) * groups;
}

Result<CostReport> ComputeCosts(const ir::Graph& graph, Precision precision) {
  CostReport report;
  report.precision = precision;
  std::set<std::string> missing;
  for (size_t i = 0; i < graph.num_nodes(); ++i) {
    auto id = static_cast<ir::NodeId>(i);
    const ir::Node& node = graph.node(id);
    const ops::OpDef* def = ops::FindOp(node.domain, node.op_type);
    if (def == nullptr) {
      return Unsupported(node.Describe(id) + ": op is unknown to Ridgeline's cost model");
    }
    NodeRecord rec;
    rec.node_id = id;
    rec.name = node.name.empty() ? "#" + std::to_string(id) : node.name;
    rec.op_type = node.op_type;
    rec.cost.kind = def->kind;
    rec.folded = !node.outputs.empty();
    for (ir::ValueId out : node.outputs) {
      if (out != ir::kNoValue && !graph.value(out).constant) rec.folded = false;
    }
    if (!rec.folded) {
      if (def->cost == nullptr) {
        rec.cost_missing = true;
        missing.insert(node.op_type);
      } else {
        ops::CostContext ctx(graph, id, precision);
        rec.cost = def->cost(ctx);
      }
    }
    CostTotals& t = report.totals;
    t.flops += rec.cost.flops;
    if (rec.cost.kind == ops::OpKind::kCompute) t.macs += MultiplyAdds(node, rec.cost);
    t.bytes_read += rec.cost.bytes_read;
    t.weight_bytes += rec.cost.weight_bytes;
    t.bytes_written += rec.cost.bytes_written;
    report.nodes.push_back(std::move(rec));
  }
  for (const ir::Value& v : graph.values()) {
    if (!v.is_initializer || v.consumers.empty() || !v.shape) continue;
    report.totals.params += static_cast<double>(v.shape->NumElements().value_or(0));
  }
  report.missing_cost_ops.assign(missing.begin(), missing.end());
  return report;
}

}  // namespace ridge::analysis
