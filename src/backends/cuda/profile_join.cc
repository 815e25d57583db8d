#include "backends/cuda/profile_join.h"

#include <map>
#include <set>

#include "analysis/cost_model.h"
#include "analysis/fusion.h"
#include "analysis/roofline.h"

namespace ridge::cuda {
namespace {

// Bytes a step moves to and from memory when it runs `ids` as one kernel (or a short chain).
double StepBytes(const ir::Graph& g, const std::vector<ir::NodeId>& ids,
                 const std::vector<const analysis::NodeRecord*>& recs, Precision p) {
  std::set<ir::NodeId> inside(ids.begin(), ids.end());
  std::set<ir::ValueId> produced, counted;
  for (ir::NodeId id : ids)
    for (ir::ValueId v : g.node(id).outputs)
      if (v != ir::kNoValue) produced.insert(v);
  double bytes = 0;
  for (const auto* rec : recs) bytes += rec->cost.weight_bytes;
  for (ir::NodeId id : ids) {
    for (ir::ValueId v : g.node(id).inputs) {
      if (v == ir::kNoValue || produced.count(v) || g.value(v).constant) continue;
      if (counted.insert(v).second) bytes += analysis::ValueBytesAt(g, v, p);
    }
  }
  for (ir::ValueId v : produced) {
    const ir::Value& val = g.value(v);
    bool escapes = val.is_graph_output;
    for (ir::NodeId c : val.consumers) escapes = escapes || !inside.count(c);
    if (escapes) bytes += analysis::ValueBytesAt(g, v, p);
  }
  return bytes;
}

bool IsComputeOp(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

}  // namespace

bool IsOverheadStep(const std::string& kind) {
  return kind == "layout_transpose" || kind == "copy_output";
}

Result<JoinedProfile> JoinStepProfile(const ir::Graph& graph, const std::vector<StepSample>& steps,
                                      const analysis::DeviceProfile* device, Precision precision,
                                      const std::vector<std::string>& stepless) {
  RIDGE_ASSIGN_OR_RETURN(analysis::CostReport costs, analysis::ComputeCosts(graph, precision));
  std::map<std::string, const analysis::NodeRecord*> by_name;
  for (const auto& rec : costs.nodes) by_name.emplace(rec.name, &rec);

  JoinedProfile out;
  std::set<std::string> named, costed, unknown;
  for (const StepSample& s : steps) out.measured_ms += s.ms;
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepSample& s = steps[i];
    JoinedStep row;
    row.index = static_cast<int>(i);
    row.kind = s.kind;
    row.nodes = s.nodes;
    row.overhead = IsOverheadStep(s.kind);
    row.measured_ms = s.ms;
    row.share = out.measured_ms > 0 ? s.ms / out.measured_ms : 0;
    std::vector<ir::NodeId> ids;
    std::vector<const analysis::NodeRecord*> recs;
    bool compute = false, aligned = true;
    analysis::KernelShape shape;
    for (const std::string& n : s.nodes) {
      auto it = by_name.find(n);
      if (it == by_name.end()) {
        if (unknown.insert(n).second) out.unknown.push_back(n);
        continue;
      }
      named.insert(n);
      // A node's work is predicted once; a layout change serving it adds no ONNX cost.
      if (row.overhead || !costed.insert(n).second) continue;
      ids.push_back(it->second->node_id);
      recs.push_back(it->second);
      if (IsComputeOp(it->second->op_type)) {
        if (!compute) shape = analysis::KernelShapeOf(graph, *it->second);
        compute = true;
        aligned = aligned && (device == nullptr ||
                              analysis::TensorCoreAligned(graph, *it->second, *device, precision));
      }
    }
    if (!recs.empty()) {
      for (const auto* rec : recs) row.flops += rec->cost.flops;
      row.bytes = StepBytes(graph, ids, recs, precision);
    }
    if (!recs.empty() && device != nullptr) {
      // The roof the analyzer would use: Tensor Cores for aligned compute ops, CUDA cores else.
      double peak = !compute  ? device->VectorFlopsPerS(precision)
                    : aligned ? device->PeakFlopsPerS(precision)
                              : device->peak_fp32_flops_per_s;
      auto pred = analysis::PredictKernel(row.flops, row.bytes, peak, *device, shape);
      row.predicted_ms = pred.time_s * 1e3;
      row.gemm_m = shape.gemm_m;
      row.gemm_n = shape.gemm_n;
      row.groups = shape.groups;
      row.peak_flops_per_s = peak;
      out.predicted_ms += row.predicted_ms;
      if (row.measured_ms > 0) row.roofline_pct = 100.0 * row.predicted_ms / row.measured_ms;
    } else if (row.overhead && device != nullptr) {
      // An engine-inserted kernel (layout change, output copy) has no ONNX cost but is still
      // a kernel: the model-level prediction counts its fixed cost.
      out.overhead_predicted_ms +=
          analysis::PredictKernel(0, 0, device->peak_fp32_flops_per_s, *device).time_s * 1e3;
    }
    out.steps.push_back(std::move(row));
  }
  const std::set<std::string> alias(stepless.begin(), stepless.end());
  for (const auto& rec : costs.nodes) {
    if (named.count(rec.name)) continue;
    if (alias.count(rec.name)) {
      out.aliased.push_back(rec.name);
      continue;
    }
    bool no_work =
        rec.folded || analysis::IsViewOp(rec.op_type) || rec.cost.kind == ops::OpKind::kShape;
    if (!no_work) out.uncovered.push_back(rec.name);
  }
  return out;
}

}  // namespace ridge::cuda
