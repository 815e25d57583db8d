#include "ir/graph.h"

#include <queue>

namespace ridge::ir {

int64_t Node::GetInt(const std::string& key, int64_t fallback) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.i;
}

float Node::GetFloat(const std::string& key, float fallback) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.f;
}

std::string Node::GetString(const std::string& key, const std::string& fallback) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.s;
}

std::vector<int64_t> Node::GetInts(const std::string& key,
                                   const std::vector<int64_t>& fallback) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.ints;
}

std::vector<float> Node::GetFloats(const std::string& key,
                                   const std::vector<float>& fallback) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.floats;
}

std::string Node::Describe(NodeId id) const {
  std::string who = name.empty() ? "#" + std::to_string(id) : "'" + name + "'";
  return "node " + who + " (" + op_type + ")";
}

ValueId Graph::AddValue(std::string value_name) {
  auto id = static_cast<ValueId>(values_.size());
  Value v;
  v.name = std::move(value_name);
  if (!v.name.empty()) value_by_name_.emplace(v.name, id);
  values_.push_back(std::move(v));
  return id;
}

NodeId Graph::AddNode(Node n) {
  auto id = static_cast<NodeId>(nodes_.size());
  for (ValueId in : n.inputs)
    if (in != kNoValue) values_[in].consumers.push_back(id);
  for (ValueId out : n.outputs)
    if (out != kNoValue) values_[out].producer = id;
  nodes_.push_back(std::move(n));
  return id;
}

std::optional<ValueId> Graph::FindValue(const std::string& value_name) const {
  auto it = value_by_name_.find(value_name);
  if (it == value_by_name_.end()) return std::nullopt;
  return it->second;
}

void Graph::AddInput(ValueId id) {
  inputs_.push_back(id);
  values_[id].is_graph_input = true;
}

void Graph::AddOutput(ValueId id) {
  outputs_.push_back(id);
  values_[id].is_graph_output = true;
}

void Graph::RebuildLinks() {
  for (Value& v : values_) {
    v.producer = kNoNode;
    v.consumers.clear();
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto id = static_cast<NodeId>(i);
    for (ValueId in : nodes_[i].inputs)
      if (in != kNoValue) values_[in].consumers.push_back(id);
    for (ValueId out : nodes_[i].outputs)
      if (out != kNoValue) values_[out].producer = id;
  }
}

Status Graph::SortTopologically() {
  RebuildLinks();
  const size_t n = nodes_.size();
  std::vector<int> pending(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (ValueId in : nodes_[i].inputs) {
      if (in == kNoValue) continue;
      const Value& v = values_[in];
      if (v.producer == kNoNode && !v.is_graph_input && !v.is_initializer &&
          !v.constant.has_value()) {
        return InvalidModel(nodes_[i].Describe(static_cast<NodeId>(i)) + ": input '" + v.name +
                            "' is not produced by any node, nor a graph input or initializer");
      }
      if (v.producer != kNoNode) ++pending[i];
    }
  }
  // Kahn's algorithm with a min-heap on the original index keeps the file's order when valid.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (ValueId out : nodes_[i].outputs) {
      if (out == kNoValue) continue;
      for (NodeId c : values_[out].consumers)
        if (--pending[static_cast<size_t>(c)] == 0) ready.push(static_cast<size_t>(c));
    }
  }
  if (order.size() != n) {
    // A blocked node may only be downstream of a cycle: walk back through blocked producers;
    // after n steps the walk is certainly on the cycle.
    size_t at = 0;
    while (pending[at] == 0) ++at;
    for (size_t step = 0; step < n; ++step) {
      for (ValueId in : nodes_[at].inputs) {
        if (in == kNoValue) continue;
        NodeId p = values_[in].producer;
        if (p != kNoNode && pending[static_cast<size_t>(p)] > 0) {
          at = static_cast<size_t>(p);
          break;
        }
      }
    }
    return InvalidModel(nodes_[at].Describe(static_cast<NodeId>(at)) +
                        ": the graph has a cycle through this node");
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (size_t i : order) sorted.push_back(std::move(nodes_[i]));
  nodes_ = std::move(sorted);
  RebuildLinks();
  return Status::Ok();
}

}  // namespace ridge::ir
