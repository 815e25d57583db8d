// Layer pairing and cause attribution for `ridge trt compare`.
//
// Pairing: each compute layer is keyed by the "anchor" ONNX nodes it covers (convolutions, GEMMs,
// pools). Two exports of one model with different Q/DQ insertion number their nodes differently
// (Conv_0 in the FP16 export is Conv_9 in the QAT one), so when most names do not match, the key
// is the anchor's rank among same-type nodes (the n-th Conv), which survives re-numbering because
// exporters number nodes in graph order. Layers sharing a key are joined (union-find), so a layer
// fused in one engine and split in the other forms one pair. Reformat, Q/DQ and no-op layers
// join the pair of the layer that consumes their output (or, at the graph's end, produces input).
#include "trt/engine_compare.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <set>
#include <unordered_map>

namespace ridge::trt {
namespace {

bool IsAnchorOp(const std::string& op) {
  static const std::set<std::string> kAnchors = {
      "Conv",        "ConvTranspose",     "Gemm",          "MatMul",    "MaxPool",
      "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Attention", "LayerNormalization"};
  return kAnchors.count(op) > 0;
}

struct UnionFind {
  std::vector<size_t> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  size_t Find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void Join(size_t a, size_t b) { parent[Find(a)] = Find(b); }
};

// Keys of each layer's anchors: by name, or by (op type, rank of its index within the engine).
std::vector<std::vector<std::string>> AnchorKeys(const EngineReport& r, bool by_name) {
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> by_type;
  int64_t order = 0;
  for (const LayerRecord& rec : r.layers) {
    for (const OnnxNodeRef& n : rec.onnx_nodes) {
      if (!IsAnchorOp(n.op_type)) continue;
      // Path-style names have no index: their order of appearance stands in for it.
      by_type[n.op_type].push_back({n.index >= 0 ? n.index : (1LL << 40) + order, n.name});
      ++order;
    }
  }
  std::unordered_map<std::string, std::string> rank_key;
  for (auto& [type, list] : by_type) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    for (size_t i = 0; i < list.size(); ++i)
      rank_key[list[i].second] = type + "#" + std::to_string(i);
  }
  std::vector<std::vector<std::string>> keys(r.layers.size());
  for (size_t i = 0; i < r.layers.size(); ++i)
    for (const OnnxNodeRef& n : r.layers[i].onnx_nodes)
      if (IsAnchorOp(n.op_type)) keys[i].push_back(by_name ? n.name : rank_key[n.name]);
  return keys;
}

// Joins each anchor-less layer to a neighbour through the tensors it writes (consumers first).
void AttachByTensorFlow(const EngineReport& r, const std::vector<bool>& anchored, size_t offset,
                        UnionFind* uf) {
  std::unordered_map<std::string, std::vector<size_t>> consumers, producers;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    for (const EngineTensor& t : r.layers[i].layer->inputs) consumers[t.name].push_back(i);
    for (const EngineTensor& t : r.layers[i].layer->outputs) producers[t.name].push_back(i);
  }
  for (size_t i = 0; i < r.layers.size(); ++i) {
    if (anchored[i]) continue;
    auto walk = [&](bool forward) -> long {
      std::vector<size_t> frontier = {i};
      std::set<size_t> seen = {i};
      for (int hop = 0; hop < 16 && !frontier.empty(); ++hop) {
        std::vector<size_t> next;
        for (size_t l : frontier) {
          const auto& tensors = forward ? r.layers[l].layer->outputs : r.layers[l].layer->inputs;
          for (const EngineTensor& t : tensors) {
            for (size_t n : (forward ? consumers : producers)[t.name]) {
              if (anchored[n]) return static_cast<long>(n);
              if (seen.insert(n).second) next.push_back(n);
            }
          }
        }
        frontier = std::move(next);
      }
      return -1;
    };
    long target = walk(true);
    if (target < 0) target = walk(false);
    if (target >= 0) uf->Join(offset + i, offset + static_cast<size_t>(target));
  }
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f ms", ms);
  return buf;
}

std::string ShortName(const std::string& name) {
  return name.size() <= 48 ? name : name.substr(0, 45) + "...";
}

bool IsInt8Engine(const EngineReport& r) {
  for (const LayerRecord& rec : r.layers)
    if (rec.kind == LayerKind::kCompute && rec.in_elem == ElemType::kInt8) return true;
  return false;
}

void AddCause(std::vector<Cause>* causes, CauseKind kind, double ms, const std::string& what) {
  for (Cause& c : *causes) {
    if (c.kind == kind) {
      c.ms += ms;
      c.detail += "; " + what;
      return;
    }
  }
  causes->push_back({kind, ms, what});
}

}  // namespace

const char* CauseName(CauseKind k) {
  switch (k) {
    case CauseKind::kQdqUnfused:
      return "Q/DQ left unfused";
    case CauseKind::kReformatAdded:
      return "reformat layers added";
    case CauseKind::kHigherPrecision:
      return "layers left in FP16/FP32";
    case CauseKind::kMemoryBound:
      return "memory-bound (time cannot halve)";
    case CauseKind::kNoTensorCores:
      return "tactics without Tensor Cores";
  }
  return "?";
}

const char* CauseKey(CauseKind k) {
  switch (k) {
    case CauseKind::kQdqUnfused:
      return "qdq_unfused";
    case CauseKind::kReformatAdded:
      return "reformat_added";
    case CauseKind::kHigherPrecision:
      return "higher_precision";
    case CauseKind::kMemoryBound:
      return "memory_bound";
    case CauseKind::kNoTensorCores:
      return "no_tensor_cores";
  }
  return "?";
}

EngineComparison CompareEngines(const EngineReport& a, const EngineReport& b) {
  EngineComparison c;
  c.a_label = a.label;
  c.b_label = b.label;
  c.a_ms = a.total_ms;
  c.b_ms = b.total_ms;
  if (a.engine && a.engine->has_summary) c.a_qps = a.engine->summary.throughput_qps;
  if (b.engine && b.engine->has_summary) c.b_qps = b.engine->summary.throughput_qps;
  c.a_conversion_ms = a.reformat_ms + a.quantize_ms;
  c.b_conversion_ms = b.reformat_ms + b.quantize_ms;

  // Name pairing when most of B's anchors exist by name in A, else rank pairing.
  auto a_names = AnchorKeys(a, true), b_names = AnchorKeys(b, true);
  std::set<std::string> a_set;
  for (const auto& ks : a_names) a_set.insert(ks.begin(), ks.end());
  size_t b_total = 0, b_hit = 0;
  for (const auto& ks : b_names)
    for (const std::string& k : ks) b_total++, b_hit += a_set.count(k);
  const bool by_name = b_total > 0 && 2 * b_hit >= b_total;
  c.pairing = by_name ? "ONNX node names" : "ONNX op order (node names differ between exports)";
  auto a_keys = by_name ? a_names : AnchorKeys(a, false);
  auto b_keys = by_name ? b_names : AnchorKeys(b, false);

  const size_t na = a.layers.size(), nb = b.layers.size();
  UnionFind uf(na + nb);
  std::unordered_map<std::string, size_t> first_owner;
  auto join_keys = [&](const std::vector<std::vector<std::string>>& keys, size_t offset) {
    for (size_t i = 0; i < keys.size(); ++i)
      for (const std::string& k : keys[i]) {
        auto [it, inserted] = first_owner.emplace(k, offset + i);
        if (!inserted) uf.Join(offset + i, it->second);
      }
  };
  join_keys(a_keys, 0);
  join_keys(b_keys, na);
  std::vector<bool> a_anch(na), b_anch(nb);
  for (size_t i = 0; i < na; ++i) a_anch[i] = !a_keys[i].empty();
  for (size_t i = 0; i < nb; ++i) b_anch[i] = !b_keys[i].empty();
  AttachByTensorFlow(a, a_anch, 0, &uf);
  AttachByTensorFlow(b, b_anch, na, &uf);

  // Groups in B's layer order (A-only groups after, in A's order).
  std::map<size_t, size_t> root_to_pair;
  auto pair_of = [&](size_t node) -> LayerPair& {
    size_t root = uf.Find(node);
    auto [it, inserted] = root_to_pair.emplace(root, c.pairs.size());
    if (inserted) c.pairs.emplace_back();
    return c.pairs[it->second];
  };
  for (size_t j = 0; j < nb; ++j) {
    LayerPair& p = pair_of(na + j);
    p.b_layers.push_back(j);
    p.b_ms += b.layers[j].time_ms;
  }
  for (size_t i = 0; i < na; ++i) {
    LayerPair& p = pair_of(i);
    p.a_layers.push_back(i);
    p.a_ms += a.layers[i].time_ms;
  }

  const bool b_int8 = IsInt8Engine(b);
  for (LayerPair& p : c.pairs) {
    // Title: the anchors (or first layer names) the pair covers.
    std::vector<std::string> names;
    for (size_t j : p.b_layers)
      for (const OnnxNodeRef& n : b.layers[j].onnx_nodes)
        if (IsAnchorOp(n.op_type)) names.push_back(n.name);
    if (names.empty())
      for (size_t i : p.a_layers)
        for (const OnnxNodeRef& n : a.layers[i].onnx_nodes)
          if (IsAnchorOp(n.op_type)) names.push_back(n.name);
    if (names.empty() && !p.b_layers.empty()) names.push_back(b.layers[p.b_layers[0]].layer->name);
    if (names.empty() && !p.a_layers.empty()) names.push_back(a.layers[p.a_layers[0]].layer->name);
    for (const std::string& n : names) p.title += (p.title.empty() ? "" : "+") + n;
    p.title = ShortName(p.title);

    p.did_not_pay = p.b_ms > 0 && p.b_ms > kDidNotPayRatio * p.a_ms;
    if (!p.did_not_pay) continue;
    double a_bytes = 0, b_bytes = 0, a_reformat = 0;
    for (size_t i : p.a_layers) {
      a_bytes += a.layers[i].bytes;
      if (a.layers[i].kind == LayerKind::kReformat) a_reformat += a.layers[i].time_ms;
    }
    for (size_t j : p.b_layers) b_bytes += b.layers[j].bytes;
    char buf[256];
    double b_reformat = 0;
    std::string reformat_names;
    for (size_t j : p.b_layers) {
      const LayerRecord& r = b.layers[j];
      const std::string& name = r.layer->name;
      if (r.time_ms <= 0) continue;
      if (r.kind == LayerKind::kQuantize) {
        std::snprintf(buf, sizeof buf, "%s %s->%s %s", ShortName(name).c_str(),
                      ElemTypeName(r.in_elem), ElemTypeName(r.out_elem), Ms(r.time_ms).c_str());
        AddCause(&p.causes, CauseKind::kQdqUnfused, r.time_ms, buf);
      } else if (r.kind == LayerKind::kReformat) {
        b_reformat += r.time_ms;
        reformat_names += (reformat_names.empty() ? "" : ", ") + ShortName(name);
      } else if (r.kind == LayerKind::kCompute) {
        if (b_int8 && (r.in_elem != ElemType::kInt8 || r.out_elem != ElemType::kInt8)) {
          std::snprintf(buf, sizeof buf, "%s computes %s->%s %s", ShortName(name).c_str(),
                        ElemTypeName(r.in_elem), ElemTypeName(r.out_elem), Ms(r.time_ms).c_str());
          AddCause(&p.causes, CauseKind::kHigherPrecision, r.time_ms, buf);
        }
        if (r.bound == "memory") {
          std::snprintf(buf, sizeof buf,
                        "%s at %.0f FLOP/B, bytes %.2f MB vs %.2f MB in A (x%.2f) %s",
                        ShortName(name).c_str(), r.intensity, b_bytes / 1e6, a_bytes / 1e6,
                        a_bytes > 0 ? b_bytes / a_bytes : 0.0, Ms(r.time_ms).c_str());
          AddCause(&p.causes, CauseKind::kMemoryBound, r.time_ms, buf);
        }
        if (r.tensor_core == TensorCoreUse::kNo) {
          std::snprintf(buf, sizeof buf, "%s: %s %s", ShortName(name).c_str(),
                        r.tensor_core_why.c_str(), Ms(r.time_ms).c_str());
          AddCause(&p.causes, CauseKind::kNoTensorCores, r.time_ms, buf);
        }
      }
    }
    if (b_reformat > a_reformat) {
      std::snprintf(buf, sizeof buf, "%s (+%s over A)", reformat_names.c_str(),
                    Ms(b_reformat - a_reformat).c_str());
      AddCause(&p.causes, CauseKind::kReformatAdded, b_reformat - a_reformat, buf);
    }
    for (const Cause& cause : p.causes) {
      c.cause_ms[cause.kind] += cause.ms;
      c.cause_layers[cause.kind] += 1;
    }
  }
  return c;
}

}  // namespace ridge::trt
