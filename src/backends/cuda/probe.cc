// The device probe. Every figure is the best of a few repetitions (a peak is what the hardware
// can do, not a typical run), timed with CUDA events except the launch figures, which are
// host-side by nature. Sizes are far above the L2 cache so bandwidth is HBM's.
#include "backends/cuda/probe.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/engine.h"
#include "backends/cuda/probe_kernels.cuh"

namespace ridge::cuda {
namespace {

using Clock = std::chrono::steady_clock;

// Owners that release what they hold on every return path.
struct DevBuf {
  void* p = nullptr;
  ~DevBuf() {
    if (p) cudaFree(p);
  }
};
struct PinnedBuf {
  void* p = nullptr;
  ~PinnedBuf() {
    if (p) cudaFreeHost(p);
  }
};
struct EventPair {
  cudaEvent_t a = nullptr, b = nullptr;
  ~EventPair() {
    if (a) cudaEventDestroy(a);
    if (b) cudaEventDestroy(b);
  }
};
struct StreamOwner {
  cudaStream_t s = nullptr;
  ~StreamOwner() {
    if (s) cudaStreamDestroy(s);
  }
};
struct LtOwner {
  cublasLtHandle_t h = nullptr;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t layout = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtOwner() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (layout) cublasLtMatrixLayoutDestroy(layout);
    if (desc) cublasLtMatmulDescDestroy(desc);
    if (h) cublasLtDestroy(h);
  }
};
struct GraphOwner {
  cudaGraph_t g = nullptr;
  cudaGraphExec_t exec = nullptr;
  ~GraphOwner() {
    if (exec) cudaGraphExecDestroy(exec);
    if (g) cudaGraphDestroy(g);
  }
};

// Shortest time in ms over `reps` timings of what `enqueue` puts on `s`.
template <typename F>
Result<double> BestMs(cudaStream_t s, int reps, F&& enqueue) {
  EventPair ev;
  RIDGE_CUDA(cudaEventCreate(&ev.a));
  RIDGE_CUDA(cudaEventCreate(&ev.b));
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    RIDGE_CUDA(cudaEventRecord(ev.a, s));
    RIDGE_RETURN_IF_ERROR(enqueue());
    RIDGE_CUDA(cudaEventRecord(ev.b, s));
    RIDGE_CUDA(cudaEventSynchronize(ev.b));
    float ms = 0;
    RIDGE_CUDA(cudaEventElapsedTime(&ms, ev.a, ev.b));
    best = std::min(best, static_cast<double>(ms));
  }
  if (!(best > 0)) return Internal("probe: a timed section took no measurable time");
  return best;
}

Result<double> CopyBandwidth(cudaStream_t s, int64_t bytes, int reps) {
  DevBuf in, out;
  RIDGE_CUDA(cudaMalloc(&in.p, static_cast<size_t>(bytes)));
  RIDGE_CUDA(cudaMalloc(&out.p, static_cast<size_t>(bytes)));
  RIDGE_CUDA(cudaMemsetAsync(in.p, 1, static_cast<size_t>(bytes), s));
  const int64_t n = bytes / static_cast<int64_t>(sizeof(float4));
  constexpr int kCopiesPerTiming = 4;  // amortize the event pair
  auto copy = [&]() -> Status {
    for (int i = 0; i < kCopiesPerTiming; ++i) RIDGE_CUDA(LaunchProbeCopy(in.p, out.p, n, s));
    return Status::Ok();
  };
  RIDGE_RETURN_IF_ERROR(copy());  // warm-up
  RIDGE_ASSIGN_OR_RETURN(double ms, BestMs(s, reps, copy));
  return 2.0 * static_cast<double>(n * 16) * kCopiesPerTiming / (ms * 1e-3);
}

// Square GEMM C = A * B, n^3, through cuBLASLt; fp32 compute in both cases (fp16 inputs use
// Tensor Cores with fp32 accumulation; fp32 inputs without FAST_TF32 stay on the CUDA cores).
Result<double> GemmFlops(cudaStream_t s, int64_t n, bool half, int reps) {
  const cudaDataType_t type = half ? CUDA_R_16F : CUDA_R_32F;
  const size_t bytes = static_cast<size_t>(n * n) * (half ? 2 : 4);
  DevBuf a, b, c, ws;
  const size_t ws_bytes = size_t{64} << 20;
  RIDGE_CUDA(cudaMalloc(&a.p, bytes));
  RIDGE_CUDA(cudaMalloc(&b.p, bytes));
  RIDGE_CUDA(cudaMalloc(&c.p, bytes));
  RIDGE_CUDA(cudaMalloc(&ws.p, ws_bytes));
  // Small values: n products of ~1e-3 stay far from fp16's range limit.
  RIDGE_CUDA(LaunchProbeFill(a.p, n * n, half, 1e-3f, s));
  RIDGE_CUDA(LaunchProbeFill(b.p, n * n, half, 1e-3f, s));
  LtOwner lt;
  RIDGE_CUBLAS(cublasLtCreate(&lt.h));
  RIDGE_CUBLAS(cublasLtMatmulDescCreate(&lt.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const auto dim = static_cast<uint64_t>(n);
  RIDGE_CUBLAS(cublasLtMatrixLayoutCreate(&lt.layout, type, dim, dim, static_cast<int64_t>(n)));
  RIDGE_CUBLAS(cublasLtMatmulPreferenceCreate(&lt.pref));
  const uint64_t ws_limit = ws_bytes;
  RIDGE_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
      lt.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_limit, sizeof(ws_limit)));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  RIDGE_CUBLAS(cublasLtMatmulAlgoGetHeuristic(lt.h, lt.desc, lt.layout, lt.layout, lt.layout,
                                              lt.layout, lt.pref, 1, &heur, &found));
  if (found < 1) return Internal("probe: cuBLASLt has no algorithm for the probe GEMM");
  const float alpha = 1.f, beta = 0.f;
  auto gemm = [&]() -> Status {
    return CublasStatus(
        cublasLtMatmul(lt.h, lt.desc, &alpha, a.p, lt.layout, b.p, lt.layout, &beta, c.p, lt.layout,
                       c.p, lt.layout, &heur.algo, ws.p, ws_bytes, s),
        "cublasLtMatmul (probe)");
  };
  RIDGE_RETURN_IF_ERROR(gemm());  // warm-up (and clock ramp)
  RIDGE_RETURN_IF_ERROR(gemm());
  RIDGE_ASSIGN_OR_RETURN(double ms, BestMs(s, reps, gemm));
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) /
         (ms * 1e-3);
}

Status LaunchOverhead(cudaStream_t s, int launches, ProbeResult* r) {
  for (int i = 0; i < 100; ++i) RIDGE_CUDA(LaunchProbeEmpty(s));
  RIDGE_CUDA(cudaStreamSynchronize(s));
  const auto t0 = Clock::now();
  cudaError_t err = cudaSuccess;
  for (int i = 0; i < launches && err == cudaSuccess; ++i) err = LaunchProbeEmpty(s);
  const auto t1 = Clock::now();
  RIDGE_CUDA(err);
  RIDGE_CUDA(cudaStreamSynchronize(s));
  const auto t2 = Clock::now();
  const double enqueue_s = std::chrono::duration<double>(t1 - t0).count();
  const double total_s = std::chrono::duration<double>(t2 - t0).count();
  r->launch_host_s = enqueue_s / launches;
  r->launches_per_s = total_s > 0 ? launches / total_s : 0;
  return Status::Ok();
}

Status GraphOverhead(cudaStream_t s, int nodes, int reps, ProbeResult* r) {
  GraphOwner g;
  RIDGE_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  cudaError_t launch_err = cudaSuccess;
  for (int i = 0; i < nodes && launch_err == cudaSuccess; ++i) launch_err = LaunchProbeEmpty(s);
  // End the capture on every path, so the stream is usable (and the graph freed) after errors.
  const cudaError_t end_err = cudaStreamEndCapture(s, &g.g);
  RIDGE_CUDA(launch_err);
  RIDGE_CUDA(end_err);
  RIDGE_CUDA(cudaGraphInstantiate(&g.exec, g.g, 0));
  RIDGE_CUDA(cudaGraphUpload(g.exec, s));
  auto replay = [&]() { return CudaStatus(cudaGraphLaunch(g.exec, s), "cudaGraphLaunch"); };
  RIDGE_RETURN_IF_ERROR(replay());
  RIDGE_ASSIGN_OR_RETURN(double ms, BestMs(s, reps, replay));
  r->graph_nodes = nodes;
  r->graph_node_s = ms * 1e-3 / nodes;
  return Status::Ok();
}

Status PinnedCopies(cudaStream_t s, int reps, ProbeResult* r) {
  const size_t bytes = size_t{64} << 20;
  PinnedBuf host;
  DevBuf dev;
  RIDGE_CUDA(cudaMallocHost(&host.p, bytes));
  RIDGE_CUDA(cudaMalloc(&dev.p, bytes));
  std::fill_n(static_cast<char*>(host.p), bytes, char{1});
  auto h2d = [&]() {
    return CudaStatus(cudaMemcpyAsync(dev.p, host.p, bytes, cudaMemcpyHostToDevice, s), "H2D");
  };
  auto d2h = [&]() {
    return CudaStatus(cudaMemcpyAsync(host.p, dev.p, bytes, cudaMemcpyDeviceToHost, s), "D2H");
  };
  RIDGE_ASSIGN_OR_RETURN(double h2d_ms, BestMs(s, reps, h2d));
  RIDGE_ASSIGN_OR_RETURN(double d2h_ms, BestMs(s, reps, d2h));
  r->h2d_bytes_per_s = static_cast<double>(bytes) / (h2d_ms * 1e-3);
  r->d2h_bytes_per_s = static_cast<double>(bytes) / (d2h_ms * 1e-3);
  return Status::Ok();
}

Status DeviceFacts(int dev, ProbeResult* r) {
  cudaDeviceProp prop{};
  RIDGE_CUDA(cudaGetDeviceProperties(&prop, dev));
  r->gpu_name = prop.name;
  r->cc_major = prop.major;
  r->cc_minor = prop.minor;
  r->sm_count = prop.multiProcessorCount;
  r->l2_bytes = static_cast<double>(prop.l2CacheSize);
  r->global_memory_bytes = static_cast<double>(prop.totalGlobalMem);
  int khz = 0;
  RIDGE_CUDA(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev));
  r->sm_clock_mhz = khz / 1e3;
  RIDGE_CUDA(cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, dev));
  r->mem_clock_mhz = khz / 1e3;
  RIDGE_CUDA(cudaDeviceGetAttribute(&r->memory_bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev));
  return Status::Ok();
}

}  // namespace

Result<ProbeResult> RunProbe(const ProbeOptions& options) {
  std::string why;
  if (!DeviceAvailable(&why)) return Unsupported("no usable CUDA device: " + why);
  const auto start = Clock::now();
  const bool q = options.quick;
  ProbeResult r;
  RIDGE_CUDA(cudaSetDevice(0));
  RIDGE_RETURN_IF_ERROR(DeviceFacts(0, &r));
  StreamOwner stream;
  RIDGE_CUDA(cudaStreamCreateWithFlags(&stream.s, cudaStreamNonBlocking));
  // Copy buffers: 1 GiB each (256 MiB quick), far beyond any L2, capped by a quarter of memory.
  int64_t copy_bytes = int64_t{q ? 256 : 1024} << 20;
  copy_bytes = std::min<int64_t>(copy_bytes, static_cast<int64_t>(r.global_memory_bytes / 4));
  copy_bytes -= copy_bytes % 16;
  if (copy_bytes < (int64_t{16} << 20)) return Unsupported("probe: the GPU has too little memory");
  RIDGE_ASSIGN_OR_RETURN(r.hbm_bytes_per_s, CopyBandwidth(stream.s, copy_bytes, q ? 5 : 20));
  r.gemm_n = q ? 4096 : 8192;
  RIDGE_ASSIGN_OR_RETURN(r.fp16_tc_flops_per_s, GemmFlops(stream.s, r.gemm_n, true, q ? 3 : 10));
  RIDGE_ASSIGN_OR_RETURN(r.fp32_flops_per_s, GemmFlops(stream.s, r.gemm_n, false, q ? 2 : 5));
  RIDGE_RETURN_IF_ERROR(LaunchOverhead(stream.s, q ? 2000 : 20000, &r));
  RIDGE_RETURN_IF_ERROR(GraphOverhead(stream.s, q ? 200 : 1000, q ? 3 : 10, &r));
  RIDGE_RETURN_IF_ERROR(PinnedCopies(stream.s, q ? 3 : 10, &r));
  RIDGE_CUDA(cudaStreamSynchronize(stream.s));
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

}  // namespace ridge::cuda
