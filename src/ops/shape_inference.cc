#include "ops/shape_inference.h"

#include <charconv>

#include "core/checked_math.h"
#include "ops/op.h"

namespace ridge::ops {
namespace {

constexpr int64_t kMaxDimValue = int64_t{1} << 40;
// Largest element count any value may have, counting only its known dims. Bounding every value
// keeps all later products of dims (strides, costs, kernel sizes) far from int64 overflow.
constexpr int64_t kMaxKnownElements = int64_t{1} << 48;

// Refuses a shape whose known dims exceed kMaxDimValue or multiply past kMaxKnownElements.
Status CheckShapeBounds(const Shape& shape, const std::string& what) {
  int64_t known = 1;
  for (size_t i = 0; i < shape.rank(); ++i) {
    if (!shape[i].known()) continue;
    auto product = CheckedMul(known, shape[i].value);
    if (shape[i].value > kMaxDimValue || !product || *product > kMaxKnownElements) {
      return InvalidModel(what + " has shape " + shape.ToString() +
                          ", beyond Ridgeline's bounds (dims <= 2^40, <= 2^48 elements)");
    }
    known = *product;
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> ParseDims(const std::string& text) {
  std::vector<int64_t> dims;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('x', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view part(text.data() + pos, end - pos);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() || v < 0 ||
        v > kMaxDimValue) {
      return InvalidArgument("bad dim '" + std::string(part) + "' in shape '" + text +
                             "' (expected non-negative integers joined by 'x')");
    }
    dims.push_back(v);
    pos = end + 1;
  }
  return dims;
}

// Runs the reference kernel of a node whose inputs are all constant, storing its outputs.
Status FoldNode(ir::Graph& graph, ir::NodeId id, const OpDef& def, int64_t max_elements) {
  const ir::Node& node = graph.node(id);
  std::vector<const Tensor*> inputs;
  for (ir::ValueId in : node.inputs) {
    if (in == ir::kNoValue) {
      inputs.push_back(nullptr);
      continue;
    }
    const ir::Value& v = graph.value(in);
    if (!v.constant) return Status::Ok();  // not foldable
    inputs.push_back(&*v.constant);
  }
  for (ir::ValueId out : node.outputs) {
    if (out == ir::kNoValue) continue;
    const ir::Value& v = graph.value(out);
    if (v.constant) return Status::Ok();  // infer already folded it
    if (!v.shape) return Status::Ok();
    auto n = v.shape->NumElements();
    if (!n || *n > max_elements) return Status::Ok();
  }
  KernelContext ctx(node, std::move(inputs), node.outputs.size());
  ctx.set_opset_version(graph.opset_version);
  RIDGE_RETURN_IF_ERROR_CTX(def.reference(ctx), "while folding constants");
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    if (node.outputs[i] == ir::kNoValue || ctx.output(i).empty()) continue;
    ir::Value& v = graph.value(node.outputs[i]);
    v.dtype = ctx.output(i).dtype();
    v.shape = Shape::FromInts(ctx.output(i).dims());
    v.constant = std::move(ctx.output(i));
  }
  return Status::Ok();
}

}  // namespace

Status ParseShapesFlag(const std::string& text, InferOptions* options) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return InvalidArgument("--shapes item '" + item + "' is not of the form name:1x3x224x224");
    }
    RIDGE_ASSIGN_OR_RETURN(auto dims, ParseDims(item.substr(colon + 1)));
    options->input_shapes[item.substr(0, colon)] = std::move(dims);
    pos = end + 1;
  }
  return Status::Ok();
}

Status BindInputShapes(ir::Graph& graph, const InferOptions& options) {
  if (options.batch && (*options.batch <= 0 || *options.batch > kMaxDimValue)) {
    return InvalidArgument("--batch must be a positive integer, got " +
                           std::to_string(*options.batch));
  }
  for (const auto& [name, dims] : options.input_shapes) {
    auto id = graph.FindValue(name);
    if (!id || !graph.value(*id).is_graph_input) {
      std::string known;
      for (ir::ValueId in : graph.inputs())
        known += (known.empty() ? "" : ", ") + graph.value(in).name;
      return InvalidArgument("--shapes names '" + name +
                             "', which is not a graph input (inputs: " + known + ")");
    }
    ir::Value& v = graph.value(*id);
    if (v.shape && v.shape->rank() != dims.size()) {
      return InvalidArgument("--shapes gives input '" + name + "' rank " +
                             std::to_string(dims.size()) + " but the model declares " +
                             v.shape->ToString());
    }
    v.shape = Shape::FromInts(dims);
  }
  if (options.batch) {
    for (ir::ValueId in : graph.inputs()) {
      ir::Value& v = graph.value(in);
      if (options.input_shapes.count(v.name) || !v.shape || v.shape->rank() == 0) continue;
      (*v.shape)[0] = Dim(*options.batch);
    }
  }
  for (ir::ValueId in : graph.inputs()) {
    const ir::Value& v = graph.value(in);
    if (v.shape) RIDGE_RETURN_IF_ERROR(CheckShapeBounds(*v.shape, "graph input '" + v.name + "'"));
  }
  return Status::Ok();
}

Status CheckOpsKnown(const ir::Graph& graph) {
  std::string list;
  int count = 0;
  for (size_t i = 0; i < graph.num_nodes(); ++i) {
    const ir::Node& n = graph.node(static_cast<ir::NodeId>(i));
    if (FindOp(n.domain, n.op_type)) continue;
    ++count;
    list += (list.empty() ? "" : ", ") + n.Describe(static_cast<ir::NodeId>(i));
    if (!n.domain.empty() && n.domain != "ai.onnx") list += " [domain " + n.domain + "]";
  }
  if (count == 0) return Status::Ok();
  return Unsupported(std::to_string(count) + " node" + (count == 1 ? "" : "s") +
                     " with ops Ridgeline does not know: " + list);
}

namespace {

Status InferAllNodes(ir::Graph& graph, const InferOptions& options) {
  RIDGE_RETURN_IF_ERROR(BindInputShapes(graph, options));
  RIDGE_RETURN_IF_ERROR(CheckOpsKnown(graph));
  for (size_t i = 0; i < graph.num_nodes(); ++i) {
    auto id = static_cast<ir::NodeId>(i);
    const ir::Node& node = graph.node(id);
    const OpDef* def = FindOp(node.domain, node.op_type);
    if (def->infer == nullptr) {
      return Unsupported(node.Describe(id) + ": shape inference is not implemented for this op");
    }
    InferContext ctx(graph, id);
    RIDGE_RETURN_IF_ERROR(def->infer(ctx));
    for (ir::ValueId out : node.outputs) {
      if (out == ir::kNoValue || !graph.value(out).shape) continue;
      RIDGE_RETURN_IF_ERROR(CheckShapeBounds(
          *graph.value(out).shape, node.Describe(id) + ": output '" + graph.value(out).name + "'"));
    }
    if (def->reference) RIDGE_RETURN_IF_ERROR(FoldNode(graph, id, *def, options.max_fold_elements));
  }
  return Status::Ok();
}

}  // namespace

Status InferShapes(ir::Graph& graph, const InferOptions& options) {
  Status status = InferAllNodes(graph, options);
  // Errors name the model file first, like the loader's.
  if (!status.ok() && !graph.source_path.empty()) return status.WithContext(graph.source_path);
  return status;
}

}  // namespace ridge::ops
