// Joins an engine report with the ONNX model it was built from (`ridge trt report --onnx`): each
// engine layer gets the ONNX-level FLOPs and the analyzer's roofline prediction of the ONNX nodes
// it covers, beside its own FLOPs and measured time. Layer names carry the covered node names
// (FusedOnnxNodes); they are resolved against the model's node names, first exactly, then by
// rank among same-type nodes when the engine was built from an export with other names
// ("Conv_12" vs "/layer1/conv/Conv").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "core/status.h"
#include "ir/graph.h"
#include "trt/engine_analysis.h"

namespace ridge::trt {

struct LayerJoin {
  std::vector<ir::NodeId> nodes;        // ONNX nodes the layer covers, resolved in the model
  std::vector<std::string> node_names;  // their names in the model
  std::vector<std::string> unresolved;  // names from the layer name not found in the model
  double onnx_flops = 0;                // cost model FLOPs of `nodes`
  double predicted_ms = 0;              // their share of the roofline prediction
  bool matched() const { return !nodes.empty(); }
};

struct OnnxJoin {
  std::string model_name;
  int64_t batch = 0;  // the engine's batch, bound on the model's inputs
  Precision precision = Precision::kFp32;
  std::vector<LayerJoin> layers;  // parallel to EngineReport::layers
  int candidate_layers = 0;       // layers expected to map to ONNX nodes (all but layout copies)
  int matched_layers = 0;
  std::vector<std::string> unmatched_layers;       // "name (why)"
  int nodes_by_name = 0, nodes_by_rank = 0;        // how the resolved node references were found
  double model_flops = 0, model_predicted_ms = 0;  // the whole ONNX model
  double matched_flops = 0, matched_predicted_ms = 0;  // sums over the matched layers
  int uncovered_compute_nodes = 0;  // ONNX nodes with FLOPs that no engine layer names
  double uncovered_flops = 0;
};

// The batch of an engine: dim 0 of its input tensors (consumed by a layer, produced by none).
// 0 when the exports do not say.
int64_t EngineBatch(const EngineData& engine);
// The precision the analyzer should assume: that of the largest share of compute time
// (int8, fp16 or fp32; tf32 when those fp32 layers' tactics say tf32).
Precision EnginePrecision(const EngineReport& report);

// Binds `batch` (0: leave the model's) on every graph input, overriding a static dim 0, and infers
// shapes.
Status PrepareModelForEngine(ir::Graph& graph, int64_t batch);

// `analysis` must come from analysis::Analyze on `graph`.
OnnxJoin JoinOnnx(const EngineReport& report, const ir::Graph& graph,
                  const analysis::Analysis& analysis, int64_t batch);

}  // namespace ridge::trt
