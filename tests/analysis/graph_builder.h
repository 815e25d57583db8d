// Tiny helpers that build shape-annotated graphs in code for analyzer tests (no ONNX file).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace ridge::testing {

class GraphBuilder {
 public:
  // An activation with a known shape (fp32).
  ir::ValueId Act(const std::string& name, std::vector<int64_t> dims) {
    ir::ValueId id = g.AddValue(name);
    g.value(id).dtype = DType::kFloat32;
    g.value(id).shape = Shape::FromInts(dims);
    return id;
  }
  ir::ValueId Input(const std::string& name, std::vector<int64_t> dims) {
    ir::ValueId id = Act(name, dims);
    g.value(id).is_graph_input = true;
    g.AddInput(id);
    return id;
  }
  // A weight: an initializer with zero data.
  ir::ValueId Weight(const std::string& name, std::vector<int64_t> dims) {
    ir::ValueId id = Act(name, dims);
    g.value(id).constant = Tensor(DType::kFloat32, dims);
    g.value(id).is_initializer = true;
    return id;
  }
  ir::NodeId Op(const std::string& op, const std::string& name, std::vector<ir::ValueId> in,
                std::vector<ir::ValueId> out) {
    ir::Node n;
    n.op_type = op;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return g.AddNode(std::move(n));
  }
  void Ints(ir::NodeId n, const std::string& key, std::vector<int64_t> v) {
    ir::Attribute a;
    a.kind = ir::Attribute::Kind::kInts;
    a.ints = std::move(v);
    g.node(n).attributes[key] = a;
  }
  void Int(ir::NodeId n, const std::string& key, int64_t v) {
    ir::Attribute a;
    a.kind = ir::Attribute::Kind::kInt;
    a.i = v;
    g.node(n).attributes[key] = a;
  }
  void Output(ir::ValueId id) {
    g.value(id).is_graph_output = true;
    g.AddOutput(id);
  }
  // A 3x3 (or kxk) conv, stride 1, same padding.
  ir::NodeId Conv(const std::string& name, ir::ValueId x, ir::ValueId y, int64_t c, int64_t k,
                  int64_t kernel = 3, int64_t group = 1) {
    ir::ValueId w = Weight(name + ".w", {k, c / group, kernel, kernel});
    ir::NodeId n = Op("Conv", name, {x, w}, {y});
    Ints(n, "kernel_shape", {kernel, kernel});
    int64_t p = kernel / 2;
    Ints(n, "pads", {p, p, p, p});
    Ints(n, "strides", {1, 1});
    Int(n, "group", group);
    return n;
  }

  ir::Graph g;
};

}  // namespace ridge::testing
