// MatchGelu (pointwise_ops.cc), which lets a GEMM take a following GELU into its cuBLASLt
// epilogue: the erf form PyTorch exports (operands of Add and Mul in either order), the Gelu
// node, and the graphs it must leave alone. Plain graph code: runs on every machine.
#include <gtest/gtest.h>

#include "../analysis/graph_builder.h"
#include "backends/cuda/pointwise_ops.h"

namespace ridge::cuda {
namespace {

struct GeluGraph : ridge::testing::GraphBuilder {
  ir::ValueId Scalar(const std::string& name, float v) {
    ir::ValueId id = Weight(name, {});
    g.value(id).constant->data<float>()[0] = v;
    return id;
  }
  ir::ValueId Unary(const std::string& op, ir::ValueId a) {
    ir::ValueId y = Act(op + std::to_string(g.num_nodes()), {2, 8});
    Op(op, op + "_" + std::to_string(g.num_nodes()), {a}, {y});
    return y;
  }
  ir::ValueId Binary(const std::string& op, ir::ValueId a, ir::ValueId b) {
    ir::ValueId y = Act(op + std::to_string(g.num_nodes()), {2, 8});
    Op(op, op + "_" + std::to_string(g.num_nodes()), {a, b}, {y});
    return y;
  }
  // y / sqrt2 -> Erf -> + 1 -> * y -> * 0.5, operands swapped where asked.
  ir::ValueId ErfGelu(ir::ValueId y, bool swap, float sqrt2 = 1.4142135f, float half = 0.5f) {
    ir::ValueId t = Binary("Div", y, Scalar("s2", sqrt2));
    t = Unary("Erf", t);
    t = swap ? Binary("Add", Scalar("one", 1.f), t) : Binary("Add", t, Scalar("one", 1.f));
    t = swap ? Binary("Mul", t, y) : Binary("Mul", y, t);
    return swap ? Binary("Mul", Scalar("h", half), t) : Binary("Mul", t, Scalar("h", half));
  }
};

TEST(MatchGelu, ErfFormInBothOperandOrders) {
  for (bool swap : {false, true}) {
    GeluGraph b;
    ir::ValueId y = b.Input("y", {2, 8});
    ir::ValueId out = b.ErfGelu(y, swap);
    b.Output(out);
    auto m = MatchGelu(b.g, y);
    ASSERT_TRUE(m.has_value()) << "swap " << swap;
    EXPECT_EQ(m->out, out);
    EXPECT_EQ(m->nodes.size(), 5u);
    EXPECT_FALSE(m->tanh);
  }
}

TEST(MatchGelu, GeluNode) {
  for (const char* approx : {"none", "tanh"}) {
    GeluGraph b;
    ir::ValueId y = b.Input("y", {2, 8});
    ir::ValueId out = b.Unary("Gelu", y);
    ir::Attribute a;
    a.kind = ir::Attribute::Kind::kString;
    a.s = approx;
    b.g.node(b.g.num_nodes() - 1).attributes["approximate"] = a;
    b.Output(out);
    auto m = MatchGelu(b.g, y);
    ASSERT_TRUE(m.has_value()) << approx;
    EXPECT_EQ(m->out, out);
    EXPECT_EQ(m->tanh, std::string(approx) == "tanh");
  }
}

TEST(MatchGelu, LeavesOtherGraphsAlone) {
  {  // another constant: not GELU
    GeluGraph b;
    ir::ValueId y = b.Input("y", {2, 8});
    b.Output(b.ErfGelu(y, false, 2.f));
    EXPECT_FALSE(MatchGelu(b.g, y).has_value());
  }
  {  // 0.25 instead of 0.5
    GeluGraph b;
    ir::ValueId y = b.Input("y", {2, 8});
    b.Output(b.ErfGelu(y, true, 1.4142135f, 0.25f));
    EXPECT_FALSE(MatchGelu(b.g, y).has_value());
  }
  {  // y read by a third node: the GEMM output must stay visible
    GeluGraph b;
    ir::ValueId y = b.Input("y", {2, 8});
    b.Output(b.ErfGelu(y, false));
    b.Output(b.Unary("Relu", y));
    EXPECT_FALSE(MatchGelu(b.g, y).has_value());
  }
  {  // an intermediate value is a graph output
    GeluGraph b;
    ir::ValueId y = b.Input("y", {2, 8});
    ir::ValueId out = b.ErfGelu(y, false);
    b.Output(out);
    b.Output(b.g.node(1).outputs[0]);  // Erf's output
    EXPECT_FALSE(MatchGelu(b.g, y).has_value());
  }
  {  // y itself is a graph output
    GeluGraph b;
    ir::ValueId y = b.Input("y", {2, 8});
    b.Output(b.ErfGelu(y, false));
    b.Output(y);
    EXPECT_FALSE(MatchGelu(b.g, y).has_value());
  }
}

}  // namespace
}  // namespace ridge::cuda
