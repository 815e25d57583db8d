#include "backends/cuda/engine.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/spin.cuh"
#include "backends/cuda/memory_plan.h"

#if __has_include(<nvtx3/nvToolsExt.h>)
#include <nvtx3/nvToolsExt.h>
#define RIDGE_HAVE_NVTX 1
#else
#define RIDGE_HAVE_NVTX 0
#endif

namespace ridge::cuda {
namespace {

// NVTX ranges (nvtx3 is header-only in the CUDA toolkit; no-ops unless a tool like Nsight
// Systems is attached).
#if RIDGE_HAVE_NVTX
void NvtxPush(const std::string& name) { nvtxRangePushA(name.c_str()); }
void NvtxPop() { nvtxRangePop(); }
#else
void NvtxPush(const std::string&) {}
void NvtxPop() {}
#endif

}  // namespace

int64_t NumElements(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

bool PhysicallySame(const std::vector<int64_t>& d) {
  return d.size() == 4 && (d[2] * d[3] == 1 || d[1] == 1);
}

bool DeviceAvailable(std::string* why) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    if (why) *why = e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device";
    return false;
  }
  return true;
}

Engine::Impl::~Impl() {
  if (!fallback_nodes.empty()) cudaDeviceSynchronize();  // host functions use their staging
  if (timing_ws) cudaFree(timing_ws);
  if (exec) cudaGraphExecDestroy(exec);
  if (cuda_graph) cudaGraphDestroy(cuda_graph);
  for (void* p : allocations) cudaFree(p);
  if (lt) cublasLtDestroy(lt);
  if (cudnn) cudnnDestroy(cudnn);
  if (stream) cudaStreamDestroy(stream);
}

int32_t Engine::Impl::NewBuffer(int64_t bytes) {
  bufs.push_back(Buffer{bytes});
  return static_cast<int32_t>(bufs.size() - 1);
}

Result<int32_t> Engine::Impl::NewPersistent(int64_t bytes) {
  void* p = nullptr;
  RIDGE_CUDA(cudaMalloc(&p, static_cast<size_t>(std::max<int64_t>(bytes, 1))));
  allocations.push_back(p);
  Buffer b{bytes};
  b.persistent = true;
  b.ptr = p;
  bufs.push_back(b);
  return static_cast<int32_t>(bufs.size() - 1);
}

Result<int32_t> Engine::Impl::Upload(const Tensor& t, bool keep_fp32) {
  std::vector<std::byte> host;
  const bool to_half = half && !keep_fp32;
  if (t.dtype() == DType::kFloat32 || t.dtype() == DType::kFloat16) {
    host.resize(static_cast<size_t>(t.num_elements() * (to_half ? 2 : 4)));
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      float v = static_cast<float>(t.GetAsDouble(i));
      if (to_half) {
        uint16_t h = FloatToHalf(v);
        std::memcpy(host.data() + i * 2, &h, 2);
      } else {
        std::memcpy(host.data() + i * 4, &v, 4);
      }
    }
  } else {
    return Unsupported(std::string("constant of dtype ") + std::string(DTypeName(t.dtype())) +
                       " on the GPU");
  }
  RIDGE_ASSIGN_OR_RETURN(int32_t buf, NewPersistent(static_cast<int64_t>(host.size())));
  RIDGE_CUDA(cudaMemcpy(Ptr(buf), host.data(), host.size(), cudaMemcpyHostToDevice));
  stats.weight_bytes += static_cast<int64_t>(host.size());
  return buf;
}

void Engine::Impl::AddStep(Step step, const std::vector<int32_t>& reads,
                           const std::vector<int32_t>& writes) {
  const int32_t s = static_cast<int32_t>(steps.size());
  for (int32_t b : reads) bufs[static_cast<size_t>(b)].last = std::max(bufs[b].last, s);
  for (int32_t b : writes) {
    bufs[static_cast<size_t>(b)].first = std::min(bufs[b].first, s);
    bufs[static_cast<size_t>(b)].last = std::max(bufs[b].last, s);
  }
  stats.step_kinds[step.kind]++;
  if (step.node.empty()) step.node = current_node;
  steps.push_back(std::move(step));
}

const std::vector<int64_t>& Engine::Impl::Dims(ir::ValueId v) const {
  static const std::vector<int64_t> kEmpty;
  const auto& shape = graph->value(v).shape;
  auto it = plain.find(v);
  if (it != plain.end()) return it->second.dims;
  it = nhwc.find(v);
  if (it != nhwc.end()) return it->second.dims;
  (void)shape;
  return kEmpty;
}

ir::NodeId Engine::Impl::SoleConsumer(ir::ValueId v) const {
  const ir::Value& val = graph->value(v);
  if (val.is_graph_output || val.consumers.size() != 1) return ir::kNoNode;
  return val.consumers[0];
}

Result<double> Engine::Impl::TimeOnStream(const std::function<void(cudaStream_t)>& launch) {
  cudaEvent_t a, b;
  RIDGE_CUDA(cudaEventCreate(&a));
  RIDGE_CUDA(cudaEventCreate(&b));
  launch(stream);  // warm-up
  cudaEventRecord(a, stream);
  for (int i = 0; i < 5; ++i) launch(stream);
  cudaEventRecord(b, stream);
  Status st = CudaStatus(cudaEventSynchronize(b), "timing a candidate kernel");
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  RIDGE_RETURN_IF_ERROR(st);
  RIDGE_RETURN_IF_ERROR(CudaStatus(cudaGetLastError(), "candidate kernel"));
  return ms / 5.0;
}

std::string Engine::Impl::WhyUnsupported(ir::NodeId id) const {
  // clang-format off
  static const char* kSupported[] = {
      "Conv", "Gemm", "MatMul", "Relu", "Clip", "Sigmoid", "Tanh", "Erf", "HardSigmoid",
      "HardSwish", "LeakyRelu", "Neg", "Exp", "Sqrt", "Reciprocal", "Abs", "Add", "Sub", "Mul",
      "Div", "Pow", "Max", "Min", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten",
      "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose", "Softmax",
      "BatchNormalization", "Gelu", "LayerNormalization", "Concat", "Slice", "Split", "Resize"};
  // clang-format on
  const ir::Node& node = graph->node(id);
  bool known = false;
  for (const char* s : kSupported) known = known || node.op_type == s;
  if (!known || !node.domain.empty()) return "no GPU kernel";
  for (ir::ValueId v : node.outputs) {
    if (v == ir::kNoValue) continue;
    const ir::Value& val = graph->value(v);
    if (!val.shape || !val.shape->fully_known()) return "output shape not fully known";
    if (val.dtype != DType::kFloat32 && val.dtype != DType::kFloat16)
      return std::string("output dtype ") + std::string(DTypeName(val.dtype));
  }
  return "";
}

Result<std::unique_ptr<Engine>> Engine::Build(const ir::Graph& graph,
                                              const EngineOptions& options) {
  if (options.precision != Precision::kFp32 && options.precision != Precision::kFp16) {
    return Unsupported("the CUDA engine runs fp32 or fp16");
  }
  const auto build_start = std::chrono::steady_clock::now();
  auto seconds = [&build_start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
  };
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.options = options;
  m.half = options.precision == Precision::kFp16;
  m.storage = m.half ? DType::kFloat16 : DType::kFloat32;
  m.esize = m.half ? 2 : 4;
  m.graph = &graph;
  m.fused.assign(graph.num_nodes(), false);
  m.cpu_fallback.assign(graph.num_nodes(), false);

  // Nodes with all outputs constant were folded by shape inference: nothing runs for them.
  auto folded = [&](ir::NodeId id) {
    for (ir::ValueId v : graph.node(id).outputs)
      if (v != ir::kNoValue && !graph.value(v).constant) return false;
    return true;
  };
  std::vector<std::string> bad;
  int32_t rescuable = 0;  // nodes --allow-cpu-fallback would run on the CPU
  for (ir::NodeId id = 0; id < static_cast<ir::NodeId>(graph.num_nodes()); ++id) {
    if (folded(id)) continue;
    std::string w = m.WhyUnsupported(id);
    if (!w.empty()) w = m.FallBackOrExplain(id, w, &rescuable);
    if (!w.empty()) bad.push_back(graph.node(id).Describe(id) + ": " + w);
  }
  for (ir::ValueId v : graph.inputs()) {
    const ir::Value& val = graph.value(v);
    if (!val.shape || !val.shape->fully_known())
      bad.push_back("input '" + val.name + "': shape not fully known (bind --batch/--shapes)");
    else if (val.dtype != DType::kFloat32)
      bad.push_back("input '" + val.name + "': dtype " + std::string(DTypeName(val.dtype)));
  }
  if (!bad.empty()) {
    std::string msg = std::to_string(bad.size()) + " node(s) the CUDA engine cannot run: ";
    for (size_t i = 0; i < bad.size(); ++i) msg += (i ? "; " : "") + bad[i];
    return Unsupported(msg + CpuFallbackHint(rescuable, static_cast<int32_t>(bad.size())));
  }

  std::string why;
  if (!DeviceAvailable(&why)) return Unsupported("no usable CUDA device: " + why);
  RIDGE_CUDA(cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking));
  RIDGE_CUDNN(cudnnCreate(&m.cudnn));
  RIDGE_CUDNN(cudnnSetStream(m.cudnn, m.stream));
  RIDGE_CUBLAS(cublasLtCreate(&m.lt));
  // Tactics measured elsewhere (another GPU, driver or library version) are never trusted.
  RIDGE_ASSIGN_OR_RETURN(TacticEnvironment env, CurrentTacticEnvironment());
  if (options.tactic_cache) m.cache = options.tactic_cache;
  std::string note;
  if (!m.cache->MatchEnvironment(env, &note) && options.build_log) options.build_log(note);

  for (ir::ValueId v : graph.inputs()) {
    const ir::Value& val = graph.value(v);
    Ref r;
    for (const Dim& d : val.shape->dims()) r.dims.push_back(d.value);
    RIDGE_ASSIGN_OR_RETURN(r.buf, m.NewPersistent(NumElements(r.dims) * m.esize));
    m.plain[v] = r;
    m.inputs.push_back({val.name, r});
  }
  for (ir::NodeId id = 0; id < static_cast<ir::NodeId>(graph.num_nodes()); ++id) {
    if (folded(id) || m.fused[id]) continue;
    const std::string& op = graph.node(id).op_type;
    m.current_node = graph.node(id).name;
    const std::vector<bool> fused_before = m.fused;
    const size_t first_step = m.steps.size();
    Status st = m.cpu_fallback[id]                 ? m.BuildCpuFallback(id)
                : op == "Conv"                     ? m.BuildConv(id)
                : (op == "Gemm" || op == "MatMul") ? m.BuildGemm(id)
                                                   : m.BuildOther(id);
    RIDGE_RETURN_IF_ERROR_CTX(st, graph.node(id).Describe(id));
    // The steps this node added cover it and every node its builder fused into them.
    std::vector<std::string> covered = {graph.node(id).name};
    for (size_t n = 0; n < m.fused.size(); ++n)
      if (m.fused[n] && !fused_before[n]) covered.push_back(graph.node(n).name);
    for (size_t s = first_step; s < m.steps.size(); ++s)
      if (m.steps[s].nodes.empty()) m.steps[s].nodes = covered;
    if (m.steps.size() == first_step)  // an alias of its input (view, free transpose)
      m.stepless_nodes.insert(m.stepless_nodes.end(), covered.begin(), covered.end());
  }
  for (ir::ValueId v : graph.outputs()) {
    RIDGE_ASSIGN_OR_RETURN(Ref src, m.Get(v, false));
    Ref dst = src;
    RIDGE_ASSIGN_OR_RETURN(dst.buf, m.NewPersistent(NumElements(src.dims) * m.esize));
    Impl* self = &m;
    const int64_t bytes = NumElements(src.dims) * m.esize;
    const int32_t in_buf = src.buf, out_buf = dst.buf;
    m.AddStep(Step{"copy_output",
                   [self, in_buf, out_buf, bytes](cudaStream_t s) {
                     cudaMemcpyAsync(self->Ptr(out_buf), self->Ptr(in_buf),
                                     static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, s);
                   },
                   nullptr},
              {in_buf}, {out_buf});
    m.outputs.push_back(dst);
  }

  // Place activations: buffers live from their first write to their last read.
  std::vector<BufferLifetime> lifetimes;
  std::vector<size_t> arena_index;
  for (size_t b = 0; b < m.bufs.size(); ++b) {
    if (m.bufs[b].persistent) continue;
    const Buffer& buf = m.bufs[b];
    int32_t first = buf.first == INT32_MAX ? 0 : buf.first;
    // With guards on, buffers never share bytes: a later legitimate writer of reused memory
    // would otherwise look like an overrun of the earlier buffer's guard.
    if (options.guard_bytes > 0)
      lifetimes.push_back({buf.bytes + options.guard_bytes, 0, INT32_MAX - 1});
    else
      lifetimes.push_back({buf.bytes, first, std::max(first, buf.last)});
    arena_index.push_back(b);
  }
  MemoryPlan plan = PlanMemory(lifetimes);
  m.stats.arena_bytes = plan.arena_bytes;
  m.stats.arena_naive_bytes = plan.naive_bytes;
  RIDGE_CUDA(cudaMalloc(&m.arena, static_cast<size_t>(std::max<int64_t>(plan.arena_bytes, 1))));
  m.allocations.push_back(m.arena);
  for (size_t i = 0; i < arena_index.size(); ++i)
    m.bufs[arena_index[i]].ptr = static_cast<char*>(m.arena) + plan.offsets[i];
  RIDGE_CUDA(cudaMalloc(&m.lt_workspace, static_cast<size_t>(m.lt_workspace_bytes)));
  m.allocations.push_back(m.lt_workspace);

  // Tactics are chosen on the real shapes and buffers (or taken from the timing cache); then
  // the workspace is sized for the chosen ones.
  int32_t to_prepare = 0, prepared = 0;
  for (const Step& s : m.steps) to_prepare += s.prepare ? 1 : 0;
  BuildProgress progress(options.build_progress ? to_prepare : 0, isatty(STDERR_FILENO) != 0,
                         [](const std::string& text) {
                           std::fputs(text.c_str(), stderr);
                           std::fflush(stderr);
                         });
  for (Step& s : m.steps) {
    if (!s.prepare) continue;
    if (Status st = s.prepare(); !st.ok()) {
      progress.Abort();
      return st.WithContext(s.node);
    }
    progress.Update(++prepared, seconds());
  }
  progress.Finish(seconds());
  if (m.timing_ws) {
    cudaFree(m.timing_ws);
    m.timing_ws = nullptr;
  }
  if (m.workspace_bytes > 0) {
    RIDGE_CUDA(cudaMalloc(&m.workspace, static_cast<size_t>(m.workspace_bytes)));
    m.allocations.push_back(m.workspace);
  }
  m.stats.workspace_bytes = m.workspace_bytes;
  m.stats.steps = static_cast<int32_t>(m.steps.size());
  RIDGE_CUDA(cudaStreamSynchronize(m.stream));

  if (options.use_cuda_graph) {
    RIDGE_CUDA(cudaStreamBeginCapture(m.stream, cudaStreamCaptureModeThreadLocal));
    for (Step& s : m.steps) s.launch(m.stream);
    RIDGE_CUDA(cudaStreamEndCapture(m.stream, &m.cuda_graph));
    RIDGE_CUDA(cudaGraphInstantiate(&m.exec, m.cuda_graph, 0));
  }
  m.graph = nullptr;
  m.stats.build_ms = seconds() * 1e3;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;
const EngineStats& Engine::stats() const { return impl_->stats; }

namespace {
constexpr unsigned char kGuard = 0xA5;

Status Launch(Engine::Impl& m) {
  if (m.exec) {
    RIDGE_CUDA(cudaGraphLaunch(m.exec, m.stream));
  } else {
    for (Step& s : m.steps) s.launch(m.stream);
  }
  return CudaStatus(cudaGetLastError(), "kernel launch");
}
}  // namespace

Status CopyInputsToDevice(const Engine::Impl& m, const std::vector<Engine::DeviceTensor>& dst,
                          const std::map<std::string, Tensor>& inputs, cudaStream_t s) {
  for (const Engine::DeviceTensor& d : dst) {
    auto it = inputs.find(d.name);
    if (it == inputs.end()) return InvalidArgument("missing input '" + d.name + "'");
    const Tensor& t = it->second;
    if (t.dtype() != DType::kFloat32 || t.dims() != d.dims)
      return InvalidArgument("input '" + d.name + "' must be float32 with the engine's dims");
    std::vector<uint16_t> h;
    const void* src = t.raw_data();
    if (m.half) {
      h.resize(static_cast<size_t>(t.num_elements()));
      for (int64_t i = 0; i < t.num_elements(); ++i) h[i] = FloatToHalf(t.data<float>()[i]);
      src = h.data();
    }
    // From pageable memory the call returns once `src` is staged, so `h` may go.
    RIDGE_CUDA(cudaMemcpyAsync(d.data, src, static_cast<size_t>(t.num_elements() * m.esize),
                               cudaMemcpyHostToDevice, s));
  }
  return Status::Ok();
}

Result<std::vector<Tensor>> CopyOutputsToHost(const Engine::Impl& m,
                                              const std::vector<Engine::DeviceTensor>& src,
                                              cudaStream_t s) {
  RIDGE_CUDA(cudaStreamSynchronize(s));
  std::vector<Tensor> out;
  for (const Engine::DeviceTensor& d : src) {
    Tensor t(DType::kFloat32, d.dims);
    const size_t n = static_cast<size_t>(t.num_elements());
    if (m.half) {
      std::vector<uint16_t> h(n);
      RIDGE_CUDA(cudaMemcpy(h.data(), d.data, n * 2, cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < n; ++i) t.data<float>()[i] = HalfToFloat(h[i]);
    } else {
      RIDGE_CUDA(cudaMemcpy(t.raw_data(), d.data, n * 4, cudaMemcpyDeviceToHost));
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<Tensor>> Engine::Run(const std::map<std::string, Tensor>& inputs) {
  Impl& m = *impl_;
  RIDGE_RETURN_IF_ERROR(CopyInputsToDevice(m, InputBuffers(), inputs, m.stream));
  if (m.options.guard_bytes > 0) {
    RIDGE_CUDA(
        cudaMemsetAsync(m.arena, kGuard, static_cast<size_t>(m.stats.arena_bytes), m.stream));
  }
  RIDGE_RETURN_IF_ERROR(Launch(m));
  RIDGE_CUDA(cudaStreamSynchronize(m.stream));
  RIDGE_RETURN_IF_ERROR(m.TakeFallbackError());
  if (m.options.guard_bytes > 0) {
    std::vector<unsigned char> g(static_cast<size_t>(m.options.guard_bytes));
    for (size_t b = 0; b < m.bufs.size(); ++b) {
      if (m.bufs[b].persistent) continue;
      RIDGE_CUDA(cudaMemcpy(g.data(), static_cast<char*>(m.bufs[b].ptr) + m.bufs[b].bytes, g.size(),
                            cudaMemcpyDeviceToHost));
      for (unsigned char c : g)
        if (c != kGuard)
          return Status(StatusCode::kInternal,
                        "guard bytes after buffer " + std::to_string(b) + " overwritten");
    }
  }
  return CopyOutputsToHost(m, OutputBuffers(), m.stream);
}

std::vector<std::string> Engine::NodesWithoutSteps() const { return impl_->stepless_nodes; }

std::vector<Engine::DeviceTensor> Engine::InputBuffers() const {
  const Impl& m = *impl_;
  std::vector<DeviceTensor> out;
  for (const auto& [name, ref] : m.inputs)
    out.push_back({name, m.Ptr(ref.buf), m.storage, ref.dims});
  return out;
}

std::vector<Engine::DeviceTensor> Engine::OutputBuffers() const {
  const Impl& m = *impl_;
  std::vector<DeviceTensor> out;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    const Ref& r = m.outputs[i];
    out.push_back({"output " + std::to_string(i), m.Ptr(r.buf), m.storage, r.dims});
  }
  return out;
}

Status Engine::Enqueue(cudaStream_t stream) {
  Impl& m = *impl_;
  RIDGE_RETURN_IF_ERROR(m.TakeFallbackError());
  if (m.exec) {
    RIDGE_CUDA(cudaGraphLaunch(m.exec, stream));
    return CudaStatus(cudaGetLastError(), "engine graph launch");
  }
  // Without a captured graph the steps run on the engine's stream (cuDNN and cuBLASLt are bound
  // to it): join it to the caller's stream with events, both ways.
  cudaEvent_t before = nullptr, after = nullptr;
  RIDGE_CUDA(cudaEventCreateWithFlags(&before, cudaEventDisableTiming));
  Status st = CudaStatus(cudaEventCreateWithFlags(&after, cudaEventDisableTiming), "event");
  if (st.ok()) st = CudaStatus(cudaEventRecord(before, stream), "cudaEventRecord");
  if (st.ok()) st = CudaStatus(cudaStreamWaitEvent(m.stream, before, 0), "cudaStreamWaitEvent");
  if (st.ok()) st = Launch(m);
  if (st.ok()) st = CudaStatus(cudaEventRecord(after, m.stream), "cudaEventRecord");
  if (st.ok()) st = CudaStatus(cudaStreamWaitEvent(stream, after, 0), "cudaStreamWaitEvent");
  // Destroying a recorded event is safe: its resources go once the work completes.
  cudaEventDestroy(before);
  if (after) cudaEventDestroy(after);
  return st;
}

Result<std::vector<double>> Engine::TimeReplays(int warmup, int runs) {
  Impl& m = *impl_;
  if (runs <= 0 || warmup < 0) return InvalidArgument("runs must be > 0, warmup >= 0");
  for (int i = 0; i < warmup; ++i) RIDGE_RETURN_IF_ERROR(Launch(m));
  cudaEvent_t start, stop;
  RIDGE_CUDA(cudaEventCreate(&start));
  RIDGE_CUDA(cudaEventCreate(&stop));
  std::vector<double> ms;
  Status st;
  for (int i = 0; i < runs && st.ok(); ++i) {
    cudaEventRecord(start, m.stream);
    st = Launch(m);
    cudaEventRecord(stop, m.stream);
    cudaEventSynchronize(stop);
    float t = 0;
    cudaEventElapsedTime(&t, start, stop);
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  RIDGE_RETURN_IF_ERROR(st);
  RIDGE_RETURN_IF_ERROR(m.TakeFallbackError());
  return ms;
}

Result<std::vector<Engine::StepTime>> Engine::ProfileSteps(int runs) {
  Impl& m = *impl_;
  if (runs <= 0) return InvalidArgument("runs must be > 0");
  const size_t n = m.steps.size();
  std::vector<cudaEvent_t> ev(n + 1);
  for (auto& e : ev) RIDGE_CUDA(cudaEventCreate(&e));
  std::vector<double> total(n, 0.0), start(n, 0.0);
  std::vector<std::string> labels(n);
  for (size_t i = 0; i < n; ++i)
    labels[i] = std::to_string(i) + " " + m.steps[i].kind + " " + m.steps[i].node;
  Status st;
  // The GPU waits in a spin kernel while the host enqueues the run, so the events time GPU
  // execution, not launch gaps; the spin lasts longer than the slowest enqueue seen so far.
  double enqueue_ns = 0;
  for (int r = 0; r < runs + 1 && st.ok(); ++r) {  // the first run warms up
    if (r > 0) kernels::LaunchSpin(static_cast<int64_t>(enqueue_ns * 1.5) + 100000, m.stream);
    const auto host_start = std::chrono::steady_clock::now();
    cudaEventRecord(ev[0], m.stream);
    for (size_t i = 0; i < n; ++i) {
      NvtxPush(labels[i]);
      m.steps[i].launch(m.stream);
      NvtxPop();
      cudaEventRecord(ev[i + 1], m.stream);
    }
    enqueue_ns = std::max(enqueue_ns, std::chrono::duration<double, std::nano>(
                                          std::chrono::steady_clock::now() - host_start)
                                          .count());
    st = CudaStatus(cudaEventSynchronize(ev[n]), "profile run");
    if (st.ok()) st = CudaStatus(cudaGetLastError(), "profiled step launch");
    for (size_t i = 0; r > 0 && i < n && st.ok(); ++i) {
      float ms = 0, at = 0;
      st = CudaStatus(cudaEventElapsedTime(&ms, ev[i], ev[i + 1]), "cudaEventElapsedTime");
      if (st.ok()) st = CudaStatus(cudaEventElapsedTime(&at, ev[0], ev[i]), "cudaEventElapsedTime");
      total[i] += ms;
      start[i] = at;
    }
  }
  for (auto& e : ev) cudaEventDestroy(e);
  RIDGE_RETURN_IF_ERROR(st);
  RIDGE_RETURN_IF_ERROR(m.TakeFallbackError());
  std::vector<StepTime> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back({m.steps[i].kind, m.steps[i].node, total[i] / runs, m.steps[i].nodes, start[i]});
  }
  return out;
}

}  // namespace ridge::cuda
