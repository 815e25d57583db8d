// ridge_gpu_bench: builds a model on the CUDA engine and times the replay of its captured CUDA
// graph with CUDA events: median / p90 / p99 over --runs replays after --warmup replays.
//   ridge_gpu_bench models/resnet50.onnx --precision fp16 --batch 32 --runs 300 --json out.json
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "backends/cuda/engine.h"
#include "onnx/loader.h"
#include "ops/shape_inference.h"

namespace {

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Runs per second: (one context enqueuing n * runs replays back to back, n contexts on n streams
// enqueued round-robin for `runs` rounds). The same number of replays on both sides.
ridge::Result<std::pair<double, double>> ContextThroughput(ridge::cuda::Engine& engine, int n,
                                                           int runs) {
  std::vector<std::unique_ptr<ridge::cuda::ExecutionContext>> ctx;
  std::vector<cudaStream_t> streams(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    auto c = engine.CreateContext();
    if (!c.ok()) return c.status();
    ctx.push_back(std::move(*c));
    cudaStreamCreateWithFlags(&streams[static_cast<size_t>(k)], cudaStreamNonBlocking);
  }
  auto time_rounds = [&](int rounds, int width) -> ridge::Result<double> {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r)
      for (int k = 0; k < width; ++k)
        if (auto s = ctx[static_cast<size_t>(k)]->Enqueue(streams[static_cast<size_t>(k)]); !s.ok())
          return s;
    for (cudaStream_t s : streams) cudaStreamSynchronize(s);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  ridge::Result<double> warm = time_rounds(10, n);
  if (!warm.ok()) return warm.status();
  auto one = time_rounds(n * runs, 1);
  auto many = time_rounds(runs, n);
  for (cudaStream_t s : streams) cudaStreamDestroy(s);
  if (!one.ok()) return one.status();
  if (!many.ok()) return many.status();
  return std::make_pair(n * runs / *one, n * runs / *many);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time a model on Ridgeline's CUDA engine (CUDA graph replay)"};
  std::string model, precision = "fp16", json_path;
  int64_t batch = 1;
  int runs = 300, warmup = 50;
  app.add_option("model", model, "ONNX model")->required();
  app.add_option("--precision", precision, "fp16 or fp32")->check(CLI::IsMember({"fp16", "fp32"}));
  app.add_option("--batch", batch, "batch size")->check(CLI::Range(1, 4096));
  app.add_option("--runs", runs, "timed replays (>= 200 for reported figures)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup, "untimed replays first")->check(CLI::Range(0, 100000));
  int profile_top = 0;
  app.add_option("--profile", profile_top, "also print the N slowest steps (eager, per step)");
  app.add_option("--json", json_path, "append a JSON line with the figures to this file");
  bool no_pad = false;
  app.add_flag("--no-pad-channels", no_pad,
               "keep 3-channel image inputs unpadded (EngineOptions::pad_input_channels off)");
  bool tiles = false, build_log = false, gelu_epilogue = false;
  app.add_flag("--depthwise-tiles", tiles,
               "also time the depthwise tile kernels at build "
               "(EngineOptions::depthwise_tile_kernels)");
  app.add_flag(
      "--gemm-gelu-epilogue", gelu_epilogue,
      "fp16: GELU after a GEMM in cuBLASLt's epilogue (EngineOptions::gemm_gelu_epilogue)");
  app.add_flag("--build-log", build_log,
               "print each layer's tactic choice (kernel or algorithm, time, candidates)");
  int contexts = 1;
  app.add_option("--contexts", contexts,
                 "also measure throughput with N execution contexts (sharing the weights) "
                 "enqueued round-robin on N streams, against one context back to back")
      ->check(CLI::Range(1, 16));
  CLI11_PARSE(app, argc, argv);

  auto fail = [&](const ridge::Status& s) {
    std::fprintf(stderr, "ridge_gpu_bench: %s: %s\n", model.c_str(), s.ToString().c_str());
    return s.code() == ridge::StatusCode::kUnsupported ? 3 : 1;
  };
  auto graph = ridge::onnx::LoadModel(model);
  if (!graph.ok()) return fail(graph.status());
  ridge::ops::InferOptions infer;
  infer.batch = batch;
  if (auto s = ridge::ops::InferShapes(*graph, infer); !s.ok()) return fail(s);
  ridge::cuda::EngineOptions options;
  options.precision = precision == "fp16" ? ridge::Precision::kFp16 : ridge::Precision::kFp32;
  options.pad_input_channels = !no_pad;
  options.depthwise_tile_kernels = tiles;
  options.gemm_gelu_epilogue = gelu_epilogue;
  if (build_log)
    options.build_log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  auto engine = ridge::cuda::Engine::Build(*graph, options);
  if (!engine.ok()) return fail(engine.status());

  std::map<std::string, ridge::Tensor> inputs;
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (ridge::ir::ValueId v : graph->inputs()) {
    const auto& val = graph->value(v);
    ridge::Tensor t(ridge::DType::kFloat32, *val.shape->ToInts());
    for (float& x : t.span<float>()) x = dist(rng);
    inputs[val.name] = t;
  }
  auto out = (*engine)->Run(inputs);
  if (!out.ok()) return fail(out.status());
  auto ms = (*engine)->TimeReplays(warmup, runs);
  if (!ms.ok()) return fail(ms.status());
  const auto& st = (*engine)->stats();
  const double med = Percentile(*ms, 0.5), p90 = Percentile(*ms, 0.9), p99 = Percentile(*ms, 0.99);
  std::string base = model.substr(model.find_last_of('/') + 1);
  base = base.substr(0, base.rfind(".onnx"));
  std::printf(
      "%-16s %s b%-3lld median %.3f ms  p90 %.3f  p99 %.3f  (%d runs; %d steps, %d fused nodes, "
      "%d layout transposes, arena %.1f MiB vs %.1f MiB unplanned)\n",
      base.c_str(), precision.c_str(), static_cast<long long>(batch), med, p90, p99, runs, st.steps,
      st.fused_nodes, st.layout_changes, st.arena_bytes / 1048576.0,
      st.arena_naive_bytes / 1048576.0);
  if (profile_top > 0) {
    auto steps = (*engine)->ProfileSteps(20);
    if (!steps.ok()) return fail(steps.status());
    double sum = 0;
    for (const auto& s : *steps) sum += s.ms;
    std::vector<ridge::cuda::Engine::StepTime> sorted = *steps;
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.ms > b.ms; });
    // Time by step kind first: which kernel family dominates.
    std::map<std::string, std::pair<double, int>> by_kind;
    for (const auto& s : *steps) {
      by_kind[s.kind].first += s.ms;
      ++by_kind[s.kind].second;
    }
    std::vector<std::pair<std::string, std::pair<double, int>>> kinds(by_kind.begin(),
                                                                      by_kind.end());
    std::sort(kinds.begin(), kinds.end(),
              [](auto& a, auto& b) { return a.second.first > b.second.first; });
    std::printf("  eager step sum %.3f ms; by kind:", sum);
    for (const auto& [kind, t] : kinds)
      std::printf(" %s %.3f (%d)", kind.c_str(), t.first, t.second);
    std::printf("\n  slowest steps:\n");
    for (int i = 0; i < profile_top && i < static_cast<int>(sorted.size()); ++i)
      std::printf("    %8.3f ms  %-26s %s\n", sorted[i].ms, sorted[i].kind.c_str(),
                  sorted[i].node.c_str());
  }
  double ctx_per_s = 0, single_per_s = 0;
  if (contexts > 1) {
    auto rates = ContextThroughput(**engine, contexts, runs);
    if (!rates.ok()) return fail(rates.status());
    single_per_s = rates->first * static_cast<double>(batch);
    ctx_per_s = rates->second * static_cast<double>(batch);
    std::printf(
        "  %d contexts on %d streams: %.0f inferences/s; one context back to back: %.0f/s "
        "(x%.2f)\n",
        contexts, contexts, ctx_per_s, single_per_s, ctx_per_s / single_per_s);
  }
  if (!json_path.empty()) {
    nlohmann::json j = {{"model", base},
                        {"precision", precision},
                        {"batch", batch},
                        {"median_ms", med},
                        {"p90_ms", p90},
                        {"p99_ms", p99},
                        {"runs", runs},
                        {"warmup", warmup},
                        {"steps", st.steps},
                        {"fused_nodes", st.fused_nodes},
                        {"step_kinds", st.step_kinds},
                        {"arena_bytes", st.arena_bytes},
                        {"weight_bytes", st.weight_bytes}};
    if (contexts > 1) {
      j["contexts"] = contexts;
      j["contexts_inferences_per_s"] = ctx_per_s;
      j["single_context_inferences_per_s"] = single_per_s;
    }
    std::ofstream(json_path, std::ios::app) << j.dump() << "\n";
  }
  return 0;
}
