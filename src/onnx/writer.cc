#include "onnx/writer.h"

#include <exception>
#include <fstream>
#include <new>

#include "onnx/onnx_pb.h"

namespace ridge::onnx {
namespace {

constexpr int64_t kIrVersion = 8;      // ONNX 1.10+ readers
constexpr int64_t kDefaultOpset = 17;  // the zoo's export opset (BENCHMARKS.md)

void WriteTensor(const Tensor& t, const std::string& name, ::onnx::TensorProto* out) {
  out->set_name(name);
  out->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.dims()) out->add_dims(d);
  if (t.size_bytes() > 0) {
    out->set_raw_data(reinterpret_cast<const char*>(t.raw_data()), t.size_bytes());
  }
}

void WriteValueInfo(const ir::Value& v, ::onnx::ValueInfoProto* out) {
  out->set_name(v.name);
  auto* tt = out->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (!v.shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : v.shape->dims()) {
    auto* dim = shape->add_dim();
    if (d.known()) {
      dim->set_dim_value(d.value);
    } else if (!d.symbol.empty()) {
      dim->set_dim_param(d.symbol);
    }
  }
}

void WriteAttribute(const std::string& name, const ir::Attribute& a, ::onnx::AttributeProto* out) {
  using Kind = ir::Attribute::Kind;
  using P = ::onnx::AttributeProto;
  out->set_name(name);
  switch (a.kind) {
    case Kind::kFloat:
      out->set_type(P::FLOAT);
      out->set_f(a.f);
      break;
    case Kind::kInt:
      out->set_type(P::INT);
      out->set_i(a.i);
      break;
    case Kind::kString:
      out->set_type(P::STRING);
      out->set_s(a.s);
      break;
    case Kind::kTensor:
      out->set_type(P::TENSOR);
      WriteTensor(a.t, "", out->mutable_t());
      break;
    case Kind::kFloats:
      out->set_type(P::FLOATS);
      for (float f : a.floats) out->add_floats(f);
      break;
    case Kind::kInts:
      out->set_type(P::INTS);
      for (int64_t i : a.ints) out->add_ints(i);
      break;
    case Kind::kStrings:
      out->set_type(P::STRINGS);
      for (const auto& s : a.strings) out->add_strings(s);
      break;
    case Kind::kGraph:
      out->set_type(P::GRAPH);  // the loader never produces these; written empty
      out->mutable_g();
      break;
  }
}

Status BuildModel(const ir::Graph& graph, ::onnx::ModelProto* model) {
  model->set_ir_version(kIrVersion);
  model->set_producer_name(graph.producer_name.empty() ? "ridgeline" : graph.producer_name);
  auto* opset = model->add_opset_import();
  opset->set_domain("");
  opset->set_version(graph.opset_version > 0 ? graph.opset_version : kDefaultOpset);
  auto* g = model->mutable_graph();
  g->set_name(graph.name.empty() ? "ridge" : graph.name);
  for (ir::ValueId id : graph.inputs()) WriteValueInfo(graph.value(id), g->add_input());
  for (ir::ValueId id : graph.outputs()) WriteValueInfo(graph.value(id), g->add_output());
  for (const ir::Value& v : graph.values()) {
    if (v.is_initializer) {
      if (!v.constant) {
        return InvalidArgument("initializer '" + v.name +
                               "' has no data (loaded without weights); cannot write it");
      }
      WriteTensor(*v.constant, v.name, g->add_initializer());
    } else if (!v.is_graph_input && !v.is_graph_output && v.producer != ir::kNoNode &&
               v.dtype != DType::kUndefined) {
      WriteValueInfo(v, g->add_value_info());
    }
  }
  for (const ir::Node& n : graph.nodes()) {
    auto* np = g->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (ir::ValueId in : n.inputs) np->add_input(in == ir::kNoValue ? "" : graph.value(in).name);
    for (ir::ValueId out : n.outputs) {
      np->add_output(out == ir::kNoValue ? "" : graph.value(out).name);
    }
    for (const auto& [name, attr] : n.attributes) WriteAttribute(name, attr, np->add_attribute());
  }
  return Status::Ok();
}

}  // namespace

Status SaveModel(const ir::Graph& graph, const std::string& path) {
  try {
    ::onnx::ModelProto model;
    RIDGE_RETURN_IF_ERROR_CTX(BuildModel(graph, &model), path);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return IoError(path + ": cannot open for writing");
    if (!model.SerializeToOstream(&out)) {
      return IoError(path + ": serialization failed (a model over 2 GiB needs external data)");
    }
    out.close();
    if (!out) return IoError(path + ": write failed");
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return LimitExceeded(path + ": out of memory while writing the model");
  } catch (const std::exception& e) {
    return Internal(path + ": writing failed: " + e.what());
  }
}

Result<std::string> SaveModelToBytes(const ir::Graph& graph) {
  try {
    ::onnx::ModelProto model;
    RIDGE_RETURN_IF_ERROR(BuildModel(graph, &model));
    std::string bytes;
    if (!model.SerializeToString(&bytes)) {
      return LimitExceeded("serialization failed (a model over 2 GiB needs external data)");
    }
    return bytes;
  } catch (const std::bad_alloc&) {
    return LimitExceeded("out of memory while serializing the model");
  } catch (const std::exception& e) {
    return Internal(std::string("serializing the model failed: ") + e.what());
  }
}

}  // namespace ridge::onnx
