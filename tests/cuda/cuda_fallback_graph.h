// Shared by the CPU fallback tests (cuda_fallback_test.cc, cuda_fallback_cli_test.cc): a
// graph builder and the conv -> ReduceMax (no GPU kernel) -> conv -> Sigmoid model.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/engine.h"
#include "gpu_skip.h"
#include "ir/graph.h"
#include "ops/shape_inference.h"

namespace ridge::cuda {

inline Tensor Random(std::vector<int64_t> dims, uint32_t seed, float scale) {
  Tensor t(DType::kFloat32, std::move(dims));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

inline ir::Attribute Ints(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}

inline ir::Attribute Int(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}

// A graph built node by node; shapes come from shape inference.
struct GraphBuilder {
  ir::Graph g;
  GraphBuilder() { g.opset_version = 18; }
  ir::ValueId Input(const std::string& name, std::vector<int64_t> dims) {
    ir::ValueId id = g.AddValue(name);
    g.value(id).dtype = DType::kFloat32;
    g.value(id).shape = Shape::FromInts(dims);
    g.value(id).is_graph_input = true;
    g.AddInput(id);
    return id;
  }
  ir::ValueId Constant(const std::string& name, Tensor t) {
    ir::ValueId id = g.AddValue(name);
    g.value(id).dtype = t.dtype();
    g.value(id).shape = Shape::FromInts(t.dims());
    g.value(id).constant = std::move(t);
    g.value(id).is_initializer = true;
    return id;
  }
  ir::ValueId Node(const std::string& name, const std::string& op, std::vector<ir::ValueId> in,
                   std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {g.AddValue(name + "_out")};
    n.attributes = std::move(attrs);
    const ir::ValueId out = n.outputs[0];
    g.AddNode(std::move(n));
    return out;
  }
  void Output(ir::ValueId v) {
    g.value(v).is_graph_output = true;
    g.AddOutput(v);
  }
};

// in [1,3,8,8] -> conv1 [1,8,8,8] (NHWC on the GPU) -> rmax: ReduceMax over W with a constant
// axes input, keepdims [1,8,8,1] (no GPU kernel: runs on the host, its input transposed back
// to NCHW first) -> conv2 [1,8,8,1] -> Sigmoid -> output.
inline ir::Graph ConvReduceMaxConv() {
  GraphBuilder b;
  ir::ValueId x = b.Input("in", {1, 3, 8, 8});
  ir::ValueId c1 = b.Node(
      "conv1", "Conv",
      {x, b.Constant("w1", Random({8, 3, 3, 3}, 1, 0.3f)), b.Constant("b1", Random({8}, 2, 0.1f))},
      {{"pads", Ints({1, 1, 1, 1})}});
  Tensor axes(DType::kInt64, {1});
  axes.data<int64_t>()[0] = 3;
  ir::ValueId r =
      b.Node("rmax", "ReduceMax", {c1, b.Constant("axes", axes)}, {{"keepdims", Int(1)}});
  ir::ValueId c2 = b.Node(
      "conv2", "Conv",
      {r, b.Constant("w2", Random({8, 8, 3, 3}, 3, 0.3f)), b.Constant("b2", Random({8}, 4, 0.1f))},
      {{"pads", Ints({1, 1, 1, 1})}});
  b.Output(b.Node("sig", "Sigmoid", {c2}));
  EXPECT_TRUE(ops::InferShapes(b.g, {}).ok());
  return std::move(b.g);
}

// Per run: the conv1 output [1,8,8,8] down, the ReduceMax output [1,8,8,1] up.
inline constexpr int64_t kFallbackElements = 8 * 8 * 8 + 8 * 8;

}  // namespace ridge::cuda
