// Compares two engines of one model (e.g. FP16 against INT8): pairs their layers through the
// ONNX nodes they cover, and for each pair where B did not pay off names the causes with their
// time: reformat layers added, Q/DQ left unfused, layers left in FP16/FP32, memory-bound layers
// whose time cannot halve, tactics without Tensor Cores.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "trt/engine_analysis.h"

namespace ridge::trt {

enum class CauseKind {
  kQdqUnfused,
  kReformatAdded,
  kHigherPrecision,
  kMemoryBound,
  kNoTensorCores
};
const char* CauseName(CauseKind k);  // "Q/DQ left unfused", ...
const char* CauseKey(CauseKind k);   // "qdq_unfused", ... (JSON)

struct Cause {
  CauseKind kind;
  double ms = 0;       // B time of the layers this cause is about
  std::string detail;  // names and figures
};

struct LayerPair {
  std::vector<size_t> a_layers, b_layers;  // indices into the reports' layers
  double a_ms = 0, b_ms = 0;
  std::string title;  // the ONNX nodes the group covers, shortened
  bool did_not_pay = false;
  std::vector<Cause> causes;
};

struct EngineComparison {
  std::string a_label, b_label;
  double a_ms = 0, b_ms = 0;    // profiled totals
  double a_qps = 0, b_qps = 0;  // trtexec throughput, 0 when unknown
  std::string pairing;          // "ONNX node names" or "ONNX op order"
  std::vector<LayerPair> pairs;
  std::map<CauseKind, double> cause_ms;  // B time per cause over the pairs that did not pay
  std::map<CauseKind, int> cause_layers;
  double a_conversion_ms = 0, b_conversion_ms = 0;  // reformat + Q/DQ
};

// Slower-than-this B/A time ratio marks a pair that "did not pay" (INT8's ideal is 0.5).
inline constexpr double kDidNotPayRatio = 0.75;

EngineComparison CompareEngines(const EngineReport& a, const EngineReport& b);

}  // namespace ridge::trt
