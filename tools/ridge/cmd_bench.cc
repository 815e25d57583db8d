// `ridge bench MODEL --device cpu [--batch N] [--threads N] [--warmup-ms] [--duration-s]
// [--iterations N] [--json F] [--profile]`: times the CPU backend the way docs/metrics.md and
// BENCHMARKS.md define (warm-up, then min/median/mean/p90/p99/max, throughput, CV). An engine
// file runs on the backend it names; one with preprocessing baked in is timed end to end
// (synthetic uint8 frame -> preprocessing -> model -> outputs on the host) per run.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "analysis/cost_model.h"
#include "analysis/device_profile.h"
#include "analysis/roofline.h"
#include "bench_cuda.h"
#include "commands.h"
#include "profiler/stats.h"
#include "runtime/engine_runner.h"
#include "runtime/session.h"

namespace ridge::cli {
namespace {

struct BenchFlags {
  std::string model;
  std::string device;  // "" = cpu, or the backend an engine file names
  int64_t batch = 0;   // 0: 1, or the batch an engine file was built for
  int threads = 0;
  double warmup_ms = 200;
  double duration_s = 3;
  int64_t iterations = 0;          // 0: at least 200 runs or duration_s, whichever comes first
  std::string precision = "fp16";  // --device cuda only
  std::string json_path;
  bool profile = false;
  bool progress = false;
  std::string trace_path;      // --device cuda only
  std::string device_profile;  // --device cuda only
  std::string timing_cache;    // --device cuda only
  bool no_timing_cache = false;
  bool verbose = false;
  bool allow_cpu_fallback = false;  // --device cuda only
};

struct LayerRow {
  std::string label, op_type;
  double ms = 0, predicted_ms = -1;
  double flops = 0, bytes = 0;
};

// Joins measured kernel times with the analyzer's CPU roofline prediction for the same nodes.
std::vector<LayerRow> JoinProfile(const runtime::CpuSession& session,
                                  const std::vector<cpu::LayerTime>& layers, int64_t runs,
                                  std::string* note) {
  std::vector<LayerRow> rows;
  std::map<std::string, analysis::NodeRecord> by_name;
  auto costs = analysis::ComputeCosts(session.graph(), Precision::kFp32);
  auto device = analysis::LoadDeviceProfile("cpu", DataDir());
  if (costs.ok()) {
    for (const auto& rec : costs->nodes) by_name[rec.name] = rec;
  }
  if (!costs.ok()) *note = "no prediction: " + costs.status().ToString();
  if (!device.ok()) *note = "no prediction: " + device.status().ToString();
  for (const auto& l : layers) {
    LayerRow row{l.label, l.op_type, l.total_ms / static_cast<double>(runs)};
    if (costs.ok() && device.ok() && !l.node_names.empty()) {
      for (const auto& n : l.node_names) {
        auto it = by_name.find(n);
        if (it == by_name.end()) continue;
        row.flops += it->second.cost.flops;
        row.bytes += it->second.cost.total_bytes();
      }
      auto pred = analysis::PredictKernel(row.flops, row.bytes,
                                          device->PeakFlopsPerS(Precision::kFp32), *device);
      row.predicted_ms = pred.time_s * 1e3;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// A preprocessed engine (cpu or cuda): whole runs timed on the host, a synthetic frame each.
Status BenchEngineRunner(const BenchFlags& f) {
  if (f.profile || !f.trace_path.empty() || !f.device_profile.empty())
    return InvalidArgument("--profile, --trace, --device-profile: not for preprocessed engines");
  runtime::EngineRunnerOptions options;
  options.cpu_threads = f.threads;
  RIDGE_ASSIGN_OR_RETURN(auto runner, runtime::OpenEngineRunner(f.model, options));
  const int64_t batch = runner->header().batch;
  if (f.batch > 0 && f.batch != batch) {
    return InvalidArgument(f.model + ": the engine was built for batch " + std::to_string(batch) +
                           "; rebuild it with --batch " + std::to_string(f.batch));
  }
  RIDGE_ASSIGN_OR_RETURN(auto inputs, runtime::RandomRunnerInputs(*runner, 0));
  profiler::Timer warm;
  int64_t warm_runs = 0;
  while ((warm_runs < 20 || warm.ElapsedMs() < f.warmup_ms) && warm.ElapsedMs() < 60'000) {
    RIDGE_RETURN_IF_ERROR(runner->Run(inputs).status());
    ++warm_runs;
  }
  std::vector<double> samples;
  profiler::Timer total;
  while (true) {
    profiler::Timer t;
    RIDGE_RETURN_IF_ERROR(runner->Run(inputs).status());
    samples.push_back(t.ElapsedMs());
    const auto n = static_cast<int64_t>(samples.size());
    const double elapsed_s = total.ElapsedMs() / 1e3;
    if (f.iterations > 0 ? n >= f.iterations : (n >= 200 || elapsed_s >= f.duration_s)) break;
  }
  auto s = profiler::ComputeStats(samples, std::max<int64_t>(batch, 1));
  std::printf("engine %s  batch %lld  %s\n", f.model.c_str(), static_cast<long long>(batch),
              runner->description().c_str());
  std::printf(
      "runs %lld (after %lld warm-up runs); each: uint8 frames from host memory, "
      "preprocessing, model, outputs to host fp32\n",
      static_cast<long long>(s.num_samples), static_cast<long long>(warm_runs));
  std::printf("latency ms: min %.3f  median %.3f  mean %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
              s.min_ms, s.median_ms, s.mean_ms, s.p90_ms, s.p99_ms, s.max_ms);
  std::printf("throughput %.1f frames/s   CV %.1f%%%s\n", s.throughput_per_s, s.cv * 100,
              s.unstable ? "   UNSTABLE (CV > 10%): not a reliable number" : "");
  if (f.json_path.empty()) return Status::Ok();
  nlohmann::json j = {{"model", f.model},
                      {"device", runner->header().backend},
                      {"engine", runner->description()},
                      {"batch", batch},
                      {"runs", s.num_samples},
                      {"warmup_runs", warm_runs},
                      {"latency_ms",
                       {{"min", s.min_ms},
                        {"median", s.median_ms},
                        {"mean", s.mean_ms},
                        {"p90", s.p90_ms},
                        {"p99", s.p99_ms},
                        {"max", s.max_ms},
                        {"stddev", s.stddev_ms}}},
                      {"throughput_per_s", s.throughput_per_s},
                      {"cv", s.cv},
                      {"unstable", s.unstable}};
  std::ofstream out(f.json_path);
  if (!(out << j.dump(2) << "\n")) return IoError("cannot write '" + f.json_path + "'");
  return Status::Ok();
}

Status Bench(const BenchFlags& flags) {
  BenchFlags f = flags;
  if (runtime::IsEngineFile(f.model)) {
    RIDGE_ASSIGN_OR_RETURN(auto summary, runtime::InspectEngineFile(f.model));
    if (!f.device.empty() && f.device != summary.header.backend) {
      return InvalidArgument("--device " + f.device + ": " + f.model + " is a " +
                             summary.header.backend + " engine (the file says which backend)");
    }
    if (summary.has_preprocess) return BenchEngineRunner(f);
    f.device = summary.header.backend;
    if (f.batch == 0) f.batch = std::max<int64_t>(summary.header.batch, 1);
    if (f.device == "cuda") f.precision = summary.header.precision;
  }
  if (f.device.empty()) f.device = "cpu";
  if (f.batch == 0) f.batch = 1;
#ifdef RIDGE_HAVE_CUDA
  if (f.device == "cuda") {
    // cmd_bench_cuda.cc: pinned H2D, graph replay, D2H per iteration; --profile per step. An
    // engine file is loaded there (checked against this GPU) and rebuilt.
    return BenchCuda({f.model, f.batch, f.precision, f.warmup_ms, f.duration_s, f.iterations,
                      f.json_path, f.profile, f.trace_path, f.device_profile, f.progress,
                      f.timing_cache, f.no_timing_cache, f.verbose, f.allow_cpu_fallback});
  }
#endif
  if (!f.trace_path.empty() || !f.device_profile.empty())
    return InvalidArgument("--trace and --device-profile apply to --device cuda only");
  if (f.allow_cpu_fallback)
    return InvalidArgument("--allow-cpu-fallback applies to --device cuda only");
  if (f.device != "cpu") {
    return Unsupported("--device " + f.device + ": this build benchmarks the cpu backend only");
  }
  if (f.batch <= 0) return InvalidArgument("--batch must be positive");
  if (f.threads < 0 || f.warmup_ms < 0 || f.duration_s <= 0 || f.iterations < 0) {
    return InvalidArgument("--threads, --warmup-ms, --duration-s, --iterations must be >= 0");
  }
  int threads = f.threads > 0 ? f.threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  runtime::SessionOptions options;
  options.batch = f.batch;
  options.cpu.num_threads = threads;
  options.cpu.profile = f.profile;
  RIDGE_ASSIGN_OR_RETURN(auto session, runtime::CpuSession::Open(f.model, options));
  RIDGE_ASSIGN_OR_RETURN(auto inputs, runtime::RandomInputs(session->graph(), 0));

  // Warm-up: at least warmup_ms and 20 runs (BENCHMARKS.md).
  profiler::Timer warm;
  int64_t warm_runs = 0;
  while (warm_runs < 20 || warm.ElapsedMs() < f.warmup_ms) {
    RIDGE_ASSIGN_OR_RETURN(auto out, session->Run(inputs));
    ++warm_runs;
    if (warm.ElapsedMs() > 60'000) break;  // a very slow model: a minute of warm-up is enough
  }
  session->executor().ResetProfile();
  const bool show_progress = f.progress || isatty(STDERR_FILENO);
  std::vector<double> samples;
  profiler::Timer total;
  double last_progress = 0;
  while (true) {
    profiler::Timer t;
    RIDGE_ASSIGN_OR_RETURN(auto out, session->Run(inputs));
    samples.push_back(t.ElapsedMs());
    double elapsed_s = total.ElapsedMs() / 1e3;
    auto n = static_cast<int64_t>(samples.size());
    if (show_progress && elapsed_s - last_progress >= 0.5) {
      last_progress = elapsed_s;
      std::fprintf(stderr, "\rbench: %lld runs, %.1f s", static_cast<long long>(n), elapsed_s);
    }
    if (f.iterations > 0 ? n >= f.iterations : (n >= 200 || elapsed_s >= f.duration_s)) break;
  }
  if (show_progress && last_progress > 0) std::fprintf(stderr, "\n");
  auto s = profiler::ComputeStats(samples, f.batch);
  const auto& mem = session->executor().memory_stats();

  std::printf("model %s  batch %lld  threads %d  device cpu\n", f.model.c_str(),
              static_cast<long long>(f.batch), threads);
  std::printf("runs %lld (after %lld warm-up runs)\n", static_cast<long long>(s.num_samples),
              static_cast<long long>(warm_runs));
  std::printf("latency ms: min %.3f  median %.3f  mean %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
              s.min_ms, s.median_ms, s.mean_ms, s.p90_ms, s.p99_ms, s.max_ms);
  std::printf("throughput %.1f items/s   CV %.1f%%%s\n", s.throughput_per_s, s.cv * 100,
              s.unstable ? "   UNSTABLE (CV > 10%): not a reliable number" : "");
  std::printf("activation memory: %.2f MiB planned (%.2f MiB without reuse, %lld buffers)\n",
              mem.planned_bytes / 1048576.0, mem.naive_bytes / 1048576.0,
              static_cast<long long>(mem.num_buffers));
  auto counts = session->executor().KernelCounts();
  std::printf("kernels:");
  for (const auto& [k, n] : counts) std::printf(" %s %d", k.c_str(), n);
  std::printf("\n");

  nlohmann::json j;
  j["model"] = f.model;
  j["device"] = "cpu";
  j["batch"] = f.batch;
  j["threads"] = threads;
  j["runs"] = s.num_samples;
  j["warmup_runs"] = warm_runs;
  j["latency_ms"] = {{"min", s.min_ms},      {"median", s.median_ms}, {"mean", s.mean_ms},
                     {"p90", s.p90_ms},      {"p99", s.p99_ms},       {"max", s.max_ms},
                     {"stddev", s.stddev_ms}};
  j["throughput_per_s"] = s.throughput_per_s;
  j["cv"] = s.cv;
  j["unstable"] = s.unstable;
  j["memory"] = {{"planned_bytes", mem.planned_bytes},
                 {"naive_bytes", mem.naive_bytes},
                 {"num_buffers", mem.num_buffers}};
  j["kernels"] = counts;

  if (f.profile) {
    std::string note;
    auto rows = JoinProfile(*session, session->executor().Profile(), s.num_samples, &note);
    double sum = 0;
    for (const auto& r : rows) sum += r.ms;
    std::vector<size_t> order(rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return rows[a].ms > rows[b].ms; });
    std::printf(
        "\nper-layer (mean per run, slowest first; predicted = roofline on "
        "data/devices/cpu.json)%s%s\n",
        note.empty() ? "" : "; ", note.c_str());
    std::printf("%-44s %-22s %9s %6s %12s\n", "kernel", "op", "ms", "%", "predicted ms");
    for (size_t i = 0; i < std::min<size_t>(order.size(), 25); ++i) {
      const auto& r = rows[order[i]];
      std::string label = r.label.size() > 43 ? r.label.substr(0, 40) + "..." : r.label;
      std::string pred = r.predicted_ms >= 0 ? std::to_string(r.predicted_ms).substr(0, 8) : "-";
      std::printf("%-44s %-22s %9.4f %5.1f%% %12s\n", label.c_str(), r.op_type.c_str(), r.ms,
                  sum > 0 ? 100 * r.ms / sum : 0, pred.c_str());
    }
    if (order.size() > 25) std::printf("... %zu more kernels\n", order.size() - 25);
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& r : rows) {
      layers.push_back({{"kernel", r.label},
                        {"op", r.op_type},
                        {"ms", r.ms},
                        {"predicted_ms", r.predicted_ms},
                        {"flops", r.flops},
                        {"bytes", r.bytes}});
    }
    j["layers"] = layers;
  }
  if (!f.json_path.empty()) {
    std::ofstream out(f.json_path);
    if (!out) return IoError("cannot create '" + f.json_path + "'");
    out << j.dump(2) << "\n";
    if (!out) return IoError("cannot write '" + f.json_path + "'");
  }
  return Status::Ok();
}

}  // namespace

Command RegisterBench(CLI::App& parent) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* app = parent.add_subcommand("bench", "Benchmark a model (latency statistics)");
  app->add_option("model", f->model, "ONNX model or engine file (ridge build)")->required();
  app->add_option("--device", f->device,
                  "cpu (default) or cuda (when built with CUDA); engine files: the file's");
  app->add_option("--batch", f->batch, "Batch size (default 1; engine files: as built)");
  app->add_option("--precision", f->precision, "fp16 (default) or fp32; --device cuda only");
  app->add_option("--threads", f->threads, "Intra-op threads (default: all cores)");
  app->add_option("--warmup-ms", f->warmup_ms, "Warm-up time (default 200; at least 20 runs)");
  app->add_option("--duration-s", f->duration_s,
                  "Timed phase: stops after 200 runs or this many seconds (default 3)");
  app->add_option("--iterations", f->iterations, "Exact number of timed runs (overrides)");
  app->add_option("--json", f->json_path, "Write the results as JSON");
  app->add_flag("--profile", f->profile, "Per-layer times joined with the roofline prediction");
  app->add_flag("--progress", f->progress, "Show progress on stderr even when not a tty");
  app->add_option("--trace", f->trace_path,
                  "--device cuda: write a Chrome/Perfetto trace of one profiled run");
  app->add_option("--device-profile", f->device_profile,
                  "--device cuda: profile for --profile predictions (name or ridge probe file)");
  app->add_option("--timing-cache", f->timing_cache,
                  "--device cuda: tactic timing cache file (default "
                  "$XDG_CACHE_HOME or ~/.cache/ridge/timing_cache.json)");
  app->add_flag("--no-timing-cache", f->no_timing_cache,
                "--device cuda: time every tactic; read and write no cache file");
  app->add_flag("--verbose", f->verbose,
                "--device cuda: the engine build log (each conv/GEMM's tactic and its time)");
  app->add_flag("--allow-cpu-fallback", f->allow_cpu_fallback,
                "--device cuda: run nodes without a GPU kernel on the CPU (copies and host "
                "syncs per run, reported; engine files: as built)");
  return {app, [f] {
            Status st = Bench(*f);
            return st.ok() ? 0 : ReportError("bench", st);
          }};
}

}  // namespace ridge::cli
