#include "seed_models.h"

#include <cstring>
#include <random>
#include <string>

namespace ridge::fuzz {
namespace {

using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

ModelProto NewModel(int64_t opset) {
  ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("ridge-fuzz-seed");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  return m;
}

void AddInput(GraphProto* g, const std::string& name, int elem_type,
              const std::vector<int64_t>& dims, bool symbolic_batch = false) {
  auto* vi = g->add_input();
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  for (size_t i = 0; i < dims.size(); ++i) {
    auto* d = tt->mutable_shape()->add_dim();
    if (i == 0 && symbolic_batch) {
      d->set_dim_param("N");
    } else {
      d->set_dim_value(dims[i]);
    }
  }
}

void AddOutput(GraphProto* g, const std::string& name) {
  auto* vi = g->add_output();
  vi->set_name(name);
  vi->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::FLOAT);
}

void AddFloatInit(GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                  std::mt19937& rng) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= d;
  }
  std::normal_distribution<float> dist(0.f, 0.1f);
  std::string raw(static_cast<size_t>(n) * 4, '\0');
  for (int64_t i = 0; i < n; ++i) {
    float v = dist(rng);
    std::memcpy(&raw[static_cast<size_t>(i) * 4], &v, 4);
  }
  t->set_raw_data(raw);
}

void AddInt64Init(GraphProto* g, const std::string& name, const std::vector<int64_t>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

NodeProto* AddNode(GraphProto* g, const std::string& op, std::vector<std::string> in,
                   std::vector<std::string> out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(g->node_size()));
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

void SetInts(NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void SetInt(NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::INT);
  a->set_i(v);
}

}  // namespace

ModelProto MakeConvNetSeed() {
  std::mt19937 rng(1);
  ModelProto m = NewModel(17);
  GraphProto* g = m.mutable_graph();
  g->set_name("convnet");
  AddInput(g, "x", TensorProto::FLOAT, {1, 3, 16, 16}, true);
  AddFloatInit(g, "w", {8, 3, 3, 3}, rng);
  AddFloatInit(g, "b", {8}, rng);
  AddFloatInit(g, "fc_w", {10, 8}, rng);
  AddFloatInit(g, "fc_b", {10}, rng);
  auto* conv = AddNode(g, "Conv", {"x", "w", "b"}, {"c"});
  SetInts(conv, "kernel_shape", {3, 3});
  SetInts(conv, "pads", {1, 1, 1, 1});
  SetInts(conv, "strides", {1, 1});
  AddNode(g, "Relu", {"c"}, {"r"});
  auto* pool = AddNode(g, "MaxPool", {"r"}, {"p"});
  SetInts(pool, "kernel_shape", {2, 2});
  SetInts(pool, "strides", {2, 2});
  AddNode(g, "GlobalAveragePool", {"p"}, {"gap"});
  auto* flat = AddNode(g, "Flatten", {"gap"}, {"f"});
  SetInt(flat, "axis", 1);
  auto* gemm = AddNode(g, "Gemm", {"f", "fc_w", "fc_b"}, {"y"});
  SetInt(gemm, "transB", 1);
  AddOutput(g, "y");
  return m;
}

ModelProto MakeShapeChainSeed() {
  ModelProto m = NewModel(17);
  GraphProto* g = m.mutable_graph();
  g->set_name("shape_chain");
  AddInput(g, "x", TensorProto::FLOAT, {2, 4, 8, 8}, true);
  AddInt64Init(g, "idx0", {0});
  AddInt64Init(g, "minus1", {-1});
  AddNode(g, "Shape", {"x"}, {"s"});
  auto* gather = AddNode(g, "Gather", {"s", "idx0"}, {"n"});
  SetInt(gather, "axis", 0);
  AddNode(g, "Concat", {"n", "minus1"}, {"target"})->add_attribute()->CopyFrom([] {
    AttributeProto a;
    a.set_name("axis");
    a.set_type(AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  AddNode(g, "Reshape", {"x", "target"}, {"flat"});
  AddNode(g, "Sigmoid", {"flat"}, {"y"});
  AddOutput(g, "y");
  return m;
}

ModelProto MakeMixedOpsSeed() {
  std::mt19937 rng(2);
  ModelProto m = NewModel(17);
  GraphProto* g = m.mutable_graph();
  g->set_name("mixed");
  AddInput(g, "x", TensorProto::FLOAT, {1, 8, 4, 4});
  AddFloatInit(g, "scale", {8, 1, 1}, rng);
  AddInt64Init(g, "split", {4, 4});
  auto* resize_scales = g->add_initializer();
  resize_scales->set_name("scales");
  resize_scales->set_data_type(TensorProto::FLOAT);
  resize_scales->add_dims(4);
  for (float f : {1.f, 1.f, 2.f, 2.f}) resize_scales->add_float_data(f);
  AddNode(g, "Mul", {"x", "scale"}, {"m"});
  auto* split = AddNode(g, "Split", {"m", "split"}, {"a", "b"});
  SetInt(split, "axis", 1);
  AddNode(g, "Add", {"a", "b"}, {"s"});
  auto* cat = AddNode(g, "Concat", {"s", "a"}, {"c"});
  SetInt(cat, "axis", 1);
  auto* tr = AddNode(g, "Transpose", {"c"}, {"t"});
  SetInts(tr, "perm", {0, 2, 3, 1});
  auto* sm = AddNode(g, "Softmax", {"t"}, {"sm"});
  SetInt(sm, "axis", -1);
  auto* rm = AddNode(g, "ReduceMean", {"sm"}, {"rm"});
  SetInts(rm, "axes", {3});
  auto* rs = AddNode(g, "Resize", {"rm", "", "scales"}, {"y"});
  auto* mode = rs->add_attribute();
  mode->set_name("mode");
  mode->set_type(AttributeProto::STRING);
  mode->set_s("linear");
  AddOutput(g, "y");
  return m;
}

std::vector<ModelProto> AllBuiltInSeeds() {
  return {MakeConvNetSeed(), MakeShapeChainSeed(), MakeMixedOpsSeed()};
}

}  // namespace ridge::fuzz
