// SaveModel writes what LoadModel reads: a round trip keeps nodes, attributes and weights.
#include "onnx/writer.h"

#include <gtest/gtest.h>

#include "model_builder.h"
#include "onnx/loader.h"

namespace ridge::onnx {
namespace {

using namespace ridge::onnx::testing;  // NOLINT

TEST(OnnxWriter, RoundTrip) {
  std::string dir = FreshDir("writer");
  auto first = LoadModel(WriteModel(TinyConvModel(), dir));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string out = dir + "/saved.onnx";
  Status s = SaveModel(*first, out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto second = LoadModel(out);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->num_nodes(), first->num_nodes());
  for (size_t i = 0; i < first->num_nodes(); ++i) {
    const ir::Node& a = first->node(i);
    const ir::Node& b = second->node(i);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.op_type, b.op_type);
    EXPECT_EQ(a.attributes.size(), b.attributes.size());
    EXPECT_EQ(a.inputs.size(), b.inputs.size());
  }
  EXPECT_EQ(second->opset_version, 17);
  const ir::Node& conv = second->node(0);
  EXPECT_EQ(conv.GetInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv.GetString("auto_pad", ""), "NOTSET");
  const Tensor& w = *second->value(*second->FindValue("w")).constant;
  EXPECT_FLOAT_EQ(w.data<float>()[107], 1.07f);
  const ir::Value& x = second->value(second->inputs()[0]);
  EXPECT_EQ((*x.shape)[0].symbol, "batch");
  EXPECT_EQ(x.shape->ToString(), first->value(first->inputs()[0]).shape->ToString());
}

TEST(OnnxWriter, RefusesGraphWithoutWeights) {
  std::string dir = FreshDir("writer_noweights");
  LoadOptions options;
  options.load_weights = false;
  auto g = LoadModel(WriteModel(TinyConvModel(), dir), options);
  ASSERT_TRUE(g.ok());
  Status s = SaveModel(*g, dir + "/out.onnx");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'w'"), std::string::npos) << s.message();
}

TEST(OnnxWriter, UnwritablePathIsIoError) {
  auto g = LoadModel(WriteModel(TinyConvModel(), FreshDir("writer_io")));
  ASSERT_TRUE(g.ok());
  Status s = SaveModel(*g, "/nonexistent_dir_for_ridge/x.onnx");
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.ToString();
}

}  // namespace
}  // namespace ridge::onnx
