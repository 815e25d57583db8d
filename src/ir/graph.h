// Ridgeline's intermediate representation: a graph of Nodes connected by Values.
//
// Values and nodes live in vectors and refer to each other by index (ValueId, NodeId), so the
// graph copies cheaply and passes can rewrite it without pointer chasing. After the loader's
// verification, nodes() is in topological order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"

namespace ridge::ir {

using ValueId = int32_t;
using NodeId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an omitted optional input
inline constexpr NodeId kNoNode = -1;    // a value nobody produces (graph input, initializer)

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph };
  Kind kind = Kind::kInt;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Value {
  std::string name;
  DType dtype = DType::kUndefined;
  std::optional<Shape> shape;  // nullopt: rank unknown
  NodeId producer = kNoNode;
  std::vector<NodeId> consumers;   // one entry per consuming input slot's node (may repeat)
  std::optional<Tensor> constant;  // initializer data or a folded constant
  bool is_initializer = false;     // a weight from the file (not a folded intermediate)
  bool is_graph_input = false;
  bool is_graph_output = false;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;            // "" for the default ONNX domain
  std::vector<ValueId> inputs;   // kNoValue for omitted optional inputs
  std::vector<ValueId> outputs;  // kNoValue for omitted optional outputs
  std::map<std::string, Attribute> attributes;

  bool HasAttr(const std::string& key) const { return attributes.count(key) != 0; }
  int64_t GetInt(const std::string& key, int64_t fallback) const;
  float GetFloat(const std::string& key, float fallback) const;
  std::string GetString(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> GetInts(const std::string& key,
                               const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> GetFloats(const std::string& key,
                               const std::vector<float>& fallback = {}) const;
  // "node 'conv1' (Conv)" or "node #12 (Conv)" when unnamed: the context prefix for errors.
  std::string Describe(NodeId id) const;
};

class Graph {
 public:
  // Adds a value with a unique name; returns its id. Does not check uniqueness (the loader does).
  ValueId AddValue(std::string name);
  // Appends a node and wires producer/consumer links of its inputs and outputs.
  NodeId AddNode(Node node);

  Value& value(ValueId id) { return values_[static_cast<size_t>(id)]; }
  const Value& value(ValueId id) const { return values_[static_cast<size_t>(id)]; }
  Node& node(NodeId id) { return nodes_[static_cast<size_t>(id)]; }
  const Node& node(NodeId id) const { return nodes_[static_cast<size_t>(id)]; }
  size_t num_values() const { return values_.size(); }
  size_t num_nodes() const { return nodes_.size(); }
  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& mutable_nodes() { return nodes_; }
  const std::vector<Value>& values() const { return values_; }

  std::optional<ValueId> FindValue(const std::string& name) const;

  // Graph inputs that the caller feeds (initializers excluded), and graph outputs.
  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  void AddInput(ValueId id);
  void AddOutput(ValueId id);

  // Reorders nodes_ topologically (stable). Fails naming a node on a cycle or an input that is
  // neither produced, a graph input, nor an initializer.
  Status SortTopologically();
  // Rebuilds producer/consumer links from nodes_ (after a pass rewrote inputs/outputs).
  void RebuildLinks();

  std::string name;
  std::string producer_name;
  int64_t opset_version = 0;  // default ("" / "ai.onnx") domain opset
  std::string source_path;    // file the graph came from, for error messages

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::unordered_map<std::string, ValueId> value_by_name_;
};

}  // namespace ridge::ir
