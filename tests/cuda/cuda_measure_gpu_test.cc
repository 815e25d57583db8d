// GPU checks of the measuring tools (label cuda; skipped, saying why, without a GPU): the probe
// gives sane peaks, every ONNX node with runtime work is covered by some engine step, and
// `ridge bench --device cuda --profile --trace --json` writes what it promises.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/device_profile.h"
#include "backends/cuda/engine.h"
#include "backends/cuda/probe.h"
#include "backends/cuda/profile_join.h"
#include "gpu_skip.h"
#include "runtime/session.h"

namespace ridge::cuda {
namespace {

TEST(Probe, QuickProbeIsSane) {
  SKIP_WITHOUT_GPU();
  ProbeOptions o;
  o.quick = true;
  auto r = RunProbe(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::printf(
      "%s: HBM %.0f GB/s, fp16 TC %.0f TF/s, fp32 %.1f TF/s, graph node %.2f us, "
      "launch %.2f us, H2D %.1f GB/s, D2H %.1f GB/s, %.1f s\n",
      r->gpu_name.c_str(), r->hbm_bytes_per_s / 1e9, r->fp16_tc_flops_per_s / 1e12,
      r->fp32_flops_per_s / 1e12, r->graph_node_s * 1e6, r->launch_host_s * 1e6,
      r->h2d_bytes_per_s / 1e9, r->d2h_bytes_per_s / 1e9, r->seconds);
  EXPECT_GT(r->hbm_bytes_per_s, 100e9);
  EXPECT_GT(r->fp16_tc_flops_per_s, r->fp32_flops_per_s);
  EXPECT_GT(r->fp32_flops_per_s, 1e12);
  EXPECT_GT(r->graph_node_s, 0);
  EXPECT_LT(r->graph_node_s, 1e-4);
  EXPECT_GT(r->launches_per_s, 1e4);
  EXPECT_GT(r->h2d_bytes_per_s, 1e9);
  EXPECT_GT(r->d2h_bytes_per_s, 1e9);
  EXPECT_GT(r->sm_count, 0);
  EXPECT_LT(r->seconds, 10);
  EXPECT_TRUE(CheckProbeResult(*r).ok());
}

class StepCoverage : public ::testing::TestWithParam<std::pair<const char*, Precision>> {};

TEST_P(StepCoverage, EveryNodeWithWorkIsCoveredByAStep) {
  SKIP_WITHOUT_GPU();
  const std::string path = std::string(RIDGE_MODEL_DIR) + "/" + GetParam().first + ".onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent (scripts/export_zoo.py)";
  runtime::SessionOptions so;
  so.batch = 1;                                    // the zoo's batch dim is dynamic
  auto cpu = runtime::CpuSession::Open(path, so);  // loads and infers shapes
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  const ir::Graph& graph = (*cpu)->graph();
  EngineOptions eo;
  eo.precision = GetParam().second;
  auto engine = Engine::Build(graph, eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto times = (*engine)->ProfileSteps(3);
  ASSERT_TRUE(times.ok()) << times.status().ToString();
  ASSERT_EQ(static_cast<int>(times->size()), (*engine)->stats().steps);
  std::vector<StepSample> steps;
  double last_start = -1;
  for (const auto& t : *times) {
    if (t.kind != "copy_output") {
      ASSERT_FALSE(t.nodes.empty()) << t.kind << " " << t.node;
      EXPECT_EQ(t.nodes[0], t.node);
    }
    EXPECT_GE(t.ms, 0);
    EXPECT_GE(t.start_ms, last_start);
    last_start = t.start_ms;
    steps.push_back({t.kind, t.nodes, t.ms, t.start_ms});
  }
  auto dev = analysis::LoadDeviceProfile("h200", RIDGE_DATA_DIR);
  ASSERT_TRUE(dev.ok());
  auto joined =
      JoinStepProfile(graph, steps, &*dev, GetParam().second, (*engine)->NodesWithoutSteps());
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  std::string uncovered;
  for (const auto& n : joined->uncovered) uncovered += n + " ";
  EXPECT_TRUE(joined->uncovered.empty()) << "no step covers: " << uncovered;
  EXPECT_TRUE(joined->unknown.empty());
  EXPECT_GT(joined->measured_ms, 0);
  EXPECT_GT(joined->predicted_ms, 0);
  std::printf("%s: %zu steps, measured %.3f ms, predicted %.3f ms\n", GetParam().first,
              steps.size(), joined->measured_ms, joined->predicted_ms);
}

INSTANTIATE_TEST_SUITE_P(Zoo, StepCoverage,
                         ::testing::Values(std::make_pair("resnet50", Precision::kFp16),
                                           std::make_pair("yolov8n", Precision::kFp16),
                                           std::make_pair("mobilenet_v2", Precision::kFp32)));

TEST(BenchCli, ProfileTraceAndJson) {
  SKIP_WITHOUT_GPU();
  const std::string model = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " absent";
  auto dir = std::filesystem::temp_directory_path();
  const std::string json = (dir / "ridge_bench_cuda.json").string();
  const std::string trace = (dir / "ridge_bench_cuda_trace.json").string();
  const std::string cmd = std::string(RIDGE_CLI_PATH) + " bench " + model +
                          " --device cuda --iterations 50 --warmup-ms 50 --profile --trace " +
                          trace + " --json " + json + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str(), nullptr, false);
  };
  auto j = read(json);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["iterations"], 50);
  for (const char* k : {"enqueue_ms", "h2d_ms", "compute_ms", "d2h_ms", "latency_ms", "e2e_ms"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_GT(j[k]["median"].get<double>(), 0) << k;
    EXPECT_LE(j[k]["min"].get<double>(), j[k]["p99"].get<double>()) << k;
  }
  EXPECT_GE(j["e2e_ms"]["median"].get<double>(), j["compute_ms"]["median"].get<double>());
  EXPECT_GT(j["throughput_per_s"].get<double>(), 0);
  EXPECT_TRUE(j["profile"]["uncovered_nodes"].empty());
  EXPECT_EQ(j["profile"]["steps"].size(), j["steps"].get<size_t>());
  auto t = read(trace);
  ASSERT_FALSE(t.is_discarded());
  size_t slices = 0;
  for (const auto& e : t["traceEvents"]) slices += e["ph"] == "X";
  EXPECT_EQ(slices, j["steps"].get<size_t>());
  std::filesystem::remove(json);
  std::filesystem::remove(trace);
}

}  // namespace
}  // namespace ridge::cuda
