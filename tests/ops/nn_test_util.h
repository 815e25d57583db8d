// Test helpers for ops-a's op tests (conv, pool, norm, gemm, softmax, resize, pad, reduce, topk):
// one-node graphs, attribute builders, shape inference, cost and reference-kernel runs.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/op.h"
#include "ops/shape_inference.h"

namespace ridge::ops::nn_test {

struct Input {
  DType dtype = DType::kFloat32;
  std::optional<Shape> shape;  // nullopt: rank unknown
  std::optional<Tensor> constant;
  bool omitted = false;
};

inline Input Act(Shape s, DType d = DType::kFloat32) { return Input{d, std::move(s), {}, false}; }
inline Input UnknownRank(DType d = DType::kFloat32) { return Input{d, std::nullopt, {}, false}; }
inline Input Const(Tensor t) {
  Input in;
  in.dtype = t.dtype();
  in.shape = Shape::FromInts(t.dims());
  in.constant = std::move(t);
  return in;
}
inline Input None() {
  Input in;
  in.omitted = true;
  return in;
}
inline Shape Sym(std::vector<Dim> dims) { return Shape(std::move(dims)); }

inline Tensor F32(std::vector<int64_t> dims, std::vector<float> v) {
  Tensor t(DType::kFloat32, std::move(dims));
  EXPECT_EQ(static_cast<size_t>(t.num_elements()), v.size());
  if (!v.empty()) std::memcpy(t.raw_data(), v.data(), v.size() * sizeof(float));
  return t;
}
inline Tensor I64(std::vector<int64_t> dims, std::vector<int64_t> v) {
  Tensor t(DType::kInt64, std::move(dims));
  EXPECT_EQ(static_cast<size_t>(t.num_elements()), v.size());
  if (!v.empty()) std::memcpy(t.raw_data(), v.data(), v.size() * sizeof(int64_t));
  return t;
}
inline std::vector<float> Floats(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[static_cast<size_t>(i)] = t.GetAsDouble(i);
  return v;
}
inline std::vector<int64_t> Ints(const Tensor& t) {
  std::vector<int64_t> v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[static_cast<size_t>(i)] = t.GetAsInt64(i);
  return v;
}

using Attrs = std::map<std::string, ir::Attribute>;
inline ir::Attribute AInt(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}
inline ir::Attribute AFloat(float v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kFloat;
  a.f = v;
  return a;
}
inline ir::Attribute AInts(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
inline ir::Attribute AStr(std::string v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kString;
  a.s = std::move(v);
  return a;
}

struct OneNode {
  ir::Graph graph;
  std::vector<ir::ValueId> outs;
  const ir::Value& out(size_t i = 0) const { return graph.value(outs[i]); }
  std::string shape(size_t i = 0) const {
    const auto& v = out(i);
    return v.shape ? v.shape->ToString() : "unknown-rank";
  }
};

inline OneNode Build(const std::string& op, std::vector<Input> ins, Attrs attrs = {},
                     size_t num_outputs = 1, int64_t opset = 17) {
  OneNode g;
  g.graph.opset_version = opset;
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
    ir::ValueId id = g.graph.AddValue("out" + std::to_string(i));
    g.outs.push_back(id);
    n.outputs.push_back(id);
  }
  g.graph.AddNode(std::move(n));
  for (ir::ValueId id : g.outs) g.graph.AddOutput(id);
  return g;
}

// Runs the op's infer on the graph's only node (no folding).
inline Status Infer(OneNode& g) {
  const OpDef* def = FindOp("", g.graph.node(0).op_type);
  if (!def || !def->infer) return Internal("op missing");
  InferContext ctx(g.graph, 0);
  return def->infer(ctx);
}

inline NodeCost Cost(const OneNode& g, Precision p = Precision::kFp32) {
  const OpDef* def = FindOp("", g.graph.node(0).op_type);
  CostContext ctx(g.graph, 0, p);
  return def->cost(ctx);
}

// Runs the reference kernel on the given tensors (nullopt = omitted input).
inline Result<std::vector<Tensor>> RunRef(const std::string& op,
                                          std::vector<std::optional<Tensor>> ins, Attrs attrs = {},
                                          size_t num_outputs = 1, int64_t opset = 17) {
  ir::Node n;
  n.name = "n";
  n.op_type = op;
  n.attributes = std::move(attrs);
  std::vector<const Tensor*> ptrs;
  for (auto& t : ins) ptrs.push_back(t ? &*t : nullptr);
  const OpDef* def = FindOp("", op);
  if (!def || !def->reference) return Internal("no reference for " + op);
  KernelContext ctx(n, ptrs, num_outputs);
  ctx.set_opset_version(opset);
  RIDGE_RETURN_IF_ERROR(def->reference(ctx));
  return std::move(ctx.outputs());
}

inline void ExpectNear(const std::vector<float>& got, const std::vector<float>& want,
                       float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

// Deterministic pseudo-random floats in [-1, 1).
inline std::vector<float> Rand(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

}  // namespace ridge::ops::nn_test
