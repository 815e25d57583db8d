// What trtexec exports about an engine it built, as plain records: the layer information
// (--exportLayerInfo, "graph.json"), the per-layer profile (--exportProfile) and the run summary
// (the "profile.metadata.json" TREx writes). Readers are defensive: unknown layer types pass
// through, missing optional fields stay empty, older and newer key spellings are accepted, and a
// malformed or truncated file is refused with a Status naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace ridge::trt {

// Element type and vectorized layout, decoded from a "Format/Datatype" string such as
// "Channel major FP16 format where channel % 8 == 0" or "Int8 NC/32HW32".
enum class ElemType { kUnknown, kFp32, kFp16, kBf16, kInt8, kFp8, kInt32, kBool };
struct TensorFormat {
  ElemType elem = ElemType::kUnknown;
  int channel_multiple = 1;   // channels padded up to this (vector width or "channel % N")
  bool channel_last = false;  // NHWC-like ("Channel major", "HWC")
};
TensorFormat ParseFormat(const std::string& text);
const char* ElemTypeName(ElemType t);  // "fp32", "fp16", "int8", ...
int ElemBytes(ElemType t);             // 0 for unknown

struct EngineTensor {
  std::string name;
  std::vector<int64_t> dims;  // as exported; -1 = dynamic
  std::string format_text;    // the raw "Format/Datatype" string
  TensorFormat format;
};

// One engine layer from the layer-info export. Fields the export lacks stay default.
struct EngineLayer {
  std::string name;            // fused ONNX node names joined with " + "
  std::string layer_type;      // "CaskConvolution", "Reformat", "NoOp", ... (unknown ones kept)
  std::string parameter_type;  // "Convolution", "Pooling", "Reformat", ...
  std::string origin;          // "QDQ", "REFORMAT", ... (why TensorRT inserted the layer)
  std::string tactic_name;
  std::vector<EngineTensor> inputs, outputs;
  std::vector<int64_t> kernel, stride;  // conv / pooling window
  int64_t groups = 1;
  int64_t out_maps = 0;
  int64_t weight_count = 0, bias_count = 0;
  std::string weight_type;   // "Int8", "Half", "Float"
  std::string pooling_type;  // "MAX", "AVERAGE"
};

struct LayerTiming {
  std::string name;
  double average_ms = 0;
  double median_ms = 0;
  double total_ms = 0;
  double percentage = 0;  // of the profile's total, as exported
};

struct EngineProfile {
  int64_t iterations = 0;  // the leading {"count": N}; 0 when absent
  std::vector<LayerTiming> layers;
  double TotalAverageMs() const;  // sum of per-layer averages
};

struct RunSummary {
  double throughput_qps = 0;       // queries (batches) per second
  double gpu_compute_mean_ms = 0;  // trtexec's GPU Compute Time, mean
  double gpu_compute_median_ms = 0;
  std::string device_name;      // "NVIDIA A100 80GB PCIe"
  std::string precision_flags;  // build option "Precision", from the build metadata
};

// Parsers take the file text and a name for messages. Errors are InvalidModel (bad content) or
// LimitExceeded (absurd sizes).
Result<std::vector<EngineLayer>> ParseLayerInfo(const std::string& text, const std::string& what);
Result<EngineProfile> ParseProfile(const std::string& text, const std::string& what);
// Reads profile.metadata.json (performance_summary + device_information); `build_text` (may be
// empty) is the build.metadata.json for the precision flags.
Result<RunSummary> ParseRunSummary(const std::string& text, const std::string& build_text,
                                   const std::string& what);

// Reads a file of at most 64 MiB.
Result<std::string> ReadTextFile(const std::string& path);

// The files of one engine, found by trtexec/TREx naming: <stem>.graph.json, <stem>.profile.json,
// <stem>.profile.metadata.json, <stem>.build.metadata.json. `path` may be any of them, the stem,
// or a folder holding exactly one *.graph.json. Empty strings where a file does not exist.
struct EngineFiles {
  std::string stem;  // e.g. ".../resnet.onnx.engine"
  std::string layers, profile, run_meta, build_meta;
};
Result<EngineFiles> LocateEngineFiles(const std::string& path);

// Everything read for one engine, with the profile joined to the layers by name.
struct EngineData {
  std::string label;  // short name for reports (the stem's file name)
  std::vector<EngineLayer> layers;
  std::vector<LayerTiming> timing;  // one per layer, same order (zero where not profiled)
  EngineProfile profile;
  RunSummary summary;
  bool has_profile = false, has_summary = false;
};
// Loads the files; an explicit profile/meta path overrides the located sibling.
Result<EngineData> LoadEngine(const EngineFiles& files);

}  // namespace ridge::trt
