// Valid models load with the right dtypes, shapes, attributes and initializer values.
#include "onnx/loader.h"

#include <gtest/gtest.h>

#include "model_builder.h"

namespace ridge::onnx {
namespace {

using namespace ridge::onnx::testing;  // NOLINT

const ir::Node* FindNode(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes())
    if (n.name == name) return &n;
  return nullptr;
}

TEST(OnnxLoader, TinyConvLoads) {
  std::string dir = FreshDir("tiny_conv");
  std::string path = WriteModel(TinyConvModel(), dir);
  auto r = LoadModel(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ir::Graph& g = *r;
  EXPECT_EQ(g.opset_version, 17);
  EXPECT_EQ(g.name, "tiny_conv");
  EXPECT_EQ(g.producer_name, "ridge-test");
  EXPECT_EQ(g.source_path, path);
  ASSERT_EQ(g.num_nodes(), 4u);  // the Constant stays a node

  ASSERT_EQ(g.inputs().size(), 1u);
  const ir::Value& x = g.value(g.inputs()[0]);
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.dtype, DType::kFloat32);
  ASSERT_TRUE(x.shape.has_value());
  ASSERT_EQ(x.shape->rank(), 4u);
  EXPECT_FALSE((*x.shape)[0].known());
  EXPECT_EQ((*x.shape)[0].symbol, "batch");
  EXPECT_EQ((*x.shape)[1].value, 3);
  EXPECT_EQ((*x.shape)[3].value, 8);
  EXPECT_TRUE(x.is_graph_input);

  auto w_id = g.FindValue("w");
  ASSERT_TRUE(w_id.has_value());
  const ir::Value& w = g.value(*w_id);
  EXPECT_TRUE(w.is_initializer);
  EXPECT_FALSE(w.is_graph_input);
  ASSERT_TRUE(w.constant.has_value());
  EXPECT_EQ(w.constant->dims(), (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_FLOAT_EQ(w.constant->data<float>()[0], 0.0f);
  EXPECT_FLOAT_EQ(w.constant->data<float>()[107], 1.07f);
  const ir::Value& b = g.value(*g.FindValue("b"));
  ASSERT_TRUE(b.constant.has_value());
  EXPECT_FLOAT_EQ(b.constant->data<float>()[3], 4.0f);

  const ir::Node* conv = FindNode(g, "conv1");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->op_type, "Conv");
  ASSERT_EQ(conv->inputs.size(), 3u);
  EXPECT_EQ(g.value(conv->inputs[1]).name, "w");
  EXPECT_EQ(conv->GetInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv->GetInt("group", 0), 1);
  EXPECT_EQ(conv->GetString("auto_pad", ""), "NOTSET");
  EXPECT_EQ(conv->attributes.at("kernel_shape").kind, ir::Attribute::Kind::kInts);

  const ir::Node* k = FindNode(g, "alpha_const");
  ASSERT_NE(k, nullptr);
  const ir::Attribute& value = k->attributes.at("value");
  EXPECT_EQ(value.kind, ir::Attribute::Kind::kTensor);
  EXPECT_EQ(value.t.dtype(), DType::kFloat32);
  EXPECT_EQ(value.t.rank(), 0u);
  EXPECT_FLOAT_EQ(value.t.data<float>()[0], 0.5f);

  // value_info shapes are kept; outputs are marked.
  const ir::Value& c = g.value(*g.FindValue("c"));
  ASSERT_TRUE(c.shape.has_value());
  EXPECT_EQ((*c.shape)[1].value, 4);
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.value(g.outputs()[0]).name, "out");
  EXPECT_TRUE(g.value(g.outputs()[0]).is_graph_output);
  EXPECT_EQ(g.value(g.outputs()[0]).producer, static_cast<ir::NodeId>(g.num_nodes() - 1));
}

TEST(OnnxLoader, NodesAreSortedTopologically) {
  auto m = TinyConvModel();
  auto* nodes = m.mutable_graph()->mutable_node();
  std::reverse(nodes->begin(), nodes->end());
  std::string bytes = m.SerializeAsString();
  auto r = LoadModelFromBytes(bytes.data(), bytes.size(), "", "mem.onnx");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (size_t n = 0; n < r->num_nodes(); ++n) {
    for (ir::ValueId in : r->node(n).inputs) {
      if (in == ir::kNoValue) continue;
      EXPECT_LT(r->value(in).producer, static_cast<ir::NodeId>(n));
    }
  }
}

TEST(OnnxLoader, InitializerListedAsInputIsNotFeedable) {
  auto m = TinyConvModel();
  SetTensorType(m.mutable_graph()->add_input(), "w", ::onnx::TensorProto::FLOAT, {4, 3, 3, 3});
  std::string bytes = m.SerializeAsString();
  auto r = LoadModelFromBytes(bytes.data(), bytes.size(), "", "mem.onnx");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->inputs().size(), 1u);
  EXPECT_EQ(r->value(r->inputs()[0]).name, "x");
  EXPECT_FALSE(r->value(*r->FindValue("w")).is_graph_input);
}

TEST(OnnxLoader, TypedFieldsOfEveryKind) {
  auto m = TinyConvModel();
  auto* g = m.mutable_graph();
  auto add = [&](const std::string& name, int32_t type, int64_t n) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    t->add_dims(n);
    return t;
  };
  auto* i8 = add("i8", ::onnx::TensorProto::INT8, 2);
  i8->add_int32_data(-3);
  i8->add_int32_data(7);
  auto* f16 = add("f16", ::onnx::TensorProto::FLOAT16, 1);
  f16->add_int32_data(FloatToHalf(1.5f));
  auto* bf = add("bool", ::onnx::TensorProto::BOOL, 2);
  bf->add_int32_data(0);
  bf->add_int32_data(5);
  auto* i64 = add("i64", ::onnx::TensorProto::INT64, 1);
  i64->add_int64_data(int64_t{1} << 40);
  auto* f64 = add("f64", ::onnx::TensorProto::DOUBLE, 1);
  f64->add_double_data(2.25);
  auto* u64 = add("u64", ::onnx::TensorProto::UINT64, 1);
  u64->add_uint64_data(uint64_t{1} << 63);
  auto* u32 = add("u32", ::onnx::TensorProto::UINT32, 1);
  u32->add_uint64_data(4000000000u);
  auto* empty = add("empty", ::onnx::TensorProto::FLOAT, 0);
  (void)empty;
  std::string bytes = m.SerializeAsString();
  auto r = LoadModelFromBytes(bytes.data(), bytes.size(), "", "mem.onnx");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto get = [&](const char* name) -> const Tensor& {
    return *r->value(*r->FindValue(name)).constant;
  };
  EXPECT_EQ(get("i8").GetAsInt64(0), -3);
  EXPECT_EQ(get("i8").GetAsInt64(1), 7);
  EXPECT_DOUBLE_EQ(get("f16").GetAsDouble(0), 1.5);
  EXPECT_EQ(get("bool").GetAsInt64(1), 1);
  EXPECT_EQ(get("i64").GetAsInt64(0), int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(get("f64").GetAsDouble(0), 2.25);
  EXPECT_EQ(get("u64").data<uint64_t>()[0], uint64_t{1} << 63);
  EXPECT_EQ(get("u32").data<uint32_t>()[0], 4000000000u);
  EXPECT_EQ(get("empty").num_elements(), 0);
}

TEST(OnnxLoader, ShapesOnlyWithoutWeights) {
  std::string bytes = TinyConvModel().SerializeAsString();
  LoadOptions options;
  options.load_weights = false;
  auto r = LoadModelFromBytes(bytes.data(), bytes.size(), "", "mem.onnx", options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ir::Value& w = r->value(*r->FindValue("w"));
  EXPECT_TRUE(w.is_initializer);
  EXPECT_FALSE(w.constant.has_value());
  EXPECT_EQ(w.shape->ToString(), "4x3x3x3");
}

TEST(OnnxLoader, AiOnnxDomainCountsAsDefault) {
  auto m = TinyConvModel();
  m.mutable_opset_import(0)->set_domain("ai.onnx");
  m.mutable_opset_import(0)->set_version(13);
  auto* extra = m.add_opset_import();
  extra->set_domain("com.microsoft");
  extra->set_version(1);
  std::string bytes = m.SerializeAsString();
  auto r = LoadModelFromBytes(bytes.data(), bytes.size(), "", "mem.onnx");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->opset_version, 13);
}

}  // namespace
}  // namespace ridge::onnx
