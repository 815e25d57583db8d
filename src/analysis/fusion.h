// Fusion-aware grouping: the kernels a real inference engine (TensorRT, cuDNN fusion,
// torch.compile) would launch for a graph, so predicted time counts the traffic and launches
// that actually happen rather than one kernel per ONNX node.
//
// Rules, applied in topological order:
//   - free nodes join no group and cost nothing: folded constants, shape arithmetic, and views
//     (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: the output aliases the input);
//   - an elementwise node (activation, BatchNormalization, arithmetic, residual Add) joins the
//     group of a producer when every consumer of that producer's output is elementwise (so the
//     intermediate never reaches memory): conv/gemm + BN + activation (+ Sigmoid*Mul = SiLU) +
//     residual Add become one kernel, as do chains of elementwise ops;
//   - everything else (compute, reductions, data movement) starts its own group.
// A group's bytes are its inputs (values read from outside the group, each once) + weights +
// outputs (values used outside the group or graph outputs): intermediate traffic is gone.
#pragma once

#include <string>
#include <vector>

#include "analysis/cost_model.h"

namespace ridge::analysis {

struct FusedGroup {
  std::vector<ir::NodeId> members;  // in graph order; members[anchor_index] is the main op
  size_t anchor_index = 0;
  std::string name;                              // the anchor's name
  std::string label;                             // "Conv+BatchNormalization+Relu"
  ops::OpKind kind = ops::OpKind::kElementwise;  // the anchor's kind
  double flops = 0;
  double bytes_read = 0;  // activations entering the group
  double weight_bytes = 0;
  double bytes_written = 0;
  double total_bytes() const { return bytes_read + weight_bytes + bytes_written; }
  double intensity_flops_per_byte() const { return total_bytes() > 0 ? flops / total_bytes() : 0; }
};

struct Grouping {
  std::vector<FusedGroup> groups;  // launched kernels, in graph order
  std::vector<int> group_of_node;  // node id -> index into groups; -1 for free nodes
  int num_free_nodes = 0;
};

// True for ops whose output aliases their input (no kernel, no traffic).
bool IsViewOp(const std::string& op_type);

// `costs` must come from ComputeCosts on the same graph.
Grouping GroupForFusion(const ir::Graph& graph, const CostReport& costs);

}  // namespace ridge::analysis
