// Per-layer analysis of a TensorRT engine from its exports: FLOPs and bytes from each layer's own
// dims at its actual precision and padded vectorized layout, measured time, achieved FLOP/s and
// bytes/s, share of the device's roofline, bound class, Tensor Core use (from the tactic name and
// the channel alignment) and the ONNX nodes each fused layer covers. Reformat and Q/DQ layers —
// layout and precision conversions that no FLOP count sees — are totalled with their time share.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/device_profile.h"
#include "trt/engine_data.h"

namespace ridge::trt {

enum class LayerKind { kCompute, kReformat, kQuantize, kNoOp };
const char* LayerKindName(LayerKind k);  // "compute", "reformat", "quantize", "noop"

enum class TensorCoreUse { kYes, kNo, kUnknown };

struct OnnxNodeRef {
  std::string name;     // "Conv_22" or "/layer1/layer1.0/conv1/Conv"
  std::string op_type;  // "Conv"
  int64_t index = -1;   // 22 for "Conv_22"; -1 for path-style names
};
// The ONNX nodes a fused layer name covers: "Conv_12 + Relu_13", "... + PWN(Clip_13)", and
// path-style names. Weight and bias names ("conv1.weight") and TensorRT's own unnamed layers are
// not nodes. "Reformatting CopyNode for ... to X" covers nothing (X is its consumer).
std::vector<OnnxNodeRef> FusedOnnxNodes(const std::string& layer_name);
// The Tensor Core verdict for a tactic kernel name, with the keyword that decided it.
TensorCoreUse TacticUsesTensorCores(const std::string& tactic, std::string* why);

struct LayerRecord {
  const EngineLayer* layer = nullptr;  // points into EngineData::layers
  LayerKind kind = LayerKind::kCompute;
  std::vector<OnnxNodeRef> onnx_nodes;
  ElemType in_elem = ElemType::kUnknown, out_elem = ElemType::kUnknown;
  double flops = 0;  // with channels padded to the format's vector width
  double flops_unpadded = 0;
  double bytes = 0;       // activations (padded) + weights + bias
  double time_ms = 0;     // profile average
  double time_share = 0;  // of the engine's profiled total, 0..1
  double achieved_flops_per_s = 0, achieved_bytes_per_s = 0;
  double intensity = 0;         // FLOPs per byte
  double roof_flops_per_s = 0;  // min(peak at this precision, intensity x bandwidth)
  double roof_share = 0;        // achieved / roof, 0..1 (0 when no device or no time)
  std::string bound;            // "compute", "memory", "movement" (reformat), "none"
  TensorCoreUse tensor_core = TensorCoreUse::kUnknown;
  std::string tensor_core_why;   // the tactic keyword, or why not
  bool channels_aligned = true;  // every input/output channel count a multiple of the TC width
};

struct EngineReport {
  std::string label, device_name;
  bool has_device = false;
  std::vector<LayerRecord> layers;
  double total_ms = 0;     // sum of per-layer averages (the profile's total)
  double reformat_ms = 0;  // layout copies (Origin REFORMAT)
  double quantize_ms = 0;  // standalone Q/DQ conversions (Origin QDQ)
  double compute_ms = 0;
  double tensor_core_ms = 0;  // compute time spent in Tensor Core tactics
  double total_flops = 0, total_bytes = 0;
  std::map<std::string, double> ms_by_type;  // layer type -> ms
  std::vector<std::string> lints;
  const EngineData* engine = nullptr;
  double ConversionShare() const {
    return total_ms > 0 ? (reformat_ms + quantize_ms) / total_ms : 0;
  }
  double TensorCoreCoverage() const { return compute_ms > 0 ? tensor_core_ms / compute_ms : 0; }
};

// `device` may be null: roofline shares are then left at 0 and the report says so.
EngineReport AnalyzeEngine(const EngineData& engine, const analysis::DeviceProfile* device);

// Picks a device profile name from trtexec's device string ("NVIDIA A100 80GB PCIe" ->
// "a100-pcie"); empty when it does not recognize the device.
std::string GuessDeviceProfile(const std::string& device_name);

}  // namespace ridge::trt
