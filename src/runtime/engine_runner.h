// Runs an engine file (`ridge build`) whatever it holds: a cpu or cuda engine, with or without
// preprocessing baked in. The file says which backend; a cuda file is checked against the live
// GPU and libraries (CheckCompatible) before anything is built. Used by `ridge run` and
// `ridge bench` for engine files, and by the tests.
//
// Layering: runtime composes the backends with vision (backends never include vision). The CUDA
// half lives in engine_runner_cuda.cc and is compiled only when the CUDA backend is; without it,
// opening a cuda file and LiveCudaEnvironment() return Unsupported.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "core/tensor.h"
#include "runtime/engine_file.h"
#include "runtime/preprocessed_engine.h"

namespace ridge::runtime {

// A tensor the caller feeds.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;
};

class EngineRunner {
 public:
  virtual ~EngineRunner() = default;
  const EngineHeader& header() const { return header_; }
  // What Run takes: the graph inputs, or for a preprocessed engine one uint8 [N, H, W, 3] frame
  // tensor (named after the graph input it feeds).
  const std::vector<TensorSpec>& inputs() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  // The preprocessing baked in (frame size, spec), or null.
  const PreprocessConfig* preprocess() const { return pre_ ? &*pre_ : nullptr; }
  // One line: backend, device, precision, preprocessing.
  const std::string& description() const { return description_; }
  // Runs once, synchronously; outputs are float32 host tensors in graph output order.
  virtual Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs) = 0;

 protected:
  EngineHeader header_;
  std::vector<TensorSpec> inputs_;
  std::vector<std::string> output_names_;
  std::optional<PreprocessConfig> pre_;
  std::string description_;
};

struct EngineRunnerOptions {
  int cpu_threads = 0;  // cpu engines: intra-op threads (0: all cores)
  // Preprocessed cpu engines: Halide when built in (else the reference implementation).
  bool use_halide = true;
};

// Loads and validates `path` and builds what it describes on its backend.
Result<std::unique_ptr<EngineRunner>> OpenEngineRunner(const std::string& path,
                                                       const EngineRunnerOptions& options = {});

// The header and the section table of `path` after the container checks (checksums), before any
// compatibility check: which backend, whether preprocessing is baked in.
struct EngineFileSummary {
  EngineHeader header;
  bool has_preprocess = false;
  bool has_tactics = false;
};
Result<EngineFileSummary> InspectEngineFile(const std::string& path);

// This machine's CUDA environment for CheckCompatible (ridge_version included). Unsupported
// without a GPU or in a build without CUDA.
Result<EnvironmentInfo> LiveCudaEnvironment();

// Nodes a CUDA engine runs on the host (cuda::EngineOptions::allow_cpu_fallback) and their
// cost per run: bytes copied (D2H of their inputs + H2D of their outputs) and host
// synchronization points (one host function each; the GPU waits for it).
struct CpuFallbackReport {
  int32_t nodes = 0;
  std::vector<std::string> node_names;
  int64_t bytes_per_run = 0;
  int32_t host_syncs_per_run = 0;
};
// "CPU fallback: 2 nodes (topk, mod), 1.20 MB copied per run, 2 host syncs per run" (at most
// 8 names, then "+N more"); "" when there are none.
std::string CpuFallbackLine(const CpuFallbackReport& r);

// What building the CUDA engine reported (`ridge build --device cuda` writes it to build-json).
struct CudaBuildReport {
  int32_t steps = 0, fused_nodes = 0, layout_changes = 0;
  int64_t arena_bytes = 0, arena_naive_bytes = 0, weight_bytes = 0, workspace_bytes = 0;
  std::map<std::string, int32_t> step_kinds;
  double build_ms = 0;
  int32_t tactic_layers_timed = 0, tactic_layers_cached = 0;
  std::string tactics_json;  // the timing cache filled by this build (cuda::TacticCache::ToJson)
  CpuFallbackReport cpu_fallback;
};
// Builds the CUDA engine for a shape-inferred graph on this GPU (proving it builds), runs it
// once on seeded random inputs, and reports its statistics. Unsupported without CUDA.
// allow_cpu_fallback: nodes without a GPU kernel run on the host (cuda::EngineOptions).
Result<CudaBuildReport> BuildCudaEngineReport(const ir::Graph& graph, Precision precision,
                                              bool allow_cpu_fallback = false);

// Random uint8 frames / seeded random inputs for every tensor a runner takes (bench, run).
Result<std::map<std::string, Tensor>> RandomRunnerInputs(const EngineRunner& runner, uint64_t seed);

}  // namespace ridge::runtime
