// Builds small ONNX models in C++ with the protobuf API, so loader tests need no Python.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "onnx/loader.h"
#include "onnx/onnx_pb.h"

namespace ridge::onnx::testing {

namespace fs = std::filesystem;

// A fresh, empty folder under the build's test data dir.
inline std::string FreshDir(const std::string& name) {
  fs::path dir = fs::path(RIDGE_TEST_DATA_DIR) / "onnx" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline std::string WriteModel(const ::onnx::ModelProto& model, const std::string& dir,
                              const std::string& file = "model.onnx") {
  std::string path = (fs::path(dir) / file).string();
  WriteBytes(path, model.SerializeAsString());
  return path;
}

inline void SetTensorType(::onnx::ValueInfoProto* vi, const std::string& name, int32_t elem_type,
                          std::initializer_list<int64_t> dims, const std::string& dim0_param = "") {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  bool first = true;
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (first && !dim0_param.empty()) {
      dim->set_dim_param(dim0_param);
    } else {
      dim->set_dim_value(d);
    }
    first = false;
  }
}

inline ::onnx::TensorProto* AddFloatInit(::onnx::GraphProto* g, const std::string& name,
                                         std::vector<int64_t> dims, const std::vector<float>& vals,
                                         bool raw) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  if (raw) {
    t->set_raw_data(std::string(reinterpret_cast<const char*>(vals.data()), vals.size() * 4));
  } else {
    for (float v : vals) t->add_float_data(v);
  }
  return t;
}

inline ::onnx::NodeProto* AddNode(::onnx::GraphProto* g, const std::string& name,
                                  const std::string& op, std::vector<std::string> inputs,
                                  std::vector<std::string> outputs) {
  auto* n = g->add_node();
  n->set_name(name);
  n->set_op_type(op);
  for (auto& i : inputs) n->add_input(i);
  for (auto& o : outputs) n->add_output(o);
  return n;
}

inline void AddInts(::onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

// x[batch,3,8,8] -> Conv(w[4,3,3,3] raw, b[4] float_data) -> Relu -> Mul(Constant alpha) -> out.
inline ::onnx::ModelProto TinyConvModel() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("ridge-test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("tiny_conv");
  SetTensorType(g->add_input(), "x", ::onnx::TensorProto::FLOAT, {0, 3, 8, 8}, "batch");
  std::vector<float> w(4 * 3 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i);
  AddFloatInit(g, "w", {4, 3, 3, 3}, w, /*raw=*/true);
  AddFloatInit(g, "b", {4}, {1, 2, 3, 4}, /*raw=*/false);
  auto* conv = AddNode(g, "conv1", "Conv", {"x", "w", "b"}, {"c"});
  AddInts(conv, "kernel_shape", {3, 3});
  AddInts(conv, "pads", {1, 1, 1, 1});
  AddInts(conv, "strides", {1, 1});
  auto* group = conv->add_attribute();
  group->set_name("group");
  group->set_type(::onnx::AttributeProto::INT);
  group->set_i(1);
  auto* pad = conv->add_attribute();
  pad->set_name("auto_pad");
  pad->set_type(::onnx::AttributeProto::STRING);
  pad->set_s("NOTSET");
  AddNode(g, "relu1", "Relu", {"c"}, {"r"});
  auto* k = AddNode(g, "alpha_const", "Constant", {}, {"alpha"});
  auto* value = k->add_attribute();
  value->set_name("value");
  value->set_type(::onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(::onnx::TensorProto::FLOAT);
  value->mutable_t()->add_float_data(0.5f);
  AddNode(g, "mul1", "Mul", {"r", "alpha"}, {"out"});
  SetTensorType(g->add_output(), "out", ::onnx::TensorProto::FLOAT, {0, 4, 8, 8}, "batch");
  SetTensorType(g->add_value_info(), "c", ::onnx::TensorProto::FLOAT, {0, 4, 8, 8}, "batch");
  return m;
}

}  // namespace ridge::onnx::testing
