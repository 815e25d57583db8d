// `ridge bench --device cuda --profile [--device-profile F] [--trace F]`: the engine's steps
// run one by one (no CUDA graph, NVTX range per step), timed with events, each mapped to the
// ONNX nodes it covers and joined with the roofline prediction for those nodes.
#ifdef RIDGE_HAVE_CUDA
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "analysis/device_profile.h"
#include "backends/cuda/engine.h"
#include "backends/cuda/probe_profile.h"
#include "backends/cuda/profile_join.h"
#include "backends/cuda/trace_writer.h"
#include "bench_cuda.h"
#include "commands.h"

namespace ridge::cli {
namespace {

constexpr int kProfileRuns = 20;
constexpr size_t kRowsShown = 30;

std::string JoinNames(const std::vector<std::string>& names, size_t max_chars) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  if (s.size() > max_chars) s = s.substr(0, max_chars - 3) + "...";
  return s.empty() ? "-" : s;
}

Result<analysis::DeviceProfile> ProfileForThisGpu(const std::string& requested) {
  if (!requested.empty()) return analysis::LoadDeviceProfile(requested, DataDir());
  cudaDeviceProp prop{};
  cudaError_t e = cudaGetDeviceProperties(&prop, 0);
  if (e != cudaSuccess)
    return Internal(std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(e));
  std::string name = cuda::BuiltinProfileFor(prop.name);
  if (name.empty()) {
    return NotFound(std::string("no built-in device profile for '") + prop.name +
                    "'; measure one with `ridge probe -o F` and pass --device-profile F");
  }
  return analysis::LoadDeviceProfile(name, DataDir());
}

void PrintTable(const cuda::JoinedProfile& p) {
  std::vector<size_t> order(p.steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return p.steps[a].measured_ms > p.steps[b].measured_ms;
  });
  std::printf("%5s %-18s %-44s %10s %10s %7s %6s\n", "step", "kind", "nodes covered", "meas. us",
              "pred. us", "roof %", "share");
  for (size_t k = 0; k < std::min(order.size(), kRowsShown); ++k) {
    const cuda::JoinedStep& s = p.steps[order[k]];
    char pred[16] = "-", pct[16] = "-";
    if (s.predicted_ms >= 0) std::snprintf(pred, sizeof(pred), "%.1f", s.predicted_ms * 1e3);
    if (s.roofline_pct >= 0) std::snprintf(pct, sizeof(pct), "%.0f%%", s.roofline_pct);
    std::printf("%5d %-18s %-44s %10.1f %10s %7s %5.1f%%\n", s.index, s.kind.c_str(),
                JoinNames(s.nodes, 44).c_str(), s.measured_ms * 1e3, pred, pct, s.share * 100);
  }
  if (order.size() > kRowsShown)
    std::printf("... %zu more steps (all in --json)\n", order.size() - kRowsShown);
}

}  // namespace

Status ProfileCudaSteps(const CudaBenchOptions& o, const ir::Graph& graph, cuda::Engine& engine,
                        Precision precision, nlohmann::json* j) {
  RIDGE_ASSIGN_OR_RETURN(auto times, engine.ProfileSteps(kProfileRuns));
  std::vector<cuda::StepSample> steps;
  for (const auto& t : times) {
    std::vector<std::string> nodes = t.nodes;
    if (nodes.empty() && !t.node.empty()) nodes.push_back(t.node);
    steps.push_back({t.kind, std::move(nodes), t.ms, t.start_ms});
  }
  if (o.profile) {
    std::string note;
    auto device = ProfileForThisGpu(o.device_profile);
    if (!device.ok() && !o.device_profile.empty()) return device.status();  // asked: must load
    if (!device.ok()) note = "no prediction: " + device.status().message();
    RIDGE_ASSIGN_OR_RETURN(cuda::JoinedProfile joined,
                           cuda::JoinStepProfile(graph, steps, device.ok() ? &*device : nullptr,
                                                 precision, engine.NodesWithoutSteps()));
    std::printf(
        "\nper step (mean of %d runs without the CUDA graph, slowest first; predicted = "
        "roofline on %s)%s%s\n",
        kProfileRuns, device.ok() ? device->name.c_str() : "-", note.empty() ? "" : "; ",
        note.c_str());
    PrintTable(joined);
    std::printf(
        "steps total %.3f ms measured, %.3f ms predicted (+%.3f ms for the engine's own "
        "%s)",
        joined.measured_ms, joined.predicted_ms, joined.overhead_predicted_ms,
        "layout/copy kernels");
    if (!joined.aliased.empty())
      std::printf("; %zu nodes run as aliases (no kernel)", joined.aliased.size());
    if (!joined.uncovered.empty())
      std::printf("; nodes no step covers: %s", JoinNames(joined.uncovered, 200).c_str());
    std::printf("\n");
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : joined.steps) {
      rows.push_back({{"step", s.index},
                      {"kind", s.kind},
                      {"nodes", s.nodes},
                      {"overhead", s.overhead},
                      {"measured_ms", s.measured_ms},
                      {"predicted_ms", s.predicted_ms},
                      {"roofline_pct", s.roofline_pct},
                      {"share", s.share},
                      {"flops", s.flops},
                      {"bytes", s.bytes},
                      {"peak_flops_per_s", s.peak_flops_per_s},
                      {"gemm_m", s.gemm_m},
                      {"gemm_n", s.gemm_n},
                      {"groups", s.groups}});
    }
    (*j)["profile"] = {{"device_profile", device.ok() ? device->name : ""},
                       {"runs", kProfileRuns},
                       {"measured_ms", joined.measured_ms},
                       {"predicted_ms", joined.predicted_ms},
                       {"overhead_predicted_ms", joined.overhead_predicted_ms},
                       {"model_predicted_ms", joined.predicted_ms + joined.overhead_predicted_ms},
                       {"uncovered_nodes", joined.uncovered},
                       {"aliased_nodes", joined.aliased},
                       {"steps", rows}};
  }
  if (!o.trace_path.empty()) {
    std::vector<cuda::TraceSlice> slices;
    for (size_t i = 0; i < steps.size(); ++i) {
      const auto& s = steps[i];
      // Steps run back to back on one stream: a step lasts until the next one starts.
      double dur_ms = i + 1 < steps.size() ? steps[i + 1].start_ms - s.start_ms : s.ms;
      slices.push_back({std::to_string(i) + " " + s.kind + " " + JoinNames(s.nodes, 80),
                        s.kind,
                        s.start_ms * 1e3,
                        std::max(0.0, dur_ms) * 1e3,
                        {{"kind", s.kind}, {"nodes", JoinNames(s.nodes, 1u << 20)}}});
    }
    RIDGE_RETURN_IF_ERROR(cuda::WriteTextFile(
        o.trace_path, cuda::ChromeTraceJson(std::move(slices), "ridge bench " + o.model)));
    std::printf("trace of one profiled run written to %s\n", o.trace_path.c_str());
  }
  return Status::Ok();
}

}  // namespace ridge::cli
#endif  // RIDGE_HAVE_CUDA
