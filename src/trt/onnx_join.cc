// Maps engine layers to ONNX nodes and sums the ONNX-level cost and prediction per layer.
#include "trt/onnx_join.h"

#include <algorithm>
#include <map>
#include <set>

#include "ops/shape_inference.h"

namespace ridge::trt {
namespace {

std::string StripSlash(const std::string& s) { return !s.empty() && s[0] == '/' ? s.substr(1) : s; }

// Each node's part of the predicted time: its fused group's time split by FLOPs among the
// group's members (equally when the group has none), so the parts add up to the model total.
std::vector<double> NodePredictedMs(const ir::Graph& graph, const analysis::Analysis& a) {
  std::vector<double> ms(graph.num_nodes(), 0.0);
  std::vector<double> flops(graph.num_nodes(), 0.0);
  for (const analysis::NodeRecord& r : a.costs.nodes)
    if (r.node_id >= 0 && static_cast<size_t>(r.node_id) < flops.size())
      flops[static_cast<size_t>(r.node_id)] = r.cost.flops;
  const auto& groups = a.grouping.groups;
  for (size_t g = 0; g < groups.size() && g < a.prediction.groups.size(); ++g) {
    const double t = a.prediction.groups[g].time_s * 1e3;
    double sum = 0;
    for (ir::NodeId n : groups[g].members) sum += flops[static_cast<size_t>(n)];
    for (ir::NodeId n : groups[g].members) {
      const double share = sum > 0 ? flops[static_cast<size_t>(n)] / sum
                                   : 1.0 / static_cast<double>(groups[g].members.size());
      ms[static_cast<size_t>(n)] += t * share;
    }
  }
  return ms;
}

}  // namespace

int64_t EngineBatch(const EngineData& engine) {
  std::set<std::string> produced;
  for (const EngineLayer& l : engine.layers)
    for (const EngineTensor& t : l.outputs) produced.insert(t.name);
  for (const EngineLayer& l : engine.layers)
    for (const EngineTensor& t : l.inputs)
      if (!produced.count(t.name) && !t.dims.empty() && t.dims[0] > 0) return t.dims[0];
  return 0;
}

Precision EnginePrecision(const EngineReport& report) {
  double int8 = 0, fp16 = 0, fp32 = 0, tf32 = 0;
  for (const LayerRecord& l : report.layers) {
    if (l.kind != LayerKind::kCompute) continue;
    const double w = l.time_ms > 0 ? l.time_ms : 1e-9;  // unprofiled engines: count layers
    switch (l.in_elem) {
      case ElemType::kInt8:
      case ElemType::kFp8:
        int8 += w;
        break;
      case ElemType::kFp16:
      case ElemType::kBf16:
        fp16 += w;
        break;
      default:
        (l.layer->tactic_name.find("tf32") != std::string::npos ? tf32 : fp32) += w;
    }
  }
  const double best = std::max({int8, fp16, fp32, tf32});
  if (best <= 0) return Precision::kFp32;
  if (best == int8) return Precision::kInt8;
  if (best == fp16) return Precision::kFp16;
  if (best == tf32) return Precision::kTf32;
  return Precision::kFp32;
}

Status PrepareModelForEngine(ir::Graph& graph, int64_t batch) {
  ops::InferOptions opts;
  if (batch > 0) {
    opts.batch = batch;
    // A static dim 0 is what an exporter wrote for its dummy input, not a promise; the engine's
    // batch wins. Symbolic dims are bound by opts.batch.
    for (ir::ValueId id : graph.inputs()) {
      const ir::Value& v = graph.value(id);
      if (v.is_initializer || !v.shape || v.shape->rank() == 0) continue;
      auto dims = v.shape->ToInts();
      if (!dims || (*dims)[0] == batch) continue;
      (*dims)[0] = batch;
      opts.input_shapes[v.name] = *dims;
    }
  }
  return ops::InferShapes(graph, opts);
}

OnnxJoin JoinOnnx(const EngineReport& report, const ir::Graph& graph,
                  const analysis::Analysis& analysis, int64_t batch) {
  OnnxJoin j;
  j.model_name = analysis.model_name;
  j.batch = batch;
  j.precision = analysis.precision();
  j.layers.resize(report.layers.size());
  j.model_flops = analysis.costs.totals.flops;
  j.model_predicted_ms = analysis.prediction.total_s * 1e3;

  std::map<std::string, ir::NodeId> by_name;
  std::map<std::string, std::vector<ir::NodeId>> by_type;  // graph order
  for (size_t i = 0; i < graph.num_nodes(); ++i) {
    const ir::Node& n = graph.node(static_cast<ir::NodeId>(i));
    if (!n.name.empty()) by_name.emplace(StripSlash(n.name), static_cast<ir::NodeId>(i));
    by_type[n.op_type].push_back(static_cast<ir::NodeId>(i));
  }

  // Pass 1: exact names (ignoring a leading '/').
  std::map<std::string, std::set<int64_t>> unresolved_by_type;  // indexed refs left over
  std::set<std::string> type_hit_by_name;
  for (const LayerRecord& rec : report.layers)
    for (const OnnxNodeRef& ref : rec.onnx_nodes) {
      if (by_name.count(StripSlash(ref.name))) {
        type_hit_by_name.insert(ref.op_type);
      } else if (ref.index >= 0) {
        unresolved_by_type[ref.op_type].insert(ref.index);
      }
    }
  // Pass 2: an export with other names numbers nodes in graph order, so the n-th "Conv_<i>" by
  // index is the model's n-th Conv. Trusted only for a type no name matched and whose counts
  // agree: a missing or extra node would shift every later pairing.
  std::map<std::string, ir::NodeId> by_rank;
  for (const auto& [type, indices] : unresolved_by_type) {
    auto it = by_type.find(type);
    if (type_hit_by_name.count(type) || it == by_type.end() || it->second.size() != indices.size())
      continue;
    size_t k = 0;
    for (int64_t idx : indices) by_rank[type + "_" + std::to_string(idx)] = it->second[k++];
  }

  const std::vector<double> node_ms = NodePredictedMs(graph, analysis);
  std::vector<double> node_flops(graph.num_nodes(), 0.0);
  for (const analysis::NodeRecord& r : analysis.costs.nodes)
    if (r.node_id >= 0 && static_cast<size_t>(r.node_id) < node_flops.size())
      node_flops[static_cast<size_t>(r.node_id)] = r.cost.flops;
  std::vector<bool> covered(graph.num_nodes(), false);

  for (size_t i = 0; i < report.layers.size(); ++i) {
    const LayerRecord& rec = report.layers[i];
    LayerJoin& lj = j.layers[i];
    for (const OnnxNodeRef& ref : rec.onnx_nodes) {
      ir::NodeId id = ir::kNoNode;
      if (auto it = by_name.find(StripSlash(ref.name)); it != by_name.end()) {
        id = it->second;
        ++j.nodes_by_name;
      } else if (auto r = by_rank.find(ref.name); r != by_rank.end()) {
        id = r->second;
        ++j.nodes_by_rank;
      }
      if (id == ir::kNoNode) {
        lj.unresolved.push_back(ref.name);
        continue;
      }
      if (std::find(lj.nodes.begin(), lj.nodes.end(), id) != lj.nodes.end()) continue;
      lj.nodes.push_back(id);
      lj.node_names.push_back(graph.node(id).name);
      lj.onnx_flops += node_flops[static_cast<size_t>(id)];
      lj.predicted_ms += node_ms[static_cast<size_t>(id)];
      covered[static_cast<size_t>(id)] = true;
    }
    // TensorRT's own layout copies map to no node (some exports leave their type out).
    if (rec.kind == LayerKind::kReformat || rec.kind == LayerKind::kNoOp ||
        rec.layer->name.rfind("Reformatting CopyNode", 0) == 0)
      continue;
    ++j.candidate_layers;
    if (lj.matched()) {
      ++j.matched_layers;
      j.matched_flops += lj.onnx_flops;
      j.matched_predicted_ms += lj.predicted_ms;
    } else {
      std::string why = "no ONNX node names in the layer name";
      if (!lj.unresolved.empty()) {
        why = "not in the model:";
        for (const std::string& n : lj.unresolved) why += " " + n;
      }
      j.unmatched_layers.push_back(rec.layer->name + " (" + why + ")");
    }
  }
  for (size_t n = 0; n < covered.size(); ++n)
    if (!covered[n] && node_flops[n] > 0) {
      ++j.uncovered_compute_nodes;
      j.uncovered_flops += node_flops[n];
    }
  return j;
}

}  // namespace ridge::trt
