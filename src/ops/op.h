// The contract every op implements: attributes are read through the node, and an OpDef bundles
//   - shape/dtype inference (InferContext),
//   - the cost model: FLOPs and bytes at a chosen precision (CostContext -> NodeCost),
//   - a CPU reference kernel (KernelContext), used for constant folding and as the numerical
//     reference the backends are tested against.
// One OpDef per op, defined in the op's own file (see src/ir/op_list.def).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace ridge::ops {

// What kind of work a node does; the analyzer reports FLOPs and time shares per kind.
enum class OpKind {
  kCompute,       // conv, gemm, matmul: Tensor Core candidates
  kElementwise,   // activations, arithmetic, normalization applied per element
  kReduction,     // pooling, reductions, softmax, norms with a reduction
  kDataMovement,  // reshape, transpose, concat, slice, gather, pad, cast, identity, layout
  kShortcutAdd,   // an Add of two activations (residual): pure memory traffic, counted apart
  kShape,         // shape arithmetic folded at build time: no runtime cost
};
std::string_view OpKindName(OpKind kind);  // "compute", "elementwise", ...

// ---------------------------------------------------------------------------------------------
class InferContext {
 public:
  InferContext(ir::Graph& graph, ir::NodeId node_id) : graph_(graph), node_id_(node_id) {}

  const ir::Node& node() const { return graph_.node(node_id_); }
  ir::NodeId node_id() const { return node_id_; }
  // Read-only graph access, for ops that look through their inputs' producers (data
  // propagation of partially known shape tensors, see PartialIntValues in util_tensor.h).
  const ir::Graph& graph() const { return graph_; }
  ir::ValueId input_id(size_t i) const { return node().inputs[i]; }
  size_t num_inputs() const { return node().inputs.size(); }
  size_t num_outputs() const { return node().outputs.size(); }
  // False when input i is absent or omitted (optional inputs).
  bool has_input(size_t i) const;
  DType input_dtype(size_t i) const { return input(i).dtype; }
  // Shape of input i; nullptr when its rank is unknown.
  const Shape* input_shape(size_t i) const;
  // Constant data of input i (initializer or folded); nullptr when not constant.
  const Tensor* input_constant(size_t i) const;
  bool has_output(size_t i) const;

  void SetOutput(size_t i, DType dtype, Shape shape);
  // Sets only the dtype of output i; its rank stays unknown (e.g. reduce axes not constant).
  void SetOutputType(size_t i, DType dtype);
  // Default-domain opset of the graph (0 when unknown: ops then assume the latest semantics).
  int64_t opset_version() const { return graph_.opset_version; }
  // Sets dtype, shape and constant data of output i (constant folding).
  void SetOutputConstant(size_t i, Tensor value);

  // An InvalidModel error prefixed with this node's description.
  Status Error(const std::string& message) const;
  // Requires at least `min` and at most `max` inputs, and inputs [0, required) present.
  Status CheckArity(size_t min_inputs, size_t max_inputs) const;

 private:
  const ir::Value& input(size_t i) const { return graph_.value(node().inputs[i]); }
  ir::Graph& graph_;
  ir::NodeId node_id_;
};

// ---------------------------------------------------------------------------------------------
// Cost of one node. A multiply-add counts as 2 FLOPs. Bytes are the minimum traffic of an
// unfused kernel: every non-constant input read once, constant inputs (weights) read once,
// outputs written once, at the element size given by the analysis precision.
struct NodeCost {
  double flops = 0;
  double bytes_read = 0;    // activations read (weights excluded)
  double weight_bytes = 0;  // constant inputs read
  double bytes_written = 0;
  OpKind kind = OpKind::kElementwise;
  // Tensor Core relevance (compute ops): GEMM view of the op. 0 when not applicable.
  int64_t gemm_m = 0, gemm_n = 0, gemm_k = 0;

  double total_bytes() const { return bytes_read + weight_bytes + bytes_written; }
};

class CostContext {
 public:
  CostContext(const ir::Graph& graph, ir::NodeId node_id, Precision precision)
      : graph_(graph), node_id_(node_id), precision_(precision) {}

  const ir::Node& node() const { return graph_.node(node_id_); }
  const ir::Graph& graph() const { return graph_; }
  Precision precision() const { return precision_; }
  size_t num_inputs() const { return node().inputs.size(); }
  size_t num_outputs() const { return node().outputs.size(); }
  bool has_input(size_t i) const { return i < num_inputs() && node().inputs[i] != ir::kNoValue; }
  bool has_output(size_t i) const { return i < num_outputs() && node().outputs[i] != ir::kNoValue; }
  bool input_is_constant(size_t i) const;
  // Dims of input/output i; empty vector if unknown (cost functions then count 0).
  std::vector<int64_t> input_dims(size_t i) const;
  std::vector<int64_t> output_dims(size_t i) const;
  int64_t input_elements(size_t i) const;
  int64_t output_elements(size_t i) const;
  // Bytes per element of a value at the analysis precision: floating tensors take the
  // precision's size (fp16: 2), integer/bool tensors keep their own.
  double input_element_bytes(size_t i) const;
  double output_element_bytes(size_t i) const;
  double input_bytes(size_t i) const { return input_elements(i) * input_element_bytes(i); }
  double output_bytes(size_t i) const { return output_elements(i) * output_element_bytes(i); }

  // The default cost: read all inputs (constants as weight bytes), write all outputs,
  // `flops_per_output` FLOPs per output element.
  NodeCost ElementwiseCost(OpKind kind, double flops_per_output) const;

 private:
  double ElementBytes(DType dtype) const;
  const ir::Graph& graph_;
  ir::NodeId node_id_;
  Precision precision_;
};

// ---------------------------------------------------------------------------------------------
class KernelContext {
 public:
  KernelContext(const ir::Node& node, std::vector<const Tensor*> inputs, size_t num_outputs)
      : node_(node), inputs_(std::move(inputs)), outputs_(num_outputs) {}

  const ir::Node& node() const { return node_; }
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Tensor& input(size_t i) const { return *inputs_[i]; }
  size_t num_outputs() const { return outputs_.size(); }
  void SetOutput(size_t i, Tensor t) { outputs_[i] = std::move(t); }
  Tensor& output(size_t i) { return outputs_[i]; }
  std::vector<Tensor>& outputs() { return outputs_; }
  Status Error(const std::string& message) const;
  // Default-domain opset of the graph (0 when unknown: kernels assume the latest semantics).
  int64_t opset_version() const { return opset_version_; }
  void set_opset_version(int64_t v) { opset_version_ = v; }

 private:
  const ir::Node& node_;
  int64_t opset_version_ = 0;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
};

// ---------------------------------------------------------------------------------------------
struct OpDef {
  const char* op_type;
  OpKind kind;  // the usual kind; cost() may refine it (e.g. Add -> kShortcutAdd)
  Status (*infer)(InferContext&);
  NodeCost (*cost)(const CostContext&);
  Status (*reference)(KernelContext&);  // nullptr: no reference kernel yet (no folding)
};

// Looks an op up by type in the default domain ("" or "ai.onnx"); nullptr if unknown.
const OpDef* FindOp(std::string_view domain, std::string_view op_type);
std::span<const OpDef* const> AllOps();

}  // namespace ridge::ops
