#include "analysis/fusion.h"

#include <algorithm>
#include <set>

namespace ridge::analysis {
namespace {

bool IsFusableElementwise(const NodeRecord& rec) {
  return rec.cost.kind == ops::OpKind::kElementwise || rec.cost.kind == ops::OpKind::kShortcutAdd;
}

bool IsFree(const NodeRecord& rec) {
  return rec.folded || rec.cost.kind == ops::OpKind::kShape || IsViewOp(rec.op_type);
}

// Kinds a trailing elementwise chain may fuse into: epilogues of compute kernels, of other
// elementwise kernels and of reductions (pool + activation). Data movement kernels do not
// take epilogues here (a conservative choice: engines fuse some, not all).
bool AcceptsEpilogue(ops::OpKind kind) {
  return kind == ops::OpKind::kCompute || kind == ops::OpKind::kElementwise ||
         kind == ops::OpKind::kShortcutAdd || kind == ops::OpKind::kReduction;
}

}  // namespace

bool IsViewOp(const std::string& op_type) {
  static const char* const kViews[] = {"Reshape",   "Flatten",  "Squeeze",
                                       "Unsqueeze", "Identity", "Dropout"};
  return std::any_of(std::begin(kViews), std::end(kViews),
                     [&](const char* v) { return op_type == v; });
}

Grouping GroupForFusion(const ir::Graph& graph, const CostReport& costs) {
  Grouping out;
  out.group_of_node.assign(graph.num_nodes(), -1);
  const auto& recs = costs.nodes;

  for (size_t i = 0; i < graph.num_nodes(); ++i) {
    auto id = static_cast<ir::NodeId>(i);
    const NodeRecord& rec = recs[i];
    if (IsFree(rec)) {
      ++out.num_free_nodes;
      continue;
    }
    int target = -1;
    if (IsFusableElementwise(rec)) {
      for (ir::ValueId in : graph.node(id).inputs) {
        if (in == ir::kNoValue) continue;
        const ir::Value& v = graph.value(in);
        if (v.constant || v.producer == ir::kNoNode || v.is_graph_output) continue;
        int g = out.group_of_node[static_cast<size_t>(v.producer)];
        if (g < 0 || !AcceptsEpilogue(out.groups[static_cast<size_t>(g)].kind)) continue;
        bool all_elementwise = std::all_of(v.consumers.begin(), v.consumers.end(), [&](auto c) {
          return !IsFree(recs[static_cast<size_t>(c)]) &&
                 IsFusableElementwise(recs[static_cast<size_t>(c)]);
        });
        if (!all_elementwise) continue;
        // Prefer the group anchored by a compute op (conv + BN + act), else the first found.
        if (target < 0 || out.groups[static_cast<size_t>(g)].kind == ops::OpKind::kCompute) {
          target = g;
        }
      }
    }
    if (target < 0) {
      FusedGroup g;
      g.name = rec.name;
      g.kind = rec.cost.kind;
      out.groups.push_back(std::move(g));
      target = static_cast<int>(out.groups.size()) - 1;
    }
    FusedGroup& g = out.groups[static_cast<size_t>(target)];
    g.members.push_back(id);
    g.label += (g.label.empty() ? "" : "+") + rec.op_type;
    g.flops += rec.cost.flops;
    g.weight_bytes += rec.cost.weight_bytes;
    out.group_of_node[i] = target;
  }

  // Traffic at group boundaries: each outside value read once, each escaping value written
  // once. Values whose shape is unknown count zero (as in the ops' cost functions).
  for (size_t gi = 0; gi < out.groups.size(); ++gi) {
    FusedGroup& g = out.groups[gi];
    std::set<ir::ValueId> read;
    for (ir::NodeId n : g.members) {
      if (recs[static_cast<size_t>(n)].cost_missing) continue;  // counted as zero, listed
      for (ir::ValueId in : graph.node(n).inputs) {
        if (in == ir::kNoValue || graph.value(in).constant) continue;
        ir::NodeId p = graph.value(in).producer;
        if (p != ir::kNoNode && out.group_of_node[static_cast<size_t>(p)] == static_cast<int>(gi))
          continue;
        if (read.insert(in).second) g.bytes_read += ValueBytesAt(graph, in, costs.precision);
      }
      for (ir::ValueId o : graph.node(n).outputs) {
        if (o == ir::kNoValue) continue;
        const ir::Value& v = graph.value(o);
        bool escapes = v.is_graph_output ||
                       std::any_of(v.consumers.begin(), v.consumers.end(), [&](ir::NodeId c) {
                         return out.group_of_node[c] != static_cast<int>(gi);
                       });
        if (escapes) g.bytes_written += ValueBytesAt(graph, o, costs.precision);
      }
    }
    for (size_t m = 0; m < g.members.size(); ++m) {
      if (recs[static_cast<size_t>(g.members[m])].cost.kind == ops::OpKind::kCompute) {
        g.anchor_index = m;
        g.kind = ops::OpKind::kCompute;
        g.name = recs[static_cast<size_t>(g.members[m])].name;
        break;
      }
    }
  }
  return out;
}

}  // namespace ridge::analysis
