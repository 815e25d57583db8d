// `ridge bench --device cuda`: options shared by cmd_bench.cc (flag parsing) and
// cmd_bench_cuda.cc / bench_cuda_profile.cc (the CUDA measurement and its per-step profile).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace ridge::cli {

struct CudaBenchOptions {
  std::string model;
  int64_t batch = 1;
  std::string precision = "fp16";
  double warmup_ms = 200;
  double duration_s = 3;
  int64_t iterations = 0;  // 0: until >= 200 iterations and >= duration_s
  std::string json_path;
  bool profile = false;        // per-step GPU times joined with the roofline prediction
  std::string trace_path;      // Chrome/Perfetto trace of one profiled run
  std::string device_profile;  // name or path; default: the built-in profile of this GPU
  bool progress = false;
  // Tactic timing cache: empty = TacticCache::DefaultPath(); off with no_timing_cache.
  std::string timing_cache;
  bool no_timing_cache = false;
  bool verbose = false;  // the engine build log (one line per conv/GEMM tactic) on stderr
  // Nodes without a GPU kernel run on the host (cuda::EngineOptions::allow_cpu_fallback).
  // Engine files: the option they were built with applies.
  bool allow_cpu_fallback = false;
};

Status BenchCuda(const CudaBenchOptions& options);

}  // namespace ridge::cli
