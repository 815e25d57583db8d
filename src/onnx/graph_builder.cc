#include "onnx/graph_builder.h"

#include <unordered_map>

#include "core/checked_math.h"
#include "onnx/tensor_proto.h"

namespace ridge::onnx::internal {
namespace {

using ::onnx::AttributeProto;
using ::onnx::GraphProto;

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// Subgraphs (If/Loop/Scan bodies) are refused later, but their nesting is bounded first so that
// no later walk over them can recurse without limit.
Status CheckGraphDepth(const GraphProto& graph, int64_t depth, int64_t max_depth) {
  if (depth > max_depth) {
    return LimitExceeded("subgraphs nest " + std::to_string(depth) + " deep, over the cap of " +
                         std::to_string(max_depth));
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    for (const auto& attr : node.attribute()) {
      const std::string who = "node " +
                              (node.name().empty() ? "#" + std::to_string(i) : Quote(node.name())) +
                              " (" + node.op_type() + ") attribute " + Quote(attr.name());
      if (attr.has_g()) {
        RIDGE_RETURN_IF_ERROR_CTX(CheckGraphDepth(attr.g(), depth + 1, max_depth), who);
      }
      for (const auto& g : attr.graphs()) {
        RIDGE_RETURN_IF_ERROR_CTX(CheckGraphDepth(g, depth + 1, max_depth), who);
      }
    }
  }
  return Status::Ok();
}

// Old files (IR version < 3?) may leave AttributeProto.type unset; infer it from what is set.
AttributeProto::AttributeType EffectiveType(const AttributeProto& a) {
  if (a.type() != AttributeProto::UNDEFINED) return a.type();
  if (a.has_g() || a.graphs_size() > 0) return AttributeProto::GRAPH;
  if (a.has_t()) return AttributeProto::TENSOR;
  if (a.ints_size() > 0) return AttributeProto::INTS;
  if (a.floats_size() > 0) return AttributeProto::FLOATS;
  if (a.strings_size() > 0) return AttributeProto::STRINGS;
  if (a.has_s()) return AttributeProto::STRING;
  if (a.has_f()) return AttributeProto::FLOAT;
  if (a.has_i()) return AttributeProto::INT;
  return AttributeProto::UNDEFINED;
}

class GraphBuilder {
 public:
  GraphBuilder(const std::string& base_dir, const LoadOptions& options)
      : options_(options), limits_(options.limits) {
    tensor_ctx_.limits = &limits_;
    tensor_ctx_.base_dir = base_dir;
    tensor_ctx_.load_data = options.load_weights;
  }

  Result<ir::Graph> Build(const ::onnx::ModelProto& model) {
    if (model.ir_version() <= 0) {
      return InvalidModel("not an ONNX model: ir_version is " + std::to_string(model.ir_version()) +
                          " (must be > 0)");
    }
    if (!model.has_graph()) return InvalidModel("not an ONNX model: it has no graph");
    RIDGE_RETURN_IF_ERROR(ReadOpset(model));
    const GraphProto& g = model.graph();
    RIDGE_RETURN_IF_ERROR(CheckGraphDepth(g, 1, limits_.max_graph_depth));
    if (g.node_size() > limits_.max_nodes) {
      return LimitExceeded("the graph has " + std::to_string(g.node_size()) +
                           " nodes, over the cap of " + std::to_string(limits_.max_nodes));
    }
    if (g.sparse_initializer_size() > 0) {
      return Unsupported("sparse initializers are not supported");
    }
    graph_.name = g.name();
    graph_.producer_name = model.producer_name();
    RIDGE_RETURN_IF_ERROR(AddInitializers(g));
    RIDGE_RETURN_IF_ERROR(AddInputs(g));
    for (int i = 0; i < g.node_size(); ++i) RIDGE_RETURN_IF_ERROR(AddNode(g.node(i), i));
    RIDGE_RETURN_IF_ERROR(CheckDangling());
    RIDGE_RETURN_IF_ERROR(AddOutputs(g));
    for (int i = 0; i < g.value_info_size(); ++i) {
      const auto& vi = g.value_info(i);
      auto id = graph_.FindValue(vi.name());
      RIDGE_RETURN_IF_ERROR_CTX(ApplyType(vi, id.value_or(ir::kNoValue), /*overwrite=*/false),
                                "value_info #" + std::to_string(i) + " " + Quote(vi.name()));
    }
    RIDGE_RETURN_IF_ERROR(graph_.SortTopologically());
    return std::move(graph_);
  }

 private:
  Status ReadOpset(const ::onnx::ModelProto& model) {
    bool found = false;
    for (const auto& op : model.opset_import()) {
      if (op.domain() != "" && op.domain() != "ai.onnx") continue;
      if (found) return InvalidModel("opset_import lists the default domain twice");
      if (op.version() <= 0) {
        return InvalidModel("opset_import version " + std::to_string(op.version()) +
                            " for the default domain is not positive");
      }
      // Semantics of opsets newer than the ONNX releases Ridgeline was written against are
      // unknown: refuse rather than guess.
      constexpr int64_t kNewestKnownOpset = 24;
      if (op.version() > kNewestKnownOpset) {
        return Unsupported("opset " + std::to_string(op.version()) +
                           " for the default domain is newer than Ridgeline knows (up to " +
                           std::to_string(kNewestKnownOpset) + ")");
      }
      graph_.opset_version = op.version();
      found = true;
    }
    if (!found) return InvalidModel("opset_import has no entry for the default ONNX domain");
    return Status::Ok();
  }

  // Records who introduced each name, for "duplicate" messages that name both sides.
  Status Claim(const std::string& name, const std::string& who) {
    auto [it, inserted] = owner_.emplace(name, who);
    if (!inserted) {
      return InvalidModel(who + ": value name " + Quote(name) + " is already used by " +
                          it->second);
    }
    return Status::Ok();
  }

  Status AddInitializers(const GraphProto& g) {
    int64_t total_bytes = 0;
    for (int i = 0; i < g.initializer_size(); ++i) {
      const auto& proto = g.initializer(i);
      const std::string who = "initializer #" + std::to_string(i) + " " + Quote(proto.name());
      if (proto.name().empty()) return InvalidModel(who + ": initializer has no name");
      RIDGE_RETURN_IF_ERROR(Claim(proto.name(), who));
      auto parsed = ParseTensorProto(proto, tensor_ctx_);
      if (!parsed.ok()) return parsed.status().WithContext(who);
      auto sum = CheckedAdd(total_bytes, parsed->size_bytes);
      if (!sum || *sum > limits_.max_total_initializer_bytes) {
        return LimitExceeded(who + ": initializers exceed the total cap of " +
                             std::to_string(limits_.max_total_initializer_bytes) + " bytes");
      }
      total_bytes = *sum;
      ir::ValueId id = graph_.AddValue(proto.name());
      ir::Value& v = graph_.value(id);
      v.dtype = parsed->dtype;
      v.shape = Shape::FromInts(parsed->dims);
      v.constant = std::move(parsed->data);
      v.is_initializer = true;
    }
    return Status::Ok();
  }

  Status AddInputs(const GraphProto& g) {
    std::unordered_map<std::string, int> seen;
    for (int i = 0; i < g.input_size(); ++i) {
      const auto& vi = g.input(i);
      const std::string who = "graph input #" + std::to_string(i) + " " + Quote(vi.name());
      if (vi.name().empty()) return InvalidModel(who + ": graph input has no name");
      auto [it, inserted] = seen.emplace(vi.name(), i);
      if (!inserted) {
        return InvalidModel(who + ": duplicate of graph input #" + std::to_string(it->second));
      }
      auto existing = graph_.FindValue(vi.name());
      if (existing) {
        // An initializer listed as an input (old exporters): a default value, not something
        // the caller feeds. Its type is still validated.
        RIDGE_RETURN_IF_ERROR_CTX(ApplyType(vi, ir::kNoValue, false), who);
        continue;
      }
      RIDGE_RETURN_IF_ERROR(Claim(vi.name(), who));
      ir::ValueId id = graph_.AddValue(vi.name());
      RIDGE_RETURN_IF_ERROR_CTX(ApplyType(vi, id, true), who);
      graph_.AddInput(id);
    }
    return Status::Ok();
  }

  // Validates a ValueInfoProto's type and, when `id` is a value, sets its dtype/shape
  // (only where still unknown unless `overwrite`).
  Status ApplyType(const ::onnx::ValueInfoProto& vi, ir::ValueId id, bool overwrite) {
    if (!vi.has_type()) return Status::Ok();
    const auto& type = vi.type();
    if (!type.has_tensor_type()) {
      if (type.value_case() == ::onnx::TypeProto::VALUE_NOT_SET) return Status::Ok();
      return Unsupported("only tensor types are supported (sequence, map, optional are not)");
    }
    const auto& tt = type.tensor_type();
    DType dtype = DType::kUndefined;
    if (tt.elem_type() != 0) {
      RIDGE_ASSIGN_OR_RETURN(dtype, ConvertDType(tt.elem_type()));
    }
    std::optional<Shape> shape;
    if (tt.has_shape()) {
      const auto& sp = tt.shape();
      if (sp.dim_size() > limits_.max_rank) {
        return LimitExceeded("rank " + std::to_string(sp.dim_size()) + " exceeds the cap of " +
                             std::to_string(limits_.max_rank));
      }
      std::vector<Dim> dims;
      dims.reserve(static_cast<size_t>(sp.dim_size()));
      for (int d = 0; d < sp.dim_size(); ++d) {
        const auto& dim = sp.dim(d);
        if (dim.has_dim_value()) {
          if (dim.dim_value() < 0) {
            return InvalidModel("dim " + std::to_string(d) + " is negative (" +
                                std::to_string(dim.dim_value()) + ")");
          }
          if (dim.dim_value() > limits_.max_dim_value) {
            return LimitExceeded("dim " + std::to_string(d) + " = " +
                                 std::to_string(dim.dim_value()) + " exceeds the cap of " +
                                 std::to_string(limits_.max_dim_value));
          }
          dims.emplace_back(dim.dim_value());
        } else if (dim.has_dim_param()) {
          dims.push_back(Dim::Symbolic(dim.dim_param()));
        } else {
          dims.emplace_back();
        }
      }
      shape = Shape(std::move(dims));
    }
    if (id == ir::kNoValue) return Status::Ok();
    ir::Value& v = graph_.value(id);
    if (overwrite || v.dtype == DType::kUndefined) v.dtype = dtype;
    if (overwrite || !v.shape) v.shape = std::move(shape);
    return Status::Ok();
  }

  // A value named by a node input; created on first mention (its producer may come later).
  ir::ValueId ValueFor(const std::string& name) {
    if (auto id = graph_.FindValue(name)) return *id;
    return graph_.AddValue(name);
  }

  Status AddNode(const ::onnx::NodeProto& proto, int index) {
    ir::Node node;
    node.name = proto.name();
    node.op_type = proto.op_type();
    node.domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
    const std::string who = node.Describe(index);
    if (node.op_type.empty()) return InvalidModel(who + ": node has no op_type");
    for (const std::string& in : proto.input()) {
      node.inputs.push_back(in.empty() ? ir::kNoValue : ValueFor(in));
    }
    for (int k = 0; k < proto.output_size(); ++k) {
      const std::string& out = proto.output(k);
      if (out.empty()) {
        node.outputs.push_back(ir::kNoValue);
        continue;
      }
      RIDGE_RETURN_IF_ERROR(Claim(out, who + " output " + std::to_string(k)));
      node.outputs.push_back(ValueFor(out));
    }
    for (const auto& attr : proto.attribute()) {
      const std::string attr_who = who + " attribute " + Quote(attr.name());
      if (attr.name().empty()) return InvalidModel(who + ": an attribute has no name");
      if (node.attributes.count(attr.name())) {
        return InvalidModel(attr_who + ": duplicate attribute name");
      }
      auto converted = ConvertAttribute(attr);
      if (!converted.ok()) return converted.status().WithContext(attr_who);
      node.attributes.emplace(attr.name(), std::move(converted).value());
    }
    graph_.AddNode(std::move(node));
    return Status::Ok();
  }

  Result<ir::Attribute> ConvertAttribute(const AttributeProto& a) {
    using Kind = ir::Attribute::Kind;
    ir::Attribute out;
    switch (EffectiveType(a)) {
      case AttributeProto::FLOAT:
        out.kind = Kind::kFloat;
        out.f = a.f();
        break;
      case AttributeProto::INT:
        out.kind = Kind::kInt;
        out.i = a.i();
        break;
      case AttributeProto::STRING:
        out.kind = Kind::kString;
        out.s = a.s();
        break;
      case AttributeProto::FLOATS:
        out.kind = Kind::kFloats;
        out.floats.assign(a.floats().begin(), a.floats().end());
        break;
      case AttributeProto::INTS:
        out.kind = Kind::kInts;
        out.ints.assign(a.ints().begin(), a.ints().end());
        break;
      case AttributeProto::STRINGS:
        out.kind = Kind::kStrings;
        out.strings.assign(a.strings().begin(), a.strings().end());
        break;
      case AttributeProto::TENSOR: {
        out.kind = Kind::kTensor;
        // Attribute tensors are always loaded: Constant nodes feed shape inference.
        TensorReadContext ctx = tensor_ctx_;
        ctx.load_data = true;
        RIDGE_ASSIGN_OR_RETURN(ParsedTensor t, ParseTensorProto(a.t(), ctx));
        if (!t.data) return Internal("tensor attribute was validated but not loaded");
        out.t = std::move(*t.data);
        break;
      }
      case AttributeProto::GRAPH:
      case AttributeProto::GRAPHS:
        return Unsupported("subgraph attributes (If/Loop/Scan bodies) are not supported");
      case AttributeProto::UNDEFINED:
        return InvalidModel("attribute has no type and no value");
      default:
        return Unsupported("attribute type " + std::to_string(static_cast<int>(a.type())) +
                           " (sparse tensor, tensors, type proto) is not supported");
    }
    return out;
  }

  // Every node input must be produced by a node, be a graph input or an initializer. Checked
  // here, in file order, so the message can name the input's index.
  Status CheckDangling() {
    for (size_t n = 0; n < graph_.num_nodes(); ++n) {
      const ir::Node& node = graph_.node(static_cast<ir::NodeId>(n));
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        if (node.inputs[k] == ir::kNoValue) continue;
        const ir::Value& v = graph_.value(node.inputs[k]);
        if (v.producer == ir::kNoNode && !v.is_graph_input && !v.is_initializer) {
          return InvalidModel(node.Describe(static_cast<ir::NodeId>(n)) + " input " +
                              std::to_string(k) + ": value " + Quote(v.name) +
                              " is not produced by any node, nor a graph input or initializer");
        }
      }
    }
    return Status::Ok();
  }

  Status AddOutputs(const GraphProto& g) {
    std::unordered_map<std::string, int> seen;
    for (int i = 0; i < g.output_size(); ++i) {
      const auto& vi = g.output(i);
      const std::string who = "graph output #" + std::to_string(i) + " " + Quote(vi.name());
      if (vi.name().empty()) return InvalidModel(who + ": graph output has no name");
      auto [it, inserted] = seen.emplace(vi.name(), i);
      if (!inserted) {
        return InvalidModel(who + ": duplicate of graph output #" + std::to_string(it->second));
      }
      auto id = graph_.FindValue(vi.name());
      if (!id || (graph_.value(*id).producer == ir::kNoNode && !graph_.value(*id).is_graph_input &&
                  !graph_.value(*id).is_initializer)) {
        return InvalidModel(who + ": not produced by any node, nor a graph input or initializer");
      }
      RIDGE_RETURN_IF_ERROR_CTX(ApplyType(vi, *id, false), who);
      graph_.AddOutput(*id);
    }
    return Status::Ok();
  }

  const LoadOptions& options_;
  const LoadLimits& limits_;
  TensorReadContext tensor_ctx_;
  ir::Graph graph_;
  std::unordered_map<std::string, std::string> owner_;  // value name -> who introduced it
};

}  // namespace

Result<ir::Graph> BuildGraph(const ::onnx::ModelProto& model, const std::string& base_dir,
                             const LoadOptions& options) {
  GraphBuilder builder(base_dir, options);
  return builder.Build(model);
}

}  // namespace ridge::onnx::internal
