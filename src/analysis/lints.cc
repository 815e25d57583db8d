#include "analysis/lints.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "analysis/gpu_support.h"

namespace ridge::analysis {
namespace {

std::string Us(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f us", s * 1e6);
  return buf;
}

std::string Pct(double part, double whole) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", whole > 0 ? 100 * part / whole : 0.0);
  return buf;
}

int64_t RoundUp(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

// The first few names, then "and N more": keeps messages readable on big models.
std::string NameList(const std::vector<std::string>& names, size_t shown = 4) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < shown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > shown) s += " and " + std::to_string(names.size() - shown) + " more";
  return s;
}

const FusedGroup* GroupOf(const Grouping& grouping, ir::NodeId id, int* index) {
  *index = grouping.group_of_node[static_cast<size_t>(id)];
  return *index < 0 ? nullptr : &grouping.groups[static_cast<size_t>(*index)];
}

void TensorCoreAlignmentLint(const ir::Graph& graph, const CostReport& costs,
                             const Grouping& grouping, const DeviceProfile& device,
                             std::vector<Lint>* out) {
  const Precision p = costs.precision;
  if (device.kind != "gpu" || p == Precision::kFp32) return;
  const int64_t align = TensorCoreAlignment(device, p);
  Lint lint;
  std::string details;
  for (const NodeRecord& rec : costs.nodes) {
    if (rec.folded || TensorCoreAligned(graph, rec, device, p)) continue;
    int gi = 0;
    const FusedGroup* g = GroupOf(grouping, rec.node_id, &gi);
    if (g == nullptr) continue;
    // The two dims Tensor Cores tile: conv (C/groups, K) from the weight, else GEMM (K, N).
    const ir::Node& node = graph.node(rec.node_id);
    int64_t a = rec.cost.gemm_k, b = rec.cost.gemm_n;
    const char *a_name = "K", *b_name = "N";
    if (node.op_type == "Conv" || node.op_type == "ConvTranspose") {
      const auto& w = graph.value(node.inputs[1]).shape;
      a = (*w)[1].value;
      b = (*w)[0].value;
      a_name = "C";
      b_name = "K";
    }
    if (a <= 0 || b <= 0) continue;
    double pad_ratio = static_cast<double>(RoundUp(a, align)) / static_cast<double>(a) *
                       static_cast<double>(RoundUp(b, align)) / static_cast<double>(b);
    GroupPrediction unaligned =
        PredictKernel(g->flops, g->total_bytes(), device.peak_fp32_flops_per_s, device);
    GroupPrediction padded = PredictKernel(g->flops * pad_ratio, g->total_bytes() * pad_ratio,
                                           device.PeakFlopsPerS(p), device);
    lint.predicted_cost_s += std::max(0.0, unaligned.time_s - padded.time_s);
    lint.nodes.push_back(rec.name);
    if (lint.nodes.size() <= 4) {
      details += (details.empty() ? "" : "; ") + rec.name + " (" + a_name + "=" +
                 std::to_string(a) + " -> " + std::to_string(RoundUp(a, align)) + ", " + b_name +
                 "=" + std::to_string(b) + " -> " + std::to_string(RoundUp(b, align)) + ": " +
                 Us(unaligned.time_s) + " unaligned vs " + Us(padded.time_s) + " padded)";
    }
  }
  if (lint.nodes.empty()) return;
  lint.id = "tensor_core_alignment";
  lint.severity = "warning";
  lint.message = std::to_string(lint.nodes.size()) + " compute op(s) have channels not a " +
                 "multiple of " + std::to_string(align) + " for " + std::string(PrecisionName(p)) +
                 " Tensor Cores: " + details;
  lint.advice = "pad channels (zero weights) to a multiple of " + std::to_string(align) +
                "; predicted saving " + Us(lint.predicted_cost_s) + " per inference";
  out->push_back(std::move(lint));
}

void LowIntensityConvLint(const ir::Graph& graph, const CostReport& costs, const Grouping& grouping,
                          const Prediction& pred, const DeviceProfile& device,
                          std::vector<Lint>* out) {
  const double ridge = device.RidgePoint(costs.precision);
  Lint lint;
  int depthwise = 0, pointwise = 0;
  double flops = 0;
  for (const NodeRecord& rec : costs.nodes) {
    const ir::Node& node = graph.node(rec.node_id);
    if (rec.folded || node.op_type != "Conv" || node.inputs.size() < 2) continue;
    const auto& w = graph.value(node.inputs[1]).shape;
    if (!w || w->rank() < 3 || !w->fully_known()) continue;
    bool is_depthwise = node.GetInt("group", 1) > 1 && (*w)[1].value == 1;
    bool is_pointwise = true;
    for (size_t d = 2; d < w->rank(); ++d) is_pointwise = is_pointwise && (*w)[d].value == 1;
    if (!is_depthwise && !is_pointwise) continue;
    int gi = 0;
    const FusedGroup* g = GroupOf(grouping, rec.node_id, &gi);
    if (g == nullptr || g->intensity_flops_per_byte() >= ridge) continue;
    (is_depthwise ? depthwise : pointwise)++;
    lint.nodes.push_back(rec.name);
    lint.predicted_cost_s += pred.groups[static_cast<size_t>(gi)].time_s;
    flops += g->flops;
  }
  if (lint.nodes.empty()) return;
  char ridge_text[32];
  std::snprintf(ridge_text, sizeof(ridge_text), "%.0f", ridge);
  lint.id = "low_intensity_conv";
  lint.severity = "info";
  lint.message = std::to_string(depthwise) + " depthwise and " + std::to_string(pointwise) +
                 " 1x1 conv(s) sit below the ridge point (" + ridge_text +
                 " FLOP/byte): memory-bound; they take " +
                 Pct(lint.predicted_cost_s, pred.total_s) + " of predicted time for " +
                 Pct(flops, costs.totals.flops) + " of FLOPs (" + NameList(lint.nodes) + ")";
  lint.advice =
      "their time is set by bytes, not FLOPs: use a lower precision (fp16/int8), "
      "fuse depthwise + pointwise pairs, or larger batches to raise intensity";
  out->push_back(std::move(lint));
}

void DataMovementLint(const CostReport& costs, const Grouping& grouping, const Prediction& pred,
                      std::vector<Lint>* out) {
  Lint lint;
  double flops = 0;
  for (size_t gi = 0; gi < grouping.groups.size(); ++gi) {
    const FusedGroup& g = grouping.groups[gi];
    if (g.kind != ops::OpKind::kDataMovement && g.kind != ops::OpKind::kShortcutAdd) continue;
    lint.predicted_cost_s += pred.groups[gi].time_s;
    flops += g.flops;
    lint.nodes.push_back(g.name);
  }
  if (lint.nodes.empty() || pred.total_s <= 0 || lint.predicted_cost_s < 0.05 * pred.total_s)
    return;
  lint.id = "data_movement_share";
  lint.severity = "warning";
  lint.message = std::to_string(lint.nodes.size()) + " unfused data-movement kernel(s) (" +
                 NameList(lint.nodes) + ") take " + Pct(lint.predicted_cost_s, pred.total_s) +
                 " of predicted time for " + Pct(flops, costs.totals.flops) + " of FLOPs";
  lint.advice =
      "fold concats into producers' output offsets, fuse slices/adds into neighbours, "
      "keep one layout end to end";
  out->push_back(std::move(lint));
}

void TransposeLint(const CostReport& costs, const Grouping& grouping, const Prediction& pred,
                   std::vector<Lint>* out) {
  Lint lint;
  for (const NodeRecord& rec : costs.nodes) {
    if (rec.folded || rec.op_type != "Transpose") continue;
    int gi = grouping.group_of_node[static_cast<size_t>(rec.node_id)];
    if (gi >= 0) lint.predicted_cost_s += pred.groups[static_cast<size_t>(gi)].time_s;
    lint.nodes.push_back(rec.name);
  }
  if (lint.nodes.empty()) return;
  lint.id = "layout_transpose";
  lint.severity = "info";
  lint.message = std::to_string(lint.nodes.size()) + " runtime Transpose op(s) (" +
                 NameList(lint.nodes) + "): " + Us(lint.predicted_cost_s) + " predicted";
  lint.advice =
      "layout changes are pure traffic: run channels-last (NHWC) end to end, or fold "
      "the permutation into the neighbouring MatMul/LayerNorm";
  out->push_back(std::move(lint));
}

void GpuSupportLint(const CostReport& costs, const DeviceProfile& device, std::vector<Lint>* out) {
  if (device.kind != "gpu") return;
  std::set<std::string> ops;
  Lint lint;
  for (const NodeRecord& rec : costs.nodes) {
    if (rec.folded || HasGpuKernel(rec.op_type)) continue;
    ops.insert(rec.op_type);
    lint.nodes.push_back(rec.name);
  }
  if (ops.empty()) return;
  std::string list;
  for (const auto& o : ops) list += (list.empty() ? "" : ", ") + o;
  lint.id = "no_gpu_kernel";
  lint.severity = "warning";
  lint.message = std::to_string(lint.nodes.size()) +
                 " node(s) use ops with no Ridgeline GPU "
                 "kernel (" +
                 list + "): they would run on the host, with copies both ways";
  lint.advice =
      "replace them with supported ops at export time, or add a kernel "
      "(src/analysis/gpu_support.cc lists what exists)";
  out->push_back(std::move(lint));
}

void PrePostProcessingLint(const ir::Graph& graph, const CostReport& costs,
                           std::vector<Lint>* out) {
  for (ir::ValueId in : graph.inputs()) {
    const ir::Value& v = graph.value(in);
    if (!v.shape || v.shape->rank() != 4 || !IsFloatingPoint(v.dtype)) continue;
    const Shape& s = *v.shape;
    bool nchw = s[1].known() && s[1].value == 3, nhwc = s[3].known() && s[3].value == 3;
    if (!nchw && !nhwc) continue;
    Lint lint;
    lint.id = "preprocessing_outside";
    lint.severity = "info";
    lint.nodes.push_back(v.name);
    lint.message = "input '" + v.name + "' is float " + std::string(nchw ? "NCHW" : "NHWC") + " " +
                   s.ToString() +
                   ": decode, resize, uint8->float, normalization and the "
                   "layout change all happen outside the graph, on the host";
    lint.advice =
        "attach preprocessing to the engine (uint8 NHWC input, fused resize + "
        "normalize kernel) so it runs on the device and overlaps with inference";
    out->push_back(std::move(lint));
  }
  bool has_nms = std::any_of(costs.nodes.begin(), costs.nodes.end(), [](const NodeRecord& r) {
    return r.op_type == "NonMaxSuppression" || r.op_type == "TopK";
  });
  for (ir::ValueId o : graph.outputs()) {
    const ir::Value& v = graph.value(o);
    if (has_nms || !v.shape || v.shape->rank() != 3 || !v.shape->fully_known()) continue;
    // [batch, 4 + classes (+1), anchors] or [batch, anchors, 4 + classes (+1)]: raw boxes.
    int64_t a = (*v.shape)[1].value, b = (*v.shape)[2].value;
    int64_t small = std::min(a, b), large = std::max(a, b);
    if (small < 5 || small > 300 || large < 1000) continue;
    Lint lint;
    lint.id = "postprocessing_outside";
    lint.severity = "warning";
    lint.nodes.push_back(v.name);
    lint.message = "output '" + v.name + "' " + v.shape->ToString() + " looks like raw " +
                   "detection candidates and the graph has no NMS: box decoding, score "
                   "filtering and NMS run outside, usually on the host";
    lint.advice =
        "run decode + NMS on the device (Ridgeline's postprocess stage) and copy "
        "back only the kept boxes";
    out->push_back(std::move(lint));
  }
}

void LaunchBoundLint(const Grouping& grouping, const Prediction& pred, const DeviceProfile& dev,
                     std::vector<Lint>* out) {
  if (pred.total_s <= 0 || pred.launch_s < 0.3 * pred.total_s) return;
  Lint lint;
  lint.id = "launch_bound";
  lint.severity = "warning";
  lint.predicted_cost_s = pred.launch_s;
  lint.message = std::to_string(pred.num_launches) + " kernel launches x " +
                 Us(dev.launch_overhead_s) + " = " + Us(pred.launch_s) + ", " +
                 Pct(pred.launch_s, pred.total_s) + " of predicted time";
  lint.advice =
      "replay with CUDA graphs, fuse more, or raise the batch: launches cost the "
      "same at any batch size";
  out->push_back(std::move(lint));
}

void MissingCostLint(const CostReport& costs, std::vector<Lint>* out) {
  if (costs.missing_cost_ops.empty()) return;
  Lint lint;
  lint.id = "missing_cost";
  lint.severity = "info";
  for (const NodeRecord& r : costs.nodes)
    if (r.cost_missing) lint.nodes.push_back(r.name);
  std::string list;
  for (const auto& o : costs.missing_cost_ops) list += (list.empty() ? "" : ", ") + o;
  lint.message = std::to_string(lint.nodes.size()) +
                 " node(s) of ops without a cost function "
                 "yet (" +
                 list + ") count zero FLOPs and bytes";
  lint.advice = "totals are a lower bound until these ops' cost functions land in src/ops/";
  out->push_back(std::move(lint));
}

}  // namespace

std::vector<Lint> RunLints(const ir::Graph& graph, const CostReport& costs,
                           const Grouping& grouping, const Prediction& prediction,
                           const DeviceProfile& device) {
  std::vector<Lint> out;
  TensorCoreAlignmentLint(graph, costs, grouping, device, &out);
  LowIntensityConvLint(graph, costs, grouping, prediction, device, &out);
  DataMovementLint(costs, grouping, prediction, &out);
  TransposeLint(costs, grouping, prediction, &out);
  GpuSupportLint(costs, device, &out);
  PrePostProcessingLint(graph, costs, &out);
  LaunchBoundLint(grouping, prediction, device, &out);
  MissingCostLint(costs, &out);
  return out;
}

}  // namespace ridge::analysis
