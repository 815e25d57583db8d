// `ridge bench MODEL --device cuda`: trtexec-style timing of the CUDA engine. Each iteration
// copies the inputs from pinned host memory (H2D), replays the captured CUDA graph (compute),
// copies the outputs back to pinned memory (D2H), and waits. Per iteration we record the host
// time of the enqueue call, the three GPU phases (CUDA events), their sum (GPU latency) and the
// host wall time end to end; each gets min/mean/median/p90/p99/max and CV.
#ifdef RIDGE_HAVE_CUDA
#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/engine.h"
#include "bench_cuda.h"
#include "commands.h"
#include "onnx/loader.h"
#include "ops/shape_inference.h"
#include "profiler/stats.h"
#include "runtime/engine_file.h"
#include "runtime/engine_runner.h"
#include "runtime/engine_runner_cuda.h"
#include "runtime/session.h"

namespace ridge::cli {
// bench_cuda_profile.cc: --profile / --trace.
Status ProfileCudaSteps(const CudaBenchOptions& o, const ir::Graph& graph, cuda::Engine& engine,
                        Precision precision, nlohmann::json* j);

namespace {

// Pinned host mirrors of the engine's input and output buffers, and the events of one
// iteration; everything is released on every path.
struct IoState {
  std::vector<cuda::Engine::DeviceTensor> in, out;
  std::vector<void*> host_in, host_out;
  std::vector<size_t> in_bytes, out_bytes;
  cudaStream_t stream = nullptr;
  cudaEvent_t ev[4] = {nullptr, nullptr, nullptr, nullptr};
  ~IoState() {
    for (void* p : host_in) cudaFreeHost(p);
    for (void* p : host_out) cudaFreeHost(p);
    for (cudaEvent_t e : ev)
      if (e) cudaEventDestroy(e);
    if (stream) cudaStreamDestroy(stream);
  }
};

size_t Bytes(const cuda::Engine::DeviceTensor& t) {
  size_t n = DTypeSize(t.dtype);
  for (int64_t d : t.dims) n *= static_cast<size_t>(d);
  return n;
}

Status SetUp(cuda::Engine& engine, IoState* io) {
  io->in = engine.InputBuffers();
  io->out = engine.OutputBuffers();
  RIDGE_CUDA(cudaStreamCreateWithFlags(&io->stream, cudaStreamNonBlocking));
  for (cudaEvent_t& e : io->ev) RIDGE_CUDA(cudaEventCreate(&e));
  for (const auto& t : io->in) {
    io->in_bytes.push_back(Bytes(t));
    void* p = nullptr;
    RIDGE_CUDA(cudaMallocHost(&p, io->in_bytes.back()));
    io->host_in.push_back(p);
    // The engine holds the random inputs Run uploaded, already in its storage dtype.
    RIDGE_CUDA(cudaMemcpy(p, t.data, io->in_bytes.back(), cudaMemcpyDeviceToHost));
  }
  for (const auto& t : io->out) {
    io->out_bytes.push_back(Bytes(t));
    void* p = nullptr;
    RIDGE_CUDA(cudaMallocHost(&p, io->out_bytes.back()));
    io->host_out.push_back(p);
  }
  return Status::Ok();
}

struct Sample {
  double enqueue_ms, h2d_ms, compute_ms, d2h_ms, latency_ms, e2e_ms;
};

Result<Sample> Iterate(cuda::Engine& engine, IoState& io) {
  Sample s{};
  profiler::Timer wall;
  cudaStream_t st = io.stream;
  RIDGE_CUDA(cudaEventRecord(io.ev[0], st));
  for (size_t i = 0; i < io.in.size(); ++i)
    RIDGE_CUDA(
        cudaMemcpyAsync(io.in[i].data, io.host_in[i], io.in_bytes[i], cudaMemcpyHostToDevice, st));
  RIDGE_CUDA(cudaEventRecord(io.ev[1], st));
  profiler::Timer enqueue;
  RIDGE_RETURN_IF_ERROR(engine.Enqueue(st));
  s.enqueue_ms = enqueue.ElapsedMs();
  RIDGE_CUDA(cudaEventRecord(io.ev[2], st));
  for (size_t i = 0; i < io.out.size(); ++i)
    RIDGE_CUDA(cudaMemcpyAsync(io.host_out[i], io.out[i].data, io.out_bytes[i],
                               cudaMemcpyDeviceToHost, st));
  RIDGE_CUDA(cudaEventRecord(io.ev[3], st));
  RIDGE_CUDA(cudaEventSynchronize(io.ev[3]));
  s.e2e_ms = wall.ElapsedMs();
  float ms = 0;
  RIDGE_CUDA(cudaEventElapsedTime(&ms, io.ev[0], io.ev[1]));
  s.h2d_ms = ms;
  RIDGE_CUDA(cudaEventElapsedTime(&ms, io.ev[1], io.ev[2]));
  s.compute_ms = ms;
  RIDGE_CUDA(cudaEventElapsedTime(&ms, io.ev[2], io.ev[3]));
  s.d2h_ms = ms;
  RIDGE_CUDA(cudaEventElapsedTime(&ms, io.ev[0], io.ev[3]));
  s.latency_ms = ms;
  return s;
}

// The tactic timing cache of an engine built here: read before the build (a missing file is a
// cold cache; a bad or foreign one only a note), written back after it.
void UseTacticCache(const CudaBenchOptions& o, cuda::TacticCacheFile* f,
                    cuda::EngineOptions* options) {
  auto warn = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  f->Open(o.timing_cache, o.no_timing_cache, warn);
  std::string note;
  auto env = cuda::CurrentTacticEnvironment();
  if (env.ok() && !f->cache.MatchEnvironment(*env, &note)) warn("note: " + note);
  options->tactic_cache = &f->cache;
  options->build_progress = true;
  if (o.verbose) {
    options->build_log = [](const std::string& line) {
      std::fprintf(stderr, "  %s\n", line.c_str());
    };
  }
}

nlohmann::json StatsJson(const profiler::LatencyStats& s) {
  return {{"min", s.min_ms}, {"mean", s.mean_ms}, {"median", s.median_ms}, {"p90", s.p90_ms},
          {"p99", s.p99_ms}, {"max", s.max_ms},   {"stddev", s.stddev_ms}, {"cv", s.cv}};
}

}  // namespace

Status BenchCuda(const CudaBenchOptions& o) {
  if (o.precision != "fp16" && o.precision != "fp32")
    return InvalidArgument("--precision must be fp16 or fp32 for --device cuda");
  if (o.batch <= 0) return InvalidArgument("--batch must be positive");
  if (!(o.warmup_ms >= 0) || !(o.duration_s > 0) || o.iterations < 0 || o.warmup_ms > 3.6e6 ||
      o.duration_s > 3600) {
    return InvalidArgument(
        "--warmup-ms must be in [0, 3.6e6], --duration-s in (0, 3600], --iterations >= 0");
  }
  const Precision precision = o.precision == "fp16" ? Precision::kFp16 : Precision::kFp32;
  ir::Graph graph;
  cuda::TacticCacheFile tactics;  // outlives the build that fills it
  std::unique_ptr<cuda::Engine> engine;
  if (runtime::IsEngineFile(o.model)) {
    // An engine file (ridge build --device cuda): checked against this GPU and rebuilt; its
    // batch and precision are the ones cmd_bench.cc passed from the header.
    RIDGE_ASSIGN_OR_RETURN(runtime::LoadedCudaEngine loaded, runtime::LoadCudaEngineFile(o.model));
    graph = std::move(loaded.graph);
    engine = std::move(loaded.engine);
  } else {
    RIDGE_ASSIGN_OR_RETURN(graph, onnx::LoadModel(o.model));
    ops::InferOptions infer;
    infer.batch = o.batch;
    RIDGE_RETURN_IF_ERROR(ops::InferShapes(graph, infer));
    cuda::EngineOptions options;
    options.precision = precision;
    options.allow_cpu_fallback = o.allow_cpu_fallback;
    UseTacticCache(o, &tactics, &options);
    RIDGE_ASSIGN_OR_RETURN(engine, cuda::Engine::Build(graph, options));
    tactics.Save([](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
  }
  RIDGE_ASSIGN_OR_RETURN(auto inputs, runtime::RandomInputs(graph, 0));
  RIDGE_RETURN_IF_ERROR(engine->Run(inputs).status());
  IoState io;
  RIDGE_RETURN_IF_ERROR(SetUp(*engine, &io));

  // Warm-up: at least warmup_ms and 20 iterations (clocks ramp, caches and the graph settle).
  profiler::Timer warm;
  int64_t warm_runs = 0;
  while ((warm_runs < 20 || warm.ElapsedMs() < o.warmup_ms) && warm.ElapsedMs() < 60'000) {
    RIDGE_RETURN_IF_ERROR(Iterate(*engine, io).status());
    ++warm_runs;
  }
  // Timed phase, as trtexec: until both 200 iterations and duration_s (or exactly --iterations).
  std::vector<double> enq, h2d, comp, d2h, lat, e2e;
  const bool show_progress = o.progress || isatty(STDERR_FILENO);
  double last_progress = 0;
  profiler::Timer total;
  while (true) {
    RIDGE_ASSIGN_OR_RETURN(Sample s, Iterate(*engine, io));
    enq.push_back(s.enqueue_ms);
    h2d.push_back(s.h2d_ms);
    comp.push_back(s.compute_ms);
    d2h.push_back(s.d2h_ms);
    lat.push_back(s.latency_ms);
    e2e.push_back(s.e2e_ms);
    const auto n = static_cast<int64_t>(e2e.size());
    const double elapsed_s = total.ElapsedMs() / 1e3;
    if (show_progress && elapsed_s - last_progress >= 0.5) {
      last_progress = elapsed_s;
      std::fprintf(stderr, "\rbench: %lld iterations, %.1f s", static_cast<long long>(n),
                   elapsed_s);
    }
    if (o.iterations > 0 ? n >= o.iterations
                         : ((n >= 200 && elapsed_s >= o.duration_s) || n >= 10'000'000))
      break;
  }
  const double wall_s = total.ElapsedMs() / 1e3;
  if (show_progress && last_progress > 0) std::fprintf(stderr, "\n");
  const auto n = static_cast<int64_t>(e2e.size());
  const double throughput = wall_s > 0 ? static_cast<double>(n * o.batch) / wall_s : 0;

  cudaDeviceProp prop{};
  RIDGE_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("model %s  batch %lld  device cuda (%s)  precision %s  %d steps in a CUDA graph\n",
              o.model.c_str(), static_cast<long long>(o.batch), prop.name, o.precision.c_str(),
              engine->stats().steps);
  const cuda::EngineStats& built = engine->stats();
  std::printf(
      "build %.2f s (tactic timing %.2f s, rest %.2f s); tactics: %d layers timed (%d "
      "candidates), %d reused (an identical layer or the timing cache%s%s)\n",
      built.build_ms / 1e3, built.tactic_ms / 1e3, (built.build_ms - built.tactic_ms) / 1e3,
      built.tactic_layers_timed, built.tactic_candidates_timed, built.tactic_layers_cached,
      tactics.path.empty() ? "" : " ", tactics.path.c_str());
  const runtime::CpuFallbackReport fallback{built.cpu_fallback_nodes, built.cpu_fallback_node_names,
                                            built.cpu_fallback_bytes_per_run,
                                            built.cpu_fallback_host_syncs};
  if (fallback.nodes > 0) std::printf("%s\n", runtime::CpuFallbackLine(fallback).c_str());
  std::printf(
      "iterations %lld in %.2f s (after %lld warm-up iterations); inputs %zu, outputs "
      "%zu, pinned host buffers\n",
      static_cast<long long>(n), wall_s, static_cast<long long>(warm_runs), io.in.size(),
      io.out.size());
  std::printf("%-28s %9s %9s %9s %9s %9s %9s %7s\n", "ms per iteration", "min", "mean", "median",
              "p90", "p99", "max", "CV");
  nlohmann::json j;
  const std::pair<const char*, std::vector<double>*> rows[] = {
      {"host enqueue (graph launch)", &enq},
      {"H2D (pinned)", &h2d},
      {"GPU compute", &comp},
      {"D2H (pinned)", &d2h},
      {"GPU latency (H2D+compute+D2H)", &lat},
      {"end to end (host wall)", &e2e}};
  const char* keys[] = {"enqueue_ms", "h2d_ms", "compute_ms", "d2h_ms", "latency_ms", "e2e_ms"};
  bool unstable = false;
  for (size_t i = 0; i < 6; ++i) {
    auto s = profiler::ComputeStats(*rows[i].second, o.batch);
    std::printf("%-28s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %6.1f%%\n", rows[i].first, s.min_ms,
                s.mean_ms, s.median_ms, s.p90_ms, s.p99_ms, s.max_ms, s.cv * 100);
    j[keys[i]] = StatsJson(s);
    if (i == 2) unstable = s.unstable;
  }
  std::printf("throughput %.1f inferences/s (%.1f iterations/s x batch %lld)%s\n", throughput,
              wall_s > 0 ? n / wall_s : 0, static_cast<long long>(o.batch),
              unstable ? "   UNSTABLE (GPU compute CV > 10%): not a reliable number" : "");
  j["model"] = o.model;
  j["device"] = "cuda";
  j["gpu"] = prop.name;
  j["precision"] = o.precision;
  j["batch"] = o.batch;
  j["iterations"] = n;
  j["warmup_iterations"] = warm_runs;
  j["wall_s"] = wall_s;
  j["throughput_per_s"] = throughput;
  j["unstable"] = unstable;
  j["steps"] = engine->stats().steps;
  j["build"] = {{"build_ms", built.build_ms},
                {"tactic_ms", built.tactic_ms},
                {"layers_timed", built.tactic_layers_timed},
                {"layers_cached", built.tactic_layers_cached},
                {"candidates_timed", built.tactic_candidates_timed},
                {"timing_cache", tactics.path}};
  j["cpu_fallback"] = {{"nodes", fallback.nodes},
                       {"node_names", fallback.node_names},
                       {"bytes_per_run", fallback.bytes_per_run},
                       {"host_syncs_per_run", fallback.host_syncs_per_run}};
  if (o.profile || !o.trace_path.empty())
    RIDGE_RETURN_IF_ERROR(ProfileCudaSteps(o, graph, *engine, precision, &j));
  if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    if (!(out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"))
      return IoError("cannot write '" + o.json_path + "'");
  }
  return Status::Ok();
}

}  // namespace ridge::cli
#endif  // RIDGE_HAVE_CUDA
