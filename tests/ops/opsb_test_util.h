// Test helpers for ops-b's op tests: build one-node graphs, run shape inference, run a
// reference kernel on tensors.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ops/op.h"
#include "ops/shape_inference.h"

namespace ridge::ops::opsb_test {

// An input of a one-node graph: either a graph input (dtype + shape) or a constant.
struct In {
  DType dtype = DType::kFloat32;
  std::optional<Shape> shape;
  std::optional<Tensor> constant;
  bool omitted = false;
};

inline In Act(Shape s, DType d = DType::kFloat32) { return In{d, std::move(s), std::nullopt}; }
inline In Const(Tensor t) {
  In in;
  in.dtype = t.dtype();
  in.shape = Shape::FromInts(t.dims());
  in.constant = std::move(t);
  return in;
}
inline In Omitted() {
  In in;
  in.omitted = true;
  return in;
}

template <typename T>
Tensor MakeT(DType d, std::vector<int64_t> dims, std::vector<T> vals) {
  Tensor t(d, std::move(dims));
  EXPECT_EQ(static_cast<size_t>(t.num_elements()), vals.size());
  if (!vals.empty()) std::memcpy(t.raw_data(), vals.data(), vals.size() * sizeof(T));
  return t;
}
inline Tensor F32(std::vector<int64_t> dims, std::vector<float> v) {
  return MakeT<float>(DType::kFloat32, std::move(dims), std::move(v));
}
inline Tensor I64(std::vector<int64_t> dims, std::vector<int64_t> v) {
  return MakeT<int64_t>(DType::kInt64, std::move(dims), std::move(v));
}
inline Tensor I32(std::vector<int64_t> dims, std::vector<int32_t> v) {
  return MakeT<int32_t>(DType::kInt32, std::move(dims), std::move(v));
}
inline Tensor Bool(std::vector<int64_t> dims, std::vector<uint8_t> v) {
  return MakeT<uint8_t>(DType::kBool, std::move(dims), std::move(v));
}

struct OneNode {
  ir::Graph graph;
  ir::NodeId node = 0;
  std::vector<ir::ValueId> outs;
  const ir::Value& out(size_t i = 0) const { return graph.value(outs[i]); }
};

// Builds a graph with one node of `op` over `ins`, with `num_outputs` outputs.
inline OneNode Build(const std::string& op, std::vector<In> ins,
                     std::map<std::string, ir::Attribute> attrs = {}, size_t num_outputs = 1) {
  OneNode g;
  ir::Node n;
  n.name = "n";
  n.op_type = op;
  n.attributes = std::move(attrs);
  for (size_t i = 0; i < ins.size(); ++i) {
    if (ins[i].omitted) {
      n.inputs.push_back(ir::kNoValue);
      continue;
    }
    ir::ValueId id = g.graph.AddValue("in" + std::to_string(i));
    ir::Value& v = g.graph.value(id);
    v.dtype = ins[i].dtype;
    v.shape = ins[i].shape;
    if (ins[i].constant) {
      v.constant = ins[i].constant;
      v.is_initializer = true;
    } else {
      v.is_graph_input = true;
      g.graph.AddInput(id);
    }
    n.inputs.push_back(id);
  }
  for (size_t i = 0; i < num_outputs; ++i) {
    g.outs.push_back(g.graph.AddValue("out" + std::to_string(i)));
    n.outputs.push_back(g.outs.back());
  }
  g.node = g.graph.AddNode(std::move(n));
  return g;
}

inline ir::Attribute AInt(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}
inline ir::Attribute AInts(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
inline ir::Attribute AFloat(float v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloat;
  a.f = v;
  return a;
}
inline ir::Attribute AStr(std::string v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kString;
  a.s = std::move(v);
  return a;
}
inline ir::Attribute ATensor(Tensor t) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kTensor;
  a.t = std::move(t);
  return a;
}

// Runs shape inference (which also folds constant nodes).
inline Status Infer(OneNode& g, InferOptions opts = {}) { return InferShapes(g.graph, opts); }

// Runs the op's reference kernel on `ins`.
inline Result<std::vector<Tensor>> RunRef(const std::string& op, std::vector<Tensor> ins,
                                          std::map<std::string, ir::Attribute> attrs = {},
                                          size_t num_outputs = 1) {
  const OpDef* def = FindOp("", op);
  if (!def || !def->reference) return Internal("no reference for " + op);
  ir::Node n;
  n.op_type = op;
  n.attributes = std::move(attrs);
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : ins) ptrs.push_back(t.empty() && t.dims().empty() ? nullptr : &t);
  KernelContext ctx(n, ptrs, num_outputs);
  RIDGE_RETURN_IF_ERROR(def->reference(ctx));
  return std::move(ctx.outputs());
}

inline NodeCost Cost(const OneNode& g, Precision p = Precision::kFp32) {
  const OpDef* def = FindOp("", g.graph.node(g.node).op_type);
  return def->cost(CostContext(g.graph, g.node, p));
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.num_elements());
}

}  // namespace ridge::ops::opsb_test
