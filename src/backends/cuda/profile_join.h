// Joins the CUDA engine's measured per-step times with the analyzer's roofline prediction for
// the ONNX nodes each step covers (a fused conv step covers Conv + BatchNormalization + Relu).
// Plain C++ over a step list, so the join is tested with fake steps on machines without a GPU.
#pragma once

#include <string>
#include <vector>

#include "analysis/device_profile.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/graph.h"

namespace ridge::cuda {

// One engine step as ProfileSteps measured it.
struct StepSample {
  std::string kind;                // "cudnn_conv", "gemm_lt", "layout_transpose", ...
  std::vector<std::string> nodes;  // ONNX node names it covers (first = the node it runs)
  double ms = 0;                   // mean GPU time per run
  double start_ms = 0;             // offset from the run's start (for the trace)
};

struct JoinedStep {
  int index = 0;
  std::string kind;
  std::vector<std::string> nodes;
  bool overhead = false;  // engine bookkeeping (layout change, output copy): no ONNX cost
  double measured_ms = 0;
  double predicted_ms = -1;  // -1: nothing to predict (overhead step, unknown nodes)
  double flops = 0, bytes = 0;
  double roofline_pct = -1;  // predicted / measured * 100: how close to the roof it ran
  double share = 0;          // measured / total measured
  // What the prediction used: the roof and the kernel shape (wave quantization).
  double peak_flops_per_s = 0;
  int64_t gemm_m = 0, gemm_n = 0, groups = 1;
};

struct JoinedProfile {
  std::vector<JoinedStep> steps;  // engine order
  double measured_ms = 0, predicted_ms = 0;
  // Fixed kernel costs of the engine's own steps (not in predicted_ms, which joins ONNX work):
  // a whole-model prediction is predicted_ms + overhead_predicted_ms.
  double overhead_predicted_ms = 0;
  // Nodes with runtime work that no step names (neither folded at build nor a view op, nor
  // one the engine reported as an alias).
  std::vector<std::string> uncovered;
  std::vector<std::string> aliased;  // the engine's NodesWithoutSteps that no step names
  // Nodes named by a step that the graph does not have (a bug in the step's bookkeeping).
  std::vector<std::string> unknown;
};

// Steps that move data for the engine's own reasons (NCHW <-> NHWC, output copy).
bool IsOverheadStep(const std::string& kind);

// `graph` must be shape-inferred (the same graph the engine was built from). Each node's cost
// counts once, at the first non-overhead step that covers it. Step bytes: inputs read from
// outside the step, weights, and outputs consumed outside it (fused intermediates stay on chip).
// `device` null: no predictions (predicted_ms and roofline_pct stay -1), coverage only.
// `stepless`: nodes the engine ran as aliases (Engine::NodesWithoutSteps), not uncovered.
Result<JoinedProfile> JoinStepProfile(const ir::Graph& graph, const std::vector<StepSample>& steps,
                                      const analysis::DeviceProfile* device, Precision precision,
                                      const std::vector<std::string>& stepless = {});

}  // namespace ridge::cuda
