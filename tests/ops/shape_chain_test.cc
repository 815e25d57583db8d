// The Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain (a flatten written by an exporter)
// must resolve during shape inference: fully with --batch, and all but the batch dim without.
#include "opsb_test_util.h"

namespace ridge::ops::opsb_test {
namespace {

ir::ValueId AddConst(ir::Graph& g, const std::string& name, Tensor t) {
  ir::ValueId id = g.AddValue(name);
  ir::Value& v = g.value(id);
  v.dtype = t.dtype();
  v.shape = Shape::FromInts(t.dims());
  v.constant = std::move(t);
  v.is_initializer = true;
  return id;
}

ir::ValueId AddNode(ir::Graph& g, const std::string& op, std::vector<ir::ValueId> ins,
                    std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = op;
  n.op_type = op;
  n.inputs = std::move(ins);
  n.attributes = std::move(attrs);
  ir::ValueId out = g.AddValue(op + "_out");
  n.outputs = {out};
  g.AddNode(std::move(n));
  return out;
}

// x: N x 3 x 4 x 5 -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))
struct Chain {
  ir::Graph g;
  ir::ValueId reshaped, concat;
  Chain(bool unsqueeze_axes_as_input) {
    ir::ValueId x = g.AddValue("x");
    g.value(x).dtype = DType::kFloat32;
    g.value(x).shape = Shape({Dim::Symbolic("N"), 3, 4, 5});
    g.value(x).is_graph_input = true;
    g.AddInput(x);
    ir::ValueId shape = AddNode(g, "Shape", {x});
    ir::ValueId idx = AddConst(g, "idx0", I64({}, {0}));
    ir::ValueId batch = AddNode(g, "Gather", {shape, idx}, {{"axis", AInt(0)}});
    ir::ValueId unsq = unsqueeze_axes_as_input
                           ? AddNode(g, "Unsqueeze", {batch, AddConst(g, "axes", I64({1}, {0}))})
                           : AddNode(g, "Unsqueeze", {batch}, {{"axes", AInts({0})}});
    ir::ValueId minus1 = AddConst(g, "minus1", I64({1}, {-1}));
    concat = AddNode(g, "Concat", {unsq, minus1}, {{"axis", AInt(0)}});
    reshaped = AddNode(g, "Reshape", {x, concat});
    g.AddOutput(reshaped);
  }
};

TEST(ShapeChain, FoldsWithBatch) {
  for (bool as_input : {true, false}) {
    Chain c(as_input);
    Status s = InferShapes(c.g, {.batch = 8});
    ASSERT_TRUE(s.ok()) << s.ToString();
    const ir::Value& out = c.g.value(c.reshaped);
    ASSERT_TRUE(out.shape.has_value());
    EXPECT_EQ(out.shape->ToString(), "8x60");
    EXPECT_EQ(out.dtype, DType::kFloat32);
    ASSERT_TRUE(c.g.value(c.concat).constant.has_value()) << "the shape chain did not fold";
    EXPECT_EQ(Values<int64_t>(*c.g.value(c.concat).constant), (std::vector<int64_t>{8, -1}));
  }
}

TEST(ShapeChain, WithoutBatchKeepsSymbolAndResolvesRest) {
  Chain c(true);
  Status s = InferShapes(c.g, {});
  ASSERT_TRUE(s.ok()) << s.ToString();
  const ir::Value& out = c.g.value(c.reshaped);
  ASSERT_TRUE(out.shape.has_value());
  ASSERT_EQ(out.shape->rank(), 2u);
  EXPECT_FALSE((*out.shape)[0].known());
  EXPECT_EQ((*out.shape)[0].symbol, "N");
  EXPECT_EQ((*out.shape)[1].value, 60);
  EXPECT_FALSE(c.g.value(c.concat).constant.has_value());
}

ir::ValueId AddFloatInput(ir::Graph& g, Shape shape) {
  ir::ValueId x = g.AddValue("x");
  g.value(x).dtype = DType::kFloat32;
  g.value(x).shape = std::move(shape);
  g.value(x).is_graph_input = true;
  g.AddInput(x);
  return x;
}

// Shapes taken from a file's constants are bounded before anything multiplies them: a Reshape
// target whose product overflows int64 (found by fuzz_onnx_load as UB) and a Tile that would
// make 2^62 elements are refused with an error, not wrapped around.
TEST(ShapeBounds, ReshapeTargetOverflowIsAnError) {
  ir::Graph g;
  ir::ValueId x = AddFloatInput(g, Shape({1, 4}));
  const int64_t big = int64_t{1} << 40;
  ir::ValueId target = AddConst(g, "target", I64({4}, {big, big, big, -1}));
  g.AddOutput(AddNode(g, "Reshape", {x, target}));
  Status s = InferShapes(g, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("overflows"), std::string::npos) << s.ToString();
}

TEST(ShapeBounds, TileBeyondElementBoundIsAnError) {
  ir::Graph g;
  ir::ValueId x = AddFloatInput(g, Shape({1, 4}));
  ir::ValueId repeats = AddConst(g, "repeats", I64({2}, {int64_t{1} << 30, int64_t{1} << 30}));
  g.AddOutput(AddNode(g, "Tile", {x, repeats}));
  Status s = InferShapes(g, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("beyond Ridgeline's bounds"), std::string::npos) << s.ToString();
}

TEST(ShapeBounds, HugeGraphInputIsAnError) {
  ir::Graph g;
  ir::ValueId x = AddFloatInput(g, Shape({int64_t{1} << 30, int64_t{1} << 30}));
  g.AddOutput(AddNode(g, "Relu", {x}));
  EXPECT_FALSE(InferShapes(g, {}).ok());
  // Unknown dims do not count: a symbolic batch with a bounded rest is fine.
  g.value(x).shape = Shape({Dim::Symbolic("N"), int64_t{1} << 30});
  EXPECT_TRUE(InferShapes(g, {}).ok());
}

}  // namespace
}  // namespace ridge::ops::opsb_test
