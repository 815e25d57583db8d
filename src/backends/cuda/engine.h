// The CUDA engine: builds a shape-inferred ir::Graph into a fixed sequence of GPU steps
// (cuDNN convolutions, cuBLASLt GEMMs, Ridgeline's own kernels), places activations in one
// liveness-planned arena, and captures the whole run as a CUDA graph that is replayed.
//
// Precision kFp32: fp32 storage and math (no TF32, so results track the CPU reference).
// Precision kFp16: fp16 storage of activations and weights, fp32 accumulation everywhere.
// 4-D activations live in NHWC (what fp16 Tensor Core convolutions want); the engine inserts
// NCHW <-> NHWC transposes where an op needs the ONNX (plain) layout.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/tactic_cache.h"
#include "core/dtype.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

// cudaStream_t is `CUstream_st*`; declared here so this header needs no CUDA include.
struct CUstream_st;

namespace ridge::cuda {

struct EngineOptions {
  Precision precision = Precision::kFp32;  // kFp32 or kFp16
  bool use_cuda_graph = true;
  // Bytes after each arena buffer filled with a pattern and checked by Run (tests).
  int64_t guard_bytes = 0;
  // 1x1 stride-1 convolutions: 0 = time cuDNN against cuBLASLt at build and keep the faster,
  // 1 = always cuDNN, 2 = always cuBLASLt (tests cover both paths).
  int32_t pointwise_conv_backend = 0;
  // Channel padding (fp16): a convolution whose input has fewer than 8 channels and exists
  // only in NCHW (an image input: C = 3) reads an 8-channel NHWC copy written by its layout
  // transpose, zeros after C, with zero filter channels to match: the same result on Tensor
  // Core kernels. Off: the plain C-channel transpose and convolution (for comparison).
  bool pad_input_channels = true;
  // Depthwise convolutions: also time the tile kernels (kernels/depthwise_tile.cu) among the
  // candidates. Off by default until they have run on a GPU: they were written in a session
  // without one and are checked on the host only (cuda_depthwise_host_test). The general and
  // vec16 kernels, which have run on the H200 (with fp16 filters then), are timed either way.
  bool depthwise_tile_kernels = false;
  // fp16: a GEMM (Gemm / MatMul, bias fused) followed by GELU applies it in cuBLASLt's epilogue
  // (CUBLASLT_EPILOGUE_GELU_BIAS) instead of a separate pass that reads and writes the GEMM's
  // output again (ConvNeXt's 4C-wide MLP). cuBLASLt's GELU is the tanh form: for the erf form
  // PyTorch exports, it differs by at most 4.7e-4 (at |x| = 2.7, a quarter of an fp16 ulp
  // there). Off by default until measured on a GPU (written in a session without one).
  bool gemm_gelu_epilogue = false;
  // Largest cuDNN workspace an algorithm may use.
  int64_t max_workspace_bytes = int64_t{256} << 20;
  // Tactic selection: at most this many candidates per conv / GEMM (the top of cuDNN's and
  // cuBLASLt's heuristic lists) are timed on the real shapes; the fastest runs.
  int32_t max_tactic_candidates = 8;
  // Chosen tactics by layer signature (not owned). Hits are used without timing; new choices
  // are added, so the caller can save the cache (TacticCache::SaveFile / ToJson). Entries from
  // another environment are dropped first. Null: a cache for this build only (identical layers
  // are still timed once).
  TacticCache* tactic_cache = nullptr;
  // Receives one line per conv/GEMM: its choice, time and candidate count, or "cached".
  std::function<void(const std::string&)> build_log;
  // Layers done / total and elapsed time on stderr while tactics are chosen: a bar on a TTY,
  // otherwise a line every ~10%.
  bool build_progress = false;
  // Nodes without a GPU kernel (those WhyUnsupported rejects) run on the CPU through their
  // reference kernel: D2H into pinned staging, a host function, H2D back, all inside the CUDA
  // graph (cpu_fallback_step.cc). Off: such nodes fail the build, all named at once.
  bool allow_cpu_fallback = false;
};

struct EngineStats {
  int32_t steps = 0;           // kernels/library calls per run
  int32_t fused_nodes = 0;     // nodes folded into another step (bias/act/residual/BN)
  int32_t layout_changes = 0;  // NCHW <-> NHWC transposes inserted
  int64_t arena_bytes = 0, arena_naive_bytes = 0, weight_bytes = 0, workspace_bytes = 0;
  std::map<std::string, int32_t> step_kinds;  // "cudnn_conv", "gemm_lt", "pool_nhwc", ...
  // Build time and the part of it spent timing tactic candidates (the rest: weights, plan,
  // capture). Layers whose tactic was timed / taken from the cache (or an identical layer).
  double build_ms = 0, tactic_ms = 0;
  int32_t tactic_layers_timed = 0, tactic_layers_cached = 0, tactic_candidates_timed = 0;
  // CPU fallback (EngineOptions::allow_cpu_fallback): the nodes run on the host, the bytes
  // copied per run (D2H of their activation inputs + H2D of their outputs) and the host
  // synchronization points per run (one host function per node: the GPU stream waits for it).
  int32_t cpu_fallback_nodes = 0;
  std::vector<std::string> cpu_fallback_node_names;
  int64_t cpu_fallback_bytes_per_run = 0;
  int32_t cpu_fallback_host_syncs = 0;
};

// True when a CUDA device can be used (tests skip otherwise).
bool DeviceAvailable(std::string* why = nullptr);
// GPU, driver and library versions of device 0: the key a timing cache is valid for.
Result<TacticEnvironment> CurrentTacticEnvironment();

class ExecutionContext;

class Engine {
 public:
  // Fails with Unsupported naming every node that has no GPU kernel (all at once), unless
  // options.allow_cpu_fallback and the CPU reference kernels can run them.
  static Result<std::unique_ptr<Engine>> Build(const ir::Graph& graph,
                                               const EngineOptions& options);
  ~Engine();

  // Uploads inputs (float32 host tensors, by graph-input name), runs once, returns float32
  // outputs in graph output order. Checks guard bytes when enabled.
  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs);
  // Replays the captured run `runs` times after `warmup` replays; per-run milliseconds from
  // CUDA events around each replay (inputs as last uploaded).
  Result<std::vector<double>> TimeReplays(int warmup, int runs);

  // Runs the steps one by one (no CUDA graph) with an event pair around each; mean
  // milliseconds per step over `runs` runs, in step order: where the time goes. A spin kernel
  // holds the GPU while the host enqueues each run, so the times are GPU execution alone.
  // NVTX ranges name every step of the profiled runs (visible in Nsight Systems).
  struct StepTime {
    std::string kind, node;
    double ms = 0;
    std::vector<std::string> nodes;  // ONNX nodes covered (node + those fused into it)
    double start_ms = 0;             // offset from the start of the last profiled run
  };
  Result<std::vector<StepTime>> ProfileSteps(int runs);
  // ONNX nodes the engine built without any step: aliases of their input (views, transposes of
  // a value already held in the other layout). Folded constants are not listed.
  std::vector<std::string> NodesWithoutSteps() const;

  const EngineStats& stats() const;

  // --- For pipelines that feed and read the engine on their own streams. -------------------
  // A persistent device buffer: inputs and outputs, dense row-major in logical (ONNX, NCHW)
  // order, in the engine's storage dtype (kFloat16 for fp16 engines, else kFloat32). The
  // pointers stay valid for the engine's lifetime; every run reads and writes the same ones.
  struct DeviceTensor {
    std::string name;  // graph input name; "output <i>" for outputs
    void* data = nullptr;
    DType dtype = DType::kFloat32;
    std::vector<int64_t> dims;
  };
  std::vector<DeviceTensor> InputBuffers() const;
  std::vector<DeviceTensor> OutputBuffers() const;
  // Launches one run on `stream` without synchronizing: it starts after the work already
  // enqueued on `stream`, and later work on `stream` sees its outputs. No guard-byte check.
  // Runs must not overlap (the engine has one set of buffers): keep them on one stream.
  // A CPU fallback node that failed in an earlier run is reported here (Run reports it at once).
  Status Enqueue(CUstream_st* stream);

  // Another execution context: its own activation arena, input/output buffers, workspaces and
  // captured CUDA graph, sharing this engine's weights, plan and tactics (TensorRT's
  // IExecutionContext). Contexts run concurrently on different streams and threads. Needs the
  // CUDA graph (use_cuda_graph) and no CPU fallback nodes. Create contexts before running
  // ProfileSteps concurrently (the capture borrows the engine's cuDNN handle); the engine must
  // outlive them.
  Result<std::unique_ptr<ExecutionContext>> CreateContext();

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class ExecutionContext {
 public:
  ~ExecutionContext();
  // Same contracts as the Engine's methods of the same names, on this context's memory.
  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs);
  std::vector<Engine::DeviceTensor> InputBuffers() const;
  std::vector<Engine::DeviceTensor> OutputBuffers() const;
  Status Enqueue(CUstream_st* stream);
  // Device bytes this context allocated (arena, inputs, outputs, workspaces) and the weight
  // bytes it shares with the engine instead of copying.
  int64_t own_bytes() const;
  int64_t shared_weight_bytes() const;

  struct State;

 private:
  friend class Engine;
  explicit ExecutionContext(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ridge::cuda
