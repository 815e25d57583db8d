// Graph -> kernels: slot assignment, layout choice, fusion and the op builders (compiler.cc,
// builders.cc). Internal to the CPU backend.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "backends/cpu/kernels.h"

namespace ridge::cpu {

struct Program {
  ExecState state;
  std::vector<std::unique_ptr<Kernel>> kernels;
  std::vector<std::vector<std::string>> kernel_nodes;  // node names per kernel
  std::vector<std::string> kernel_kind;                // "dnnl", "alias", "reference"
  std::vector<int> input_slots;                        // per graph input
  std::vector<int> output_slots;                       // per graph output
  std::vector<std::string> input_names;
};

class Compiler {
 public:
  Compiler(const ir::Graph& graph, const ExecutorOptions& options, Program* program);
  Status Compile();

  // --- used by the op builders ---
  const ir::Graph& graph() const { return graph_; }
  const ExecutorOptions& options() const { return options_; }
  dnnl::engine& engine() { return program_->state.engine; }
  Slot& slot(int id) { return program_->state.slots[id]; }
  // Slot holding value v (-1 if not yet computed).
  int SlotOf(ir::ValueId v) const { return slot_of_value_[v]; }
  // Slot holding value v in plain layout, adding a reorder when it is blocked.
  int PlainSlot(ir::ValueId v);
  // Slot holding value v in layout `md` (fp32), adding a reorder when needed.
  int SlotWithDesc(ir::ValueId v, const dnnl::memory::desc& md);
  // A new arena slot for value v (its dims/dtype) with layout md; binds v to it.
  int NewValueSlot(ir::ValueId v, const dnnl::memory::desc& md);
  void AddKernel(std::unique_ptr<Kernel> kernel, std::vector<ir::NodeId> nodes, std::string kind);
  // Marks node n as executed by a kernel built for another node (fusion).
  void MarkFused(ir::NodeId n) { fused_.insert(n); }
  const ir::Value& value(ir::ValueId v) const { return graph_.value(v); }
  // Whether some kernel built so far reads slot s's bytes through an alias (Reshape, ...).
  bool IsAliased(int s) const;
  bool IsFloatActivation(ir::ValueId v) const;

 private:
  Status BuildNode(ir::NodeId id, bool* handled);
  int AddReorder(int from, const dnnl::memory::desc& md);

  const ir::Graph& graph_;
  ExecutorOptions options_;
  Program* program_;
  std::vector<int> slot_of_value_;
  struct CachedReorder {
    int from;
    dnnl::memory::desc md;
    int to;
  };
  std::vector<CachedReorder> reorders_;  // a layout conversion is done once per value
  std::set<ir::NodeId> fused_;
};

// Op builders (builders.cc). Each returns OK with *handled=false to decline (the reference
// kernel then runs the node), or an error for a node it should run but cannot.
Status BuildConv(Compiler& c, ir::NodeId id, bool* handled);
Status BuildPool(Compiler& c, ir::NodeId id, bool* handled);
Status BuildMatMul(Compiler& c, ir::NodeId id, bool* handled);
Status BuildGemm(Compiler& c, ir::NodeId id, bool* handled);
Status BuildUnary(Compiler& c, ir::NodeId id, bool* handled);
Status BuildBinary(Compiler& c, ir::NodeId id, bool* handled);
Status BuildSoftmax(Compiler& c, ir::NodeId id, bool* handled);
Status BuildLayerNorm(Compiler& c, ir::NodeId id, bool* handled);
Status BuildConcat(Compiler& c, ir::NodeId id, bool* handled);
Status BuildTranspose(Compiler& c, ir::NodeId id, bool* handled);
Status BuildAlias(Compiler& c, ir::NodeId id, bool* handled);
// builders_layout.cc: window copies and resampling that keep blocked layouts.
Status BuildSlice(Compiler& c, ir::NodeId id, bool* handled);
Status BuildSplit(Compiler& c, ir::NodeId id, bool* handled);
Status BuildResize(Compiler& c, ir::NodeId id, bool* handled);
// Concat along channels of same-blocked inputs; false leaves it to BuildConcat.
bool TryBuildBlockedConcat(Compiler& c, ir::NodeId id);
// (Log)Softmax over a non-innermost axis with the backend's own loop; false if not that case.
bool TryBuildStridedSoftmax(Compiler& c, ir::NodeId id);
// PyTorch's exact GELU subgraph (Div, Erf, Add, Mul, Mul) as one kernel; false if no match.
bool TryBuildGelu(Compiler& c, ir::NodeId div_id);
// The GELU subgraph starting at div_id without building it: nodes = {div, erf, add, mul, half}.
bool MatchGelu(const Compiler& c, ir::NodeId div_id, std::vector<ir::NodeId>* nodes);

// Ops some builder handles natively (also without a reference kernel).
bool HasNativeKernel(const std::string& op_type);

}  // namespace ridge::cpu
