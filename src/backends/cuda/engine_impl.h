// Internals of the CUDA engine shared by its build files (engine.cc: plan, memory, capture;
// conv_step.cc: cuDNN; gemm_step.cc: cuBLASLt; op_steps.cc: Ridgeline's own kernels).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <climits>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/engine.h"
#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/tactic_cache.h"
#include "ir/graph.h"

namespace ridge::cuda {

struct CpuFallbackNode;  // cpu_fallback_step.cc: one host-run node's staging and state

// A runtime tensor: a buffer plus logical (ONNX-order) dims and the physical layout.
struct Ref {
  int32_t buf = -1;
  std::vector<int64_t> dims;
  bool nhwc = false;  // rank 4 only: stored as N, H, W, C
};

struct Buffer {
  int64_t bytes = 0;
  int32_t first = INT32_MAX, last = -1;  // steps that write first / read last
  bool persistent = false;               // weights, inputs, outputs: outside the arena
  void* ptr = nullptr;
};

struct Step {
  std::string kind;  // "cudnn_conv", "gemm_lt", ...: counted in EngineStats::step_kinds
  std::function<void(cudaStream_t)> launch;
  // Runs once after memory is placed, before capture (algorithm search).
  std::function<Status()> prepare = {};
  std::string node = {};  // the ONNX node it runs (the first one, when several are fused)
  // Every ONNX node the step covers: `node` plus the nodes fused into it (set by Build from
  // the nodes its builder marked fused), for per-layer profiles joined with the analyzer.
  std::vector<std::string> nodes = {};
};

// The activation a cuBLASLt epilogue applies after the bias: ReLU, or GELU in its tanh form
// (CUBLASLT_EPILOGUE_GELU*; see EngineOptions::gemm_gelu_epilogue).
enum class LtAct { kNone, kRelu, kGeluTanh };

// A cuBLASLt GEMM, row-major Y[M,N] = alpha * A[M,K] * W + beta * C (+ bias, activation
// epilogue), W stored [N,K] (trans_w) or [K,N].
struct LtGemm {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  float alpha = 1.f, beta = 0.f;
  ~LtGemm();
};

// One execution context's device memory, by buffer index (weights point at the engine's).
struct Binding {
  std::vector<void*> ptrs;
  void* workspace = nullptr;
  void* lt_workspace = nullptr;
};

struct Engine::Impl {
  EngineOptions options;
  bool half = false;
  DType storage = DType::kFloat32;
  int64_t esize = 4;
  const ir::Graph* graph = nullptr;  // during Build only

  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasLtHandle_t lt = nullptr;
  std::vector<Buffer> bufs;
  std::vector<Step> steps;
  std::vector<void*> allocations;  // every cudaMalloc, freed in ~Impl
  const Binding* bound = nullptr;  // set only while a context's graph is captured
  std::mutex capture_mutex;        // one context capture at a time
  void* arena = nullptr;
  void* workspace = nullptr;
  int64_t workspace_bytes = 0;
  int64_t lt_workspace_bytes = int64_t{32} << 20;
  void* lt_workspace = nullptr;

  std::map<ir::ValueId, Ref> plain, nhwc;  // versions of each value available so far
  std::vector<bool> fused;                 // nodes folded into an earlier step
  std::vector<std::pair<std::string, Ref>> inputs;
  std::vector<Ref> outputs;
  cudaGraph_t cuda_graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  EngineStats stats;
  std::string current_node;                 // set while a node's steps are built
  std::vector<std::string> stepless_nodes;  // built as aliases, no step (NodesWithoutSteps)

  // --- tactic selection (tactics.cc) --------------------------------------------------------
  TacticCache own_cache;             // when options.tactic_cache is null
  TacticCache* cache = &own_cache;   // where choices are looked up and stored
  std::set<std::string> keys_timed;  // signatures timed in this build
  void* timing_ws = nullptr;         // cuDNN workspace for timing candidates (build only)
  int64_t timing_ws_bytes = 0;

  ~Impl();

  // --- build helpers --------------------------------------------------------------------
  int32_t NewBuffer(int64_t bytes);
  Result<int32_t> NewPersistent(int64_t bytes);
  // Uploads a host tensor as persistent device memory; floats become the storage dtype.
  // A constant on the device in the storage precision; in fp32 whatever the precision when
  // keep_fp32 (parameters a kernel reads as fp32, e.g. the depthwise filters).
  Result<int32_t> Upload(const Tensor& t, bool keep_fp32 = false);
  // Records buffer use for liveness and appends the step.
  void AddStep(Step step, const std::vector<int32_t>& reads, const std::vector<int32_t>& writes);
  // The value in the requested layout (inserting a transpose, or uploading a constant).
  Result<Ref> Get(ir::ValueId v, bool want_nhwc);
  // v (rank 4) as NHWC with c_pad >= C channels, the extra ones zero (channel padding for
  // Tensor Core convolutions); a fresh buffer, not recorded as v's NHWC version.
  Result<Ref> GetNhwcPadded(ir::ValueId v, int64_t c_pad);
  // Whichever layout exists (NHWC preferred): for layout-agnostic ops.
  Result<Ref> GetAny(ir::ValueId v);
  // A fresh buffer for output value v in the given layout.
  Ref Define(ir::ValueId v, bool as_nhwc);
  // Where buffer `buf` lives: the engine's own memory, or while another execution context's
  // graph is captured (execution_context.cc), that context's. Launches call these at launch
  // time, so steps never hold activation pointers.
  void* Ptr(int32_t buf) const {
    return bound ? bound->ptrs[static_cast<size_t>(buf)] : bufs[static_cast<size_t>(buf)].ptr;
  }
  void* Workspace() const { return bound ? bound->workspace : workspace; }
  void* LtWorkspace() const { return bound ? bound->lt_workspace : lt_workspace; }
  const std::vector<int64_t>& Dims(ir::ValueId v) const;
  // The single node consuming v (kNoNode if none, several, or v is a graph output).
  ir::NodeId SoleConsumer(ir::ValueId v) const;

  // --- per-op builders (return Unsupported when this engine cannot run the node) ---------
  Result<std::shared_ptr<LtGemm>> MakeLtGemm(int64_t m, int64_t n, int64_t k, bool trans_w,
                                             void* bias, LtAct act, float alpha, float beta);
  cublasStatus_t LaunchLt(const LtGemm& g, const void* w, const void* a, const void* c, void* y,
                          cudaStream_t s) const;
  // Mean milliseconds of `launch` over a few runs on the engine's stream (build-time choices).
  Result<double> TimeOnStream(const std::function<void(cudaStream_t)>& launch);

  // --- tactic selection (tactics.cc) --------------------------------------------------------
  // Median milliseconds of `launch` on the engine's stream (CUDA events around each of a few
  // runs, after warm-up runs). Fails when a launch returns an error or a CUDA error follows.
  Result<double> TimeMedian(const std::function<Status(cudaStream_t)>& launch);
  // The layer's tactic: the cached one for `key` when `apply` accepts it, else the fastest of
  // `candidates` (each applied, then timed through `launch`; those that fail are skipped). The
  // choice is applied on return, stored in the cache, logged and counted in stats. `name`, when
  // given, names a tactic in the build log (e.g. "tile2x4" for a Ridgeline kernel).
  Result<Tactic> ChooseTactic(const std::string& what, const std::string& key,
                              const std::function<Result<std::vector<Tactic>>()>& candidates,
                              const std::function<Status(const Tactic&)>& apply,
                              const std::function<Status(cudaStream_t)>& launch,
                              const std::function<std::string(const Tactic&)>& name = nullptr);
  // A cuDNN workspace for timing candidates, as large as options.max_workspace_bytes allows.
  Status EnsureTimingWorkspace();
  // Up to `max` cuBLASLt heuristic algos for g, as tactics (algo bytes in blob_hex).
  Result<std::vector<Tactic>> LtCandidates(const LtGemm& g, int32_t max) const;
  // Sets g.algo from a "cublaslt" tactic after cublasLtMatmulAlgoCheck accepts it.
  Status ApplyLtTactic(const Tactic& t, LtGemm* g) const;
  // "tile 15, stages 0, splitk 1": a cuBLASLt algo's knobs for the build log.
  static std::string LtKnobs(const cublasLtMatmulAlgo_t& algo);

  Status BuildConv(ir::NodeId id);
  // Depthwise Conv on Ridgeline's kernels (depthwise_step.cc): w [C, 1, KH, KW] and b [C] (null:
  // none) after BatchNorm folding; the kernel is a tactic timed at build.
  Status BuildDepthwiseConv(const std::string& node_name, const Ref& x, const Ref& y,
                            const std::vector<float>& w, const std::vector<float>* b,
                            const kernels::DepthwiseParams& p);
  Status BuildGemm(ir::NodeId id);
  Status BuildOther(ir::NodeId id);
  Status BuildMovement(ir::NodeId id);  // Concat, Slice, Split, Resize
  // Fuses the pointwise chain starting at node `id` into one step (pointwise_chain_step.cc);
  // false when the node does not start one (BuildOther then builds it alone).
  Result<bool> TryBuildPointwiseChain(ir::NodeId id);
  // Whether BuildX would accept the node; for the all-at-once unsupported list.
  std::string WhyUnsupported(ir::NodeId id) const;

  // --- CPU fallback (cpu_fallback_step.cc) -------------------------------------------------
  std::vector<bool> cpu_fallback;  // nodes Build runs on the host (allow_cpu_fallback)
  std::vector<std::shared_ptr<CpuFallbackNode>> fallback_nodes;  // read by host functions
  // For a node without a GPU kernel (`why`): marks it for the CPU fallback and returns "" when
  // allowed and possible; otherwise the text for the unsupported list. Counts in *rescuable the
  // nodes the fallback could run (for the hint when it is off).
  std::string FallBackOrExplain(ir::NodeId id, const std::string& why, int32_t* rescuable);
  // "" when the host can run the node (reference kernel, float activations, known shapes).
  std::string WhyNoCpuFallback(ir::NodeId id) const;
  Status BuildCpuFallback(ir::NodeId id);
  // The first error a fallback host function recorded since the last call (then cleared).
  Status TakeFallbackError();
};

// Host float32 inputs (by name) converted to the storage dtype and copied to `dst` on `s`;
// outputs copied back as float32 after `s` is synchronized. Engine::Run and
// ExecutionContext::Run.
Status CopyInputsToDevice(const Engine::Impl& m, const std::vector<Engine::DeviceTensor>& dst,
                          const std::map<std::string, Tensor>& inputs, cudaStream_t s);
Result<std::vector<Tensor>> CopyOutputsToHost(const Engine::Impl& m,
                                              const std::vector<Engine::DeviceTensor>& src,
                                              cudaStream_t s);

int64_t NumElements(const std::vector<int64_t>& dims);
bool PhysicallySame(const std::vector<int64_t>& dims);  // rank 4 with H*W == 1 or C == 1
// The end of the unsupported-nodes message: a hint naming --allow-cpu-fallback when it would
// run `rescuable` (> 0) of them; "" otherwise.
std::string CpuFallbackHint(int32_t rescuable, int32_t total);

}  // namespace ridge::cuda
