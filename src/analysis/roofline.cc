#include "analysis/roofline.h"

#include <algorithm>
#include <cmath>

namespace ridge::analysis {

std::string_view BoundName(Bound bound) {
  switch (bound) {
    case Bound::kCompute:
      return "compute";
    case Bound::kMemory:
      return "memory";
    case Bound::kLaunch:
      return "launch";
  }
  return "unknown";
}

int TensorCoreAlignment(const DeviceProfile& device, Precision precision) {
  return precision == Precision::kInt8 ? device.tensor_core_align_int8
                                       : device.tensor_core_align_fp16;
}

bool TensorCoreAligned(const ir::Graph& graph, const NodeRecord& rec, const DeviceProfile& device,
                       Precision precision) {
  if (precision == Precision::kFp32 || device.kind != "gpu") return true;
  if (rec.cost.kind != ops::OpKind::kCompute) return true;
  int64_t align = TensorCoreAlignment(device, precision);
  const ir::Node& node = graph.node(rec.node_id);
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose") {
    // Weight [K, C/groups, kh, kw]. Depthwise (C/groups == 1) never uses Tensor Cores well;
    // the low-intensity lint covers it, so treat it as aligned here.
    if (node.inputs.size() < 2 || node.inputs[1] == ir::kNoValue) return true;
    const auto& w = graph.value(node.inputs[1]).shape;
    if (!w || w->rank() < 2 || !(*w)[0].known() || !(*w)[1].known()) return true;
    int64_t k = (*w)[0].value, c = (*w)[1].value;
    if (c == 1) return true;
    return k % align == 0 && c % align == 0;
  }
  if (rec.cost.gemm_n > 0 && rec.cost.gemm_k > 0) {
    return rec.cost.gemm_n % align == 0 && rec.cost.gemm_k % align == 0;
  }
  return true;
}

KernelShape KernelShapeOf(const ir::Graph& graph, const NodeRecord& rec) {
  KernelShape shape{rec.cost.gemm_m, rec.cost.gemm_n, 1};
  const ir::Node& node = graph.node(rec.node_id);
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose") {
    shape.groups = std::max<int64_t>(1, node.GetInt("group", 1));
  }
  return shape;
}

double WaveUtilization(const KernelShape& shape, const DeviceProfile& device) {
  if (device.sm_count <= 0 || shape.gemm_m <= 0 || shape.gemm_n <= 0) return 1.0;
  const double tiles = std::ceil(static_cast<double>(shape.gemm_m) / kWaveTile) *
                       std::ceil(static_cast<double>(shape.gemm_n) / kWaveTile) *
                       static_cast<double>(std::max<int64_t>(1, shape.groups));
  const double waves = std::ceil(tiles / device.sm_count);
  return tiles / (waves * device.sm_count);
}

GroupPrediction PredictKernel(double flops, double bytes, double peak_flops_per_s,
                              const DeviceProfile& device, const KernelShape& shape) {
  GroupPrediction p;
  p.peak_flops_per_s = peak_flops_per_s;
  p.shape = shape;
  p.wave_utilization = WaveUtilization(shape, device);
  const double rate = peak_flops_per_s * device.compute_efficiency * p.wave_utilization;
  p.compute_s = rate > 0 ? flops / rate : 0;
  // Dense: a GEMM-like kernel with more than one output column per group (not depthwise).
  const bool dense = shape.gemm_m > 0 && shape.gemm_n > 1;
  const double bw = device.memory_bytes_per_s *
                    (dense ? device.memory_efficiency : device.streaming_memory_efficiency);
  p.memory_s = bw > 0 ? bytes / bw : 0;
  p.launch_s = device.launch_overhead_s + device.kernel_floor_s;
  double roof_s = std::max(p.compute_s, p.memory_s);
  p.time_s = roof_s + p.launch_s;
  if (p.launch_s > roof_s) {
    p.bound = Bound::kLaunch;
  } else {
    p.bound = p.compute_s >= p.memory_s ? Bound::kCompute : Bound::kMemory;
  }
  return p;
}

Prediction PredictRoofline(const ir::Graph& graph, const CostReport& costs,
                           const Grouping& grouping, const DeviceProfile& device) {
  Prediction out;
  const Precision precision = costs.precision;
  for (const FusedGroup& g : grouping.groups) {
    double peak = device.VectorFlopsPerS(precision);
    bool tensor_core = false;
    if (g.kind == ops::OpKind::kCompute) {
      const NodeRecord& anchor = costs.nodes[static_cast<size_t>(g.members[g.anchor_index])];
      if (TensorCoreAligned(graph, anchor, device, precision)) {
        peak = device.PeakFlopsPerS(precision);
        tensor_core = device.kind == "gpu" && precision != Precision::kFp32 &&
                      peak > device.peak_fp32_flops_per_s;
      } else {
        // Unaligned channels fall off Tensor Cores onto the CUDA cores.
        peak = device.peak_fp32_flops_per_s;
      }
    }
    KernelShape shape;
    if (g.kind == ops::OpKind::kCompute) {
      const NodeRecord& anchor = costs.nodes[static_cast<size_t>(g.members[g.anchor_index])];
      shape = KernelShapeOf(graph, anchor);
    }
    GroupPrediction p = PredictKernel(g.flops, g.total_bytes(), peak, device, shape);
    p.tensor_core = tensor_core;
    out.total_s += p.time_s;
    out.launch_s += p.launch_s;
    ++out.num_launches;
    out.groups.push_back(p);
  }
  return out;
}

}  // namespace ridge::analysis
