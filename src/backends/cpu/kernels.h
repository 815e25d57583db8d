// The CPU backend's kernel kinds. All run over slots (kernel.h); the compiler builds them.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/graph.h"
#include "ops/op.h"

namespace ridge::cpu {

// Any oneDNN primitive: arguments bound to slots at run time, constants (packed weights,
// bias) held by the kernel. With `sum_source` set, that slot is first copied (reordered) into
// the destination, which the primitive's sum post-op then accumulates into (residual add).
class DnnlKernel : public Kernel {
 public:
  dnnl::primitive primitive;
  struct SlotArg {
    int arg;  // DNNL_ARG_*
    int slot;
    std::optional<dnnl::memory::desc> md;  // a view of the slot's bytes (e.g. rank-padded)
  };
  std::vector<SlotArg> slot_args;
  std::vector<std::pair<int, dnnl::memory>> const_args;
  int sum_source = -1;
  int sum_dest = -1;
  dnnl::primitive sum_copy;  // reorder sum_source -> sum_dest
  // sum_dest aliases sum_source's bytes (the residual is dead after this kernel): no copy.
  bool sum_in_place = false;

  Status Run(ExecState& state) override;
};

// Output slot shares the input slot's bytes (Reshape, Flatten, Squeeze, Identity, ...).
class AliasKernel : public Kernel {
 public:
  Status Run(ExecState& state) override;
};

// Fallback: the op's reference kernel from src/ops on plain tensors.
class ReferenceKernel : public Kernel {
 public:
  ReferenceKernel(const ir::Node& node, ir::NodeId id, const ops::OpDef& def)
      : node_(node), node_id_(id), def_(def) {}
  Status Run(ExecState& state) override;

 private:
  const ir::Node& node_;
  ir::NodeId node_id_;
  const ops::OpDef& def_;
};

}  // namespace ridge::cpu
