#include "analysis/analyzer.h"

namespace ridge::analysis {

Result<Analysis> Analyze(const ir::Graph& graph, const DeviceProfile& device, Precision precision,
                         const std::string& model_name) {
  Analysis a;
  a.model_name = model_name;
  a.device = device;
  RIDGE_ASSIGN_OR_RETURN(a.costs, ComputeCosts(graph, precision));
  a.grouping = GroupForFusion(graph, a.costs);
  a.prediction = PredictRoofline(graph, a.costs, a.grouping, device);
  a.lints = RunLints(graph, a.costs, a.grouping, a.prediction, device);
  return a;
}

std::vector<KindShare> SharesByKind(const Analysis& analysis) {
  const ops::OpKind kinds[] = {ops::OpKind::kCompute,     ops::OpKind::kElementwise,
                               ops::OpKind::kReduction,   ops::OpKind::kDataMovement,
                               ops::OpKind::kShortcutAdd, ops::OpKind::kShape};
  std::vector<KindShare> out;
  for (ops::OpKind k : kinds) out.push_back({k});
  auto slot = [&](ops::OpKind k) -> KindShare& { return out[static_cast<size_t>(k)]; };
  for (const NodeRecord& r : analysis.costs.nodes) {
    // Folded nodes are build-time shape work whatever their op.
    KindShare& s = slot(r.folded ? ops::OpKind::kShape : r.cost.kind);
    ++s.num_nodes;
    s.flops += r.cost.flops;
  }
  for (size_t g = 0; g < analysis.grouping.groups.size(); ++g) {
    slot(analysis.grouping.groups[g].kind).time_s += analysis.prediction.groups[g].time_s;
  }
  return out;
}

}  // namespace ridge::analysis
