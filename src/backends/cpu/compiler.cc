#include "backends/cpu/compiler.h"

#include "core/checked_math.h"

namespace ridge::cpu {
namespace {

bool IsPlain(const dnnl::memory::desc& md, const std::vector<int64_t>& dims) {
  return md == PlainDesc(dims);
}

}  // namespace

Compiler::Compiler(const ir::Graph& graph, const ExecutorOptions& options, Program* program)
    : graph_(graph), options_(options), program_(program) {
  slot_of_value_.assign(graph.num_values(), -1);
}

bool Compiler::IsFloatActivation(ir::ValueId v) const {
  const ir::Value& val = graph_.value(v);
  return val.dtype == DType::kFloat32 && !val.constant.has_value();
}

int Compiler::NewValueSlot(ir::ValueId v, const dnnl::memory::desc& md) {
  const ir::Value& val = graph_.value(v);
  Slot s;
  s.name = val.name;
  s.dtype = val.dtype;
  s.dims = *val.shape->ToInts();
  s.md = md;
  s.blocked = val.dtype == DType::kFloat32 && !IsPlain(md, s.dims);
  s.size_bytes = val.dtype == DType::kFloat32
                     ? md.get_size()
                     : static_cast<size_t>(*CheckedProduct(s.dims)) * DTypeSize(val.dtype);
  s.storage = Storage::kArena;
  program_->state.slots.push_back(std::move(s));
  int id = static_cast<int>(program_->state.slots.size()) - 1;
  slot_of_value_[v] = id;
  return id;
}

bool Compiler::IsAliased(int s) const {
  for (const auto& k : program_->kernels) {
    if (k->alias_source == s) return true;
  }
  return false;
}

int Compiler::AddReorder(int from, const dnnl::memory::desc& md) {
  for (const auto& r : reorders_) {
    if (r.from == from && r.md == md) return r.to;
  }
  Slot s = slot(from);
  s.name += "/reorder";
  s.md = md;
  s.blocked = !IsPlain(md, s.dims);
  s.size_bytes = md.get_size();
  s.storage = Storage::kArena;
  s.sole_owner = false;
  s.tensor = Tensor();
  s.ptr = nullptr;
  program_->state.slots.push_back(std::move(s));
  int to = static_cast<int>(program_->state.slots.size()) - 1;
  auto k = std::make_unique<DnnlKernel>();
  k->primitive =
      dnnl::reorder(dnnl::reorder::primitive_desc(engine(), slot(from).md, engine(), md));
  k->slot_args = {{DNNL_ARG_FROM, from, {}}, {DNNL_ARG_TO, to, {}}};
  k->label = slot(from).name;
  k->op_type = "Reorder";
  k->input_slots = {from};
  k->output_slots = {to};
  AddKernel(std::move(k), {}, "reorder");
  reorders_.push_back({from, md, to});
  return to;
}

int Compiler::PlainSlot(ir::ValueId v) {
  int s = slot_of_value_[v];
  if (s < 0 || !slot(s).blocked) return s;
  return AddReorder(s, PlainDesc(slot(s).dims));
}

int Compiler::SlotWithDesc(ir::ValueId v, const dnnl::memory::desc& md) {
  int s = slot_of_value_[v];
  if (s < 0 || slot(s).md == md) return s;
  return AddReorder(s, md);
}

void Compiler::AddKernel(std::unique_ptr<Kernel> kernel, std::vector<ir::NodeId> nodes,
                         std::string kind) {
  std::vector<std::string> names;
  for (ir::NodeId n : nodes) {
    names.push_back(graph_.node(n).name.empty() ? graph_.node(n).Describe(n) : graph_.node(n).name);
  }
  if (kernel->label.empty()) {
    for (size_t i = 0; i < names.size(); ++i) kernel->label += (i ? "+" : "") + names[i];
  }
  program_->kernels.push_back(std::move(kernel));
  program_->kernel_nodes.push_back(std::move(names));
  program_->kernel_kind.push_back(std::move(kind));
}

Status Compiler::BuildNode(ir::NodeId id, bool* handled) {
  const std::string& op = graph_.node(id).op_type;
  *handled = false;
  if (op == "Conv") return BuildConv(*this, id, handled);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" ||
      op == "GlobalMaxPool") {
    return BuildPool(*this, id, handled);
  }
  if (op == "MatMul") return BuildMatMul(*this, id, handled);
  if (op == "Gemm") return BuildGemm(*this, id, handled);
  if (op == "Softmax" || op == "LogSoftmax") {
    if (TryBuildStridedSoftmax(*this, id)) {
      *handled = true;
      return Status::Ok();
    }
    return BuildSoftmax(*this, id, handled);
  }
  if (op == "LayerNormalization") return BuildLayerNorm(*this, id, handled);
  if (op == "Concat") {
    if (options_.blocked_layouts && TryBuildBlockedConcat(*this, id)) {
      *handled = true;
      return Status::Ok();
    }
    return BuildConcat(*this, id, handled);
  }
  if (op == "Slice") return BuildSlice(*this, id, handled);
  if (op == "Split") return BuildSplit(*this, id, handled);
  if (op == "Resize") return BuildResize(*this, id, handled);
  if (op == "Transpose") return BuildTranspose(*this, id, handled);
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
      op == "Identity" || op == "Dropout") {
    return BuildAlias(*this, id, handled);
  }
  if (op == "Div" && options_.fuse && TryBuildGelu(*this, id)) {
    *handled = true;
    return Status::Ok();
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Max" || op == "Min") {
    return BuildBinary(*this, id, handled);
  }
  return BuildUnary(*this, id, handled);
}

Status Compiler::Compile() {
  auto& slots = program_->state.slots;
  // Constants and graph inputs first.
  for (size_t v = 0; v < graph_.num_values(); ++v) {
    const ir::Value& val = graph_.value(static_cast<ir::ValueId>(v));
    if (!val.constant) continue;
    Slot s;
    s.name = val.name;
    s.dtype = val.dtype;
    s.dims = val.constant->dims();
    s.storage = Storage::kConstant;
    s.tensor = *val.constant;
    s.ptr = s.tensor.raw_data();
    s.size_bytes = s.tensor.size_bytes();
    if (s.dtype == DType::kFloat32) s.md = PlainDesc(s.dims);
    slots.push_back(std::move(s));
    slot_of_value_[v] = static_cast<int>(slots.size()) - 1;
  }
  for (ir::ValueId v : graph_.inputs()) {
    const ir::Value& val = graph_.value(v);
    if (val.constant) continue;
    if (!val.shape || !val.shape->fully_known()) {
      return InvalidArgument("graph input '" + val.name +
                             "' has no concrete shape (pass --batch or --shapes)");
    }
    Slot s;
    s.name = val.name;
    s.dtype = val.dtype;
    s.dims = *val.shape->ToInts();
    s.storage = Storage::kInput;
    if (s.dtype == DType::kFloat32) s.md = PlainDesc(s.dims);
    s.size_bytes = static_cast<size_t>(*CheckedProduct(s.dims)) * DTypeSize(s.dtype);
    slots.push_back(std::move(s));
    slot_of_value_[v] = static_cast<int>(slots.size()) - 1;
    program_->input_slots.push_back(slot_of_value_[v]);
    program_->input_names.push_back(val.name);
  }

  std::vector<std::string> unsupported;
  for (size_t n = 0; n < graph_.num_nodes(); ++n) {
    auto id = static_cast<ir::NodeId>(n);
    const ir::Node& node = graph_.node(id);
    if (fused_.count(id)) continue;
    bool all_constant = true;
    for (ir::ValueId o : node.outputs) {
      if (o != ir::kNoValue && !graph_.value(o).constant) all_constant = false;
    }
    if (all_constant) continue;  // folded at shape inference
    for (ir::ValueId o : node.outputs) {
      if (o == ir::kNoValue) continue;
      const ir::Value& val = graph_.value(o);
      if (!val.shape || !val.shape->fully_known()) {
        return Unsupported(node.Describe(id) + ": output '" + val.name +
                           "' has a data-dependent or unknown shape");
      }
    }
    bool handled = false;
    const ops::OpDef* def = node.domain.empty() || node.domain == "ai.onnx"
                                ? ops::FindOp(node.domain, node.op_type)
                                : nullptr;
    // Compilation goes on past unsupported nodes so that all of them are reported at once;
    // nodes downstream of one have inputs without a slot and must not be built (the builders
    // assume every input has one). Only their own support is checked.
    bool inputs_ready = true;
    for (ir::ValueId in : node.inputs) {
      if (in != ir::kNoValue && slot_of_value_[in] < 0) inputs_ready = false;
    }
    if (!inputs_ready) {
      if (def == nullptr || def->reference == nullptr) unsupported.push_back(node.Describe(id));
      continue;
    }
    if (node.domain.empty() || node.domain == "ai.onnx") {
      RIDGE_RETURN_IF_ERROR_CTX(BuildNode(id, &handled), node.Describe(id));
    }
    if (handled) continue;
    if (def == nullptr || def->reference == nullptr) {
      unsupported.push_back(node.Describe(id));
      continue;
    }
    auto k = std::make_unique<ReferenceKernel>(node, id, *def);
    for (ir::ValueId in : node.inputs) {
      k->input_slots.push_back(in == ir::kNoValue ? -1 : PlainSlot(in));
    }
    for (ir::ValueId o : node.outputs) {
      if (o == ir::kNoValue) {
        k->output_slots.push_back(-1);
        continue;
      }
      int s = NewValueSlot(o, graph_.value(o).dtype == DType::kFloat32
                                  ? PlainDesc(*graph_.value(o).shape->ToInts())
                                  : dnnl::memory::desc());
      slot(s).storage = Storage::kOwned;
      k->output_slots.push_back(s);
    }
    k->op_type = node.op_type;
    AddKernel(std::move(k), {id}, "reference");
  }
  if (!unsupported.empty()) {
    std::string msg =
        std::to_string(unsupported.size()) + " node(s) the CPU backend cannot run (no kernel): ";
    for (size_t i = 0; i < unsupported.size(); ++i) msg += (i ? ", " : "") + unsupported[i];
    return Unsupported(msg);
  }
  for (ir::ValueId v : graph_.outputs()) {
    if (slot_of_value_[v] < 0) {
      return Internal("graph output '" + graph_.value(v).name + "' is never computed");
    }
    program_->output_slots.push_back(slot_of_value_[v]);
  }
  return Status::Ok();
}

}  // namespace ridge::cpu
