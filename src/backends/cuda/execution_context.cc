// Execution contexts: more sets of activation memory for one built engine. A context copies
// nothing that never changes (weights, folded constants, tactics, cuDNN/cuBLASLt descriptors);
// it allocates what a run writes (the arena at the engine's planned size, input and output
// buffers, the cuDNN and cuBLASLt workspaces) and captures the engine's steps into its own CUDA
// graph with its pointers bound (Impl::bound), so two contexts never touch the same bytes.
#include <cuda_runtime.h>

#include "backends/cuda/engine_impl.h"

namespace ridge::cuda {

struct ExecutionContext::State {
  const Engine::Impl* engine = nullptr;
  Binding binding;
  std::vector<void*> allocations;
  cudaStream_t stream = nullptr;  // Run's stream (Enqueue takes the caller's)
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  int64_t own_bytes = 0, shared_weight_bytes = 0;

  ~State() {
    if (exec) cudaGraphExecDestroy(exec);
    if (graph) cudaGraphDestroy(graph);
    if (stream) cudaStreamDestroy(stream);
    for (void* p : allocations) cudaFree(p);
  }
  Result<void*> Allocate(int64_t bytes) {
    void* p = nullptr;
    RIDGE_CUDA(cudaMalloc(&p, static_cast<size_t>(std::max<int64_t>(bytes, 1))));
    allocations.push_back(p);
    own_bytes += bytes;
    return p;
  }
};

namespace {

// A buffer a run writes or is fed: the context needs its own. Weights are never written.
bool PerRun(const Engine::Impl& m, size_t b) {
  if (!m.bufs[b].persistent || m.bufs[b].first != INT32_MAX) return true;
  for (const auto& in : m.inputs)
    if (static_cast<size_t>(in.second.buf) == b) return true;
  return false;
}

}  // namespace

Result<std::unique_ptr<ExecutionContext>> Engine::CreateContext() {
  Impl& m = *impl_;
  if (!m.exec)
    return InvalidArgument(
        "execution contexts replay a captured CUDA graph: build the engine with use_cuda_graph");
  if (!m.fallback_nodes.empty())
    return Unsupported(
        "an engine with CPU fallback nodes has one execution context (the host "
        "staging buffers are the engine's)");
  auto st = std::make_unique<ExecutionContext::State>();
  st->engine = &m;
  st->binding.ptrs.resize(m.bufs.size());
  RIDGE_ASSIGN_OR_RETURN(void* arena, st->Allocate(m.stats.arena_bytes));
  for (size_t b = 0; b < m.bufs.size(); ++b) {
    const Buffer& buf = m.bufs[b];
    if (!buf.persistent && buf.ptr) {  // same offset in this context's arena
      st->binding.ptrs[b] =
          static_cast<char*>(arena) + (static_cast<char*>(buf.ptr) - static_cast<char*>(m.arena));
    } else if (!buf.persistent) {
      st->binding.ptrs[b] = nullptr;  // an empty buffer
    } else if (PerRun(m, b)) {
      RIDGE_ASSIGN_OR_RETURN(st->binding.ptrs[b], st->Allocate(buf.bytes));
    } else {
      st->binding.ptrs[b] = buf.ptr;
      st->shared_weight_bytes += buf.bytes;
    }
  }
  if (m.workspace_bytes > 0) {
    RIDGE_ASSIGN_OR_RETURN(st->binding.workspace, st->Allocate(m.workspace_bytes));
  }
  RIDGE_ASSIGN_OR_RETURN(st->binding.lt_workspace, st->Allocate(m.lt_workspace_bytes));
  RIDGE_CUDA(cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking));

  // Capture on the context's stream with its pointers bound. cuDNN takes its stream from the
  // handle, so the handle is pointed at the capturing stream for the duration.
  std::lock_guard<std::mutex> lock(m.capture_mutex);
  m.bound = &st->binding;
  Status status = CudnnStatus(cudnnSetStream(m.cudnn, st->stream), "cudnnSetStream");
  if (status.ok())
    status = CudaStatus(cudaStreamBeginCapture(st->stream, cudaStreamCaptureModeThreadLocal),
                        "cudaStreamBeginCapture");
  if (status.ok()) {
    for (Step& s : m.steps) s.launch(st->stream);
    status = CudaStatus(cudaStreamEndCapture(st->stream, &st->graph), "capturing a context");
  }
  m.bound = nullptr;
  cudnnSetStream(m.cudnn, m.stream);
  RIDGE_RETURN_IF_ERROR(status);
  RIDGE_CUDA(cudaGraphInstantiate(&st->exec, st->graph, 0));
  return std::unique_ptr<ExecutionContext>(new ExecutionContext(std::move(st)));
}

ExecutionContext::ExecutionContext(std::unique_ptr<State> state) : state_(std::move(state)) {}
ExecutionContext::~ExecutionContext() = default;
int64_t ExecutionContext::own_bytes() const { return state_->own_bytes; }
int64_t ExecutionContext::shared_weight_bytes() const { return state_->shared_weight_bytes; }

Status ExecutionContext::Enqueue(cudaStream_t stream) {
  RIDGE_CUDA(cudaGraphLaunch(state_->exec, stream));
  return CudaStatus(cudaGetLastError(), "context graph launch");
}

std::vector<Engine::DeviceTensor> ExecutionContext::InputBuffers() const {
  const Engine::Impl& m = *state_->engine;
  std::vector<Engine::DeviceTensor> out;
  for (const auto& [name, ref] : m.inputs)
    out.push_back({name, state_->binding.ptrs[static_cast<size_t>(ref.buf)], m.storage, ref.dims});
  return out;
}

std::vector<Engine::DeviceTensor> ExecutionContext::OutputBuffers() const {
  const Engine::Impl& m = *state_->engine;
  std::vector<Engine::DeviceTensor> out;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    const Ref& r = m.outputs[i];
    out.push_back({"output " + std::to_string(i), state_->binding.ptrs[static_cast<size_t>(r.buf)],
                   m.storage, r.dims});
  }
  return out;
}

Result<std::vector<Tensor>> ExecutionContext::Run(const std::map<std::string, Tensor>& inputs) {
  const Engine::Impl& m = *state_->engine;
  RIDGE_RETURN_IF_ERROR(CopyInputsToDevice(m, InputBuffers(), inputs, state_->stream));
  RIDGE_RETURN_IF_ERROR(Enqueue(state_->stream));
  return CopyOutputsToHost(m, OutputBuffers(), state_->stream);
}

}  // namespace ridge::cuda
