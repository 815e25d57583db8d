// `ridge bench MODEL --device cuda [--precision fp16|fp32] [--batch N] [--iterations N]
// [--json F]`: the CUDA engine's captured graph replay timed with CUDA events (median, p90,
// p99 over >= 200 replays after 50 warm-up replays). Built only with the CUDA backend.
#ifdef RIDGE_HAVE_CUDA
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backends/cuda/engine.h"
#include "commands.h"
#include "onnx/loader.h"
#include "ops/shape_inference.h"
#include "runtime/session.h"

namespace ridge::cli {

Status BenchCuda(const std::string& model, int64_t batch, const std::string& precision,
                 int64_t iterations, const std::string& json_path) {
  if (precision != "fp16" && precision != "fp32")
    return InvalidArgument("--precision must be fp16 or fp32 for --device cuda");
  RIDGE_ASSIGN_OR_RETURN(ir::Graph graph, onnx::LoadModel(model));
  ops::InferOptions infer;
  infer.batch = batch;
  RIDGE_RETURN_IF_ERROR(ops::InferShapes(graph, infer));
  cuda::EngineOptions options;
  options.precision = precision == "fp16" ? Precision::kFp16 : Precision::kFp32;
  RIDGE_ASSIGN_OR_RETURN(auto engine, cuda::Engine::Build(graph, options));
  RIDGE_ASSIGN_OR_RETURN(auto inputs, runtime::RandomInputs(graph, 0));
  RIDGE_RETURN_IF_ERROR(engine->Run(inputs).status());
  const int runs = static_cast<int>(std::max<int64_t>(iterations, 200));
  RIDGE_ASSIGN_OR_RETURN(std::vector<double> ms, engine->TimeReplays(50, runs));
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[static_cast<size_t>(p * (ms.size() - 1) + 0.5)]; };
  std::printf(
      "%s on cuda (%s, batch %lld): median %.3f ms, p90 %.3f, p99 %.3f over %d graph "
      "replays (%d steps)\n",
      model.c_str(), precision.c_str(), static_cast<long long>(batch), pct(0.5), pct(0.9),
      pct(0.99), runs, engine->stats().steps);
  if (!json_path.empty()) {
    nlohmann::json j = {{"model", model},     {"device", "cuda"},   {"precision", precision},
                        {"batch", batch},     {"runs", runs},       {"median_ms", pct(0.5)},
                        {"p90_ms", pct(0.9)}, {"p99_ms", pct(0.99)}};
    std::ofstream out(json_path);
    if (!(out << j.dump(1) << "\n")) return IoError("cannot write '" + json_path + "'");
  }
  return Status::Ok();
}

}  // namespace ridge::cli
#endif  // RIDGE_HAVE_CUDA
