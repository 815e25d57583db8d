// The CPU backend: compiles a shape-inferred ir::Graph into a list of kernels (oneDNN for conv,
// matmul/gemm, pooling, normalization, softmax, layout changes and elementwise math; the ops'
// reference kernels for everything else), plans activation memory by liveness, and runs it.
//
// Usage:
//   ops::InferShapes(graph, {.batch = 1});
//   RIDGE_ASSIGN_OR_RETURN(auto exec, cpu::Executor::Create(graph, {.num_threads = 2}));
//   RIDGE_ASSIGN_OR_RETURN(auto outputs, exec->Run({{"input", tensor}}));
//
// The executor keeps a pointer to the graph's constants: the graph must outlive it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace ridge::cpu {

struct ExecutorOptions {
  int num_threads = 0;          // 0: all cores
  bool fuse = true;             // conv + bias + activation + residual add
  bool blocked_layouts = true;  // let oneDNN choose blocked layouts for conv chains
  bool winograd = true;         // Winograd for 3x3 stride-1 convs of >= 64 channels (blocked)
  bool profile = false;         // time every kernel
};

struct LayerTime {
  std::string label;    // node name(s) fused into the kernel, joined with '+'
  std::string op_type;  // e.g. "Conv+Add+Relu", "Reorder", "Reshape"
  std::vector<std::string> node_names;
  double total_ms = 0;  // summed over the runs since the last ResetProfile()
};

struct MemoryPlanStats {
  int64_t planned_bytes = 0;  // arena size after liveness-based reuse
  int64_t naive_bytes = 0;    // sum of every planned activation buffer
  int64_t num_buffers = 0;
};

class Executor {
 public:
  static Result<std::unique_ptr<Executor>> Create(const ir::Graph& graph,
                                                  const ExecutorOptions& options);
  ~Executor();

  // Runs once. Inputs by graph input name (each required; dtype and dims must match);
  // returns the graph outputs in graph order, plain row-major.
  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs);

  const MemoryPlanStats& memory_stats() const;
  // Per-kernel times (options.profile), in execution order.
  std::vector<LayerTime> Profile() const;
  void ResetProfile();
  // How many kernels of each kind ran ("dnnl", "reference", ...), for reports and tests.
  std::map<std::string, int> KernelCounts() const;
  size_t num_kernels() const;

 private:
  struct Impl;
  explicit Executor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Every node the CPU backend cannot run, all at once (Unsupported), or OK.
Status CheckSupported(const ir::Graph& graph);

}  // namespace ridge::cpu
