// JSON of every node's and kernel's figures. Keys and units: docs/metrics.md ("JSON schema").
// Bump kAnalysisSchemaVersion when a key is renamed or removed (adding keys is compatible).
#include <nlohmann/json.hpp>

#include "report/analysis_report.h"
#include "report/pipeline_section.h"

namespace ridge::report {
namespace {

nlohmann::json AnalysisJson(const analysis::Analysis& a) {
  using nlohmann::json;
  const auto& t = a.costs.totals;
  const auto& pred = a.prediction;
  json j;
  j["schema_version"] = kAnalysisSchemaVersion;
  j["model"] = a.model_name;
  j["precision"] = std::string(PrecisionName(a.precision()));
  const auto& d = a.device;
  j["device"] = {{"name", d.name},
                 {"display_name", d.display_name},
                 {"kind", d.kind},
                 {"peak_flops_per_s", d.PeakFlopsPerS(a.precision())},
                 {"vector_flops_per_s", d.VectorFlopsPerS(a.precision())},
                 {"memory_bytes_per_s", d.memory_bytes_per_s},
                 {"ridge_point_flops_per_byte", d.RidgePoint(a.precision())},
                 {"launch_overhead_s", d.launch_overhead_s},
                 {"sources", d.sources}};
  j["totals"] = {{"num_nodes", a.costs.nodes.size()},
                 {"num_kernels", a.grouping.groups.size()},
                 {"num_free_nodes", a.grouping.num_free_nodes},
                 {"params", t.params},
                 {"flops", t.flops},
                 {"macs", t.macs},
                 {"bytes_read", t.bytes_read},
                 {"weight_bytes", t.weight_bytes},
                 {"bytes_written", t.bytes_written},
                 {"predicted_time_s", pred.total_s},
                 {"launch_time_s", pred.launch_s},
                 {"num_launches", pred.num_launches}};
  json kinds = json::array();
  for (const auto& k : analysis::SharesByKind(a)) {
    kinds.push_back({{"kind", std::string(ops::OpKindName(k.kind))},
                     {"num_nodes", k.num_nodes},
                     {"flops", k.flops},
                     {"flops_share", t.flops > 0 ? k.flops / t.flops : 0.0},
                     {"time_s", k.time_s},
                     {"time_share", pred.total_s > 0 ? k.time_s / pred.total_s : 0.0}});
  }
  j["kinds"] = kinds;
  json nodes = json::array();
  for (const auto& r : a.costs.nodes) {
    int g = a.grouping.group_of_node[static_cast<size_t>(r.node_id)];
    nodes.push_back({{"id", r.node_id},
                     {"name", r.name},
                     {"op_type", r.op_type},
                     {"kind", std::string(ops::OpKindName(r.cost.kind))},
                     {"flops", r.cost.flops},
                     {"bytes_read", r.cost.bytes_read},
                     {"weight_bytes", r.cost.weight_bytes},
                     {"bytes_written", r.cost.bytes_written},
                     {"intensity_flops_per_byte", r.intensity_flops_per_byte()},
                     {"gemm_m", r.cost.gemm_m},
                     {"gemm_n", r.cost.gemm_n},
                     {"gemm_k", r.cost.gemm_k},
                     {"folded", r.folded},
                     {"cost_missing", r.cost_missing},
                     {"kernel", g < 0 ? json(nullptr) : json(g)}});
  }
  j["nodes"] = nodes;
  json kernels = json::array();
  for (size_t i = 0; i < a.grouping.groups.size(); ++i) {
    const auto& g = a.grouping.groups[i];
    const auto& p = pred.groups[i];
    json members = json::array();
    for (ir::NodeId m : g.members) members.push_back(a.costs.nodes[static_cast<size_t>(m)].name);
    kernels.push_back({{"index", i},
                       {"name", g.name},
                       {"ops", g.label},
                       {"kind", std::string(ops::OpKindName(g.kind))},
                       {"members", members},
                       {"flops", g.flops},
                       {"bytes_read", g.bytes_read},
                       {"weight_bytes", g.weight_bytes},
                       {"bytes_written", g.bytes_written},
                       {"intensity_flops_per_byte", g.intensity_flops_per_byte()},
                       {"peak_flops_per_s", p.peak_flops_per_s},
                       {"tensor_core", p.tensor_core},
                       {"gemm_m", p.shape.gemm_m},
                       {"gemm_n", p.shape.gemm_n},
                       {"groups", p.shape.groups},
                       {"wave_utilization", p.wave_utilization},
                       {"compute_s", p.compute_s},
                       {"memory_s", p.memory_s},
                       {"launch_s", p.launch_s},
                       {"predicted_time_s", p.time_s},
                       {"bound", std::string(analysis::BoundName(p.bound))}});
  }
  j["kernels"] = kernels;
  json lints = json::array();
  for (const auto& l : a.lints) {
    lints.push_back({{"id", l.id},
                     {"severity", l.severity},
                     {"message", l.message},
                     {"advice", l.advice},
                     {"nodes", l.nodes},
                     {"predicted_cost_s", l.predicted_cost_s}});
  }
  j["lints"] = lints;
  j["missing_cost_ops"] = a.costs.missing_cost_ops;
  return j;
}

}  // namespace

std::string RenderJson(const analysis::Analysis& a) { return AnalysisJson(a).dump(2) + "\n"; }

std::string RenderJson(const analysis::Analysis& a, const PipelineSection& pipeline) {
  nlohmann::json j = AnalysisJson(a);
  j["pipeline"] = PipelineJsonObject(a, pipeline);
  return j.dump(2) + "\n";
}

}  // namespace ridge::report
