#include "ops/op.h"

namespace ridge::ops {

std::string_view OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kCompute:
      return "compute";
    case OpKind::kElementwise:
      return "elementwise";
    case OpKind::kReduction:
      return "reduction";
    case OpKind::kDataMovement:
      return "data_movement";
    case OpKind::kShortcutAdd:
      return "shortcut_add";
    case OpKind::kShape:
      return "shape";
  }
  return "unknown";
}

// ---- InferContext ---------------------------------------------------------------------------
bool InferContext::has_input(size_t i) const {
  return i < num_inputs() && node().inputs[i] != ir::kNoValue;
}

const Shape* InferContext::input_shape(size_t i) const {
  const auto& s = input(i).shape;
  return s ? &*s : nullptr;
}

const Tensor* InferContext::input_constant(size_t i) const {
  const auto& c = input(i).constant;
  return c ? &*c : nullptr;
}

bool InferContext::has_output(size_t i) const {
  return i < num_outputs() && node().outputs[i] != ir::kNoValue;
}

void InferContext::SetOutput(size_t i, DType dtype, Shape shape) {
  if (!has_output(i)) return;
  ir::Value& v = graph_.value(node().outputs[i]);
  v.dtype = dtype;
  v.shape = std::move(shape);
}

void InferContext::SetOutputType(size_t i, DType dtype) {
  if (!has_output(i)) return;
  ir::Value& v = graph_.value(node().outputs[i]);
  v.dtype = dtype;
  v.shape.reset();
}

void InferContext::SetOutputConstant(size_t i, Tensor value) {
  if (!has_output(i)) return;
  ir::Value& v = graph_.value(node().outputs[i]);
  v.dtype = value.dtype();
  v.shape = Shape::FromInts(value.dims());
  v.constant = std::move(value);
}

Status InferContext::Error(const std::string& message) const {
  return InvalidModel(node().Describe(node_id_) + ": " + message);
}

Status InferContext::CheckArity(size_t min_inputs, size_t max_inputs) const {
  if (num_inputs() < min_inputs || num_inputs() > max_inputs) {
    return Error("expects " + std::to_string(min_inputs) + ".." + std::to_string(max_inputs) +
                 " inputs, got " + std::to_string(num_inputs()));
  }
  for (size_t i = 0; i < min_inputs; ++i) {
    if (!has_input(i)) return Error("required input " + std::to_string(i) + " is missing");
  }
  if (num_outputs() < 1 || !has_output(0)) return Error("output 0 is missing");
  return Status::Ok();
}

// ---- CostContext ----------------------------------------------------------------------------
bool CostContext::input_is_constant(size_t i) const {
  return has_input(i) && graph_.value(node().inputs[i]).constant.has_value();
}

static std::vector<int64_t> KnownDims(const ir::Value& v) {
  if (!v.shape) return {};
  auto ints = v.shape->ToInts();
  return ints ? *ints : std::vector<int64_t>{};
}

std::vector<int64_t> CostContext::input_dims(size_t i) const {
  return has_input(i) ? KnownDims(graph_.value(node().inputs[i])) : std::vector<int64_t>{};
}

std::vector<int64_t> CostContext::output_dims(size_t i) const {
  return has_output(i) ? KnownDims(graph_.value(node().outputs[i])) : std::vector<int64_t>{};
}

static int64_t ElementsOf(const ir::Value& v) {
  if (!v.shape) return 0;
  return v.shape->NumElements().value_or(0);
}

int64_t CostContext::input_elements(size_t i) const {
  return has_input(i) ? ElementsOf(graph_.value(node().inputs[i])) : 0;
}

int64_t CostContext::output_elements(size_t i) const {
  return has_output(i) ? ElementsOf(graph_.value(node().outputs[i])) : 0;
}

double CostContext::ElementBytes(DType dtype) const {
  if (IsFloatingPoint(dtype)) return static_cast<double>(PrecisionBytes(precision_));
  size_t s = DTypeSize(dtype);
  return s ? static_cast<double>(s) : static_cast<double>(PrecisionBytes(precision_));
}

double CostContext::input_element_bytes(size_t i) const {
  return has_input(i) ? ElementBytes(graph_.value(node().inputs[i]).dtype) : 0;
}

double CostContext::output_element_bytes(size_t i) const {
  return has_output(i) ? ElementBytes(graph_.value(node().outputs[i]).dtype) : 0;
}

NodeCost CostContext::ElementwiseCost(OpKind kind, double flops_per_output) const {
  NodeCost c;
  c.kind = kind;
  for (size_t i = 0; i < num_inputs(); ++i) {
    if (!has_input(i)) continue;
    (input_is_constant(i) ? c.weight_bytes : c.bytes_read) += input_bytes(i);
  }
  double out_elems = 0;
  for (size_t i = 0; i < num_outputs(); ++i) {
    c.bytes_written += output_bytes(i);
    out_elems += static_cast<double>(output_elements(i));
  }
  c.flops = flops_per_output * out_elems;
  return c;
}

// ---- KernelContext --------------------------------------------------------------------------
Status KernelContext::Error(const std::string& message) const {
  return InvalidArgument(node_.Describe(-1) + ": " + message);
}

// ---- Registry -------------------------------------------------------------------------------
#define RIDGE_OP(name, file) extern const OpDef kOp##name;
#include "ir/op_list.def"

namespace {
const OpDef* const kAllOps[] = {
#define RIDGE_OP(name, file) &kOp##name,
#include "ir/op_list.def"
};
}  // namespace

const OpDef* FindOp(std::string_view domain, std::string_view op_type) {
  if (!domain.empty() && domain != "ai.onnx") return nullptr;
  for (const OpDef* def : kAllOps)
    if (op_type == def->op_type) return def;
  return nullptr;
}

std::span<const OpDef* const> AllOps() { return kAllOps; }

}  // namespace ridge::ops
