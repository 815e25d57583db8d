// Pipeline figures (per-stage breakdown, end-to-end latency, throughput, overlap) and the
// Chrome trace. Definitions: docs/pipeline.md.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "profiler/stats.h"
#include "runtime/pipeline.h"

namespace ridge::runtime {

void SummarizePipeline(PipelineResult& result) {
  std::array<std::vector<double>, kNumStages> per_stage;
  std::vector<double> latency;
  double busy_ms = 0;
  for (const PipelineItem& item : result.items) {
    double first = -1;
    for (int s = 0; s < kNumStages; ++s) {
      const Interval& t = item.times[s];
      if (!t.ran()) continue;
      per_stage[s].push_back(t.duration_ms());
      busy_ms += t.duration_ms();
      if (first < 0 || t.start_ms < first) first = t.start_ms;
    }
    if (!item.skipped && first >= 0) latency.push_back(item.delivered_ms - first);
  }
  std::sort(latency.begin(), latency.end());
  result.latency_p50_ms = profiler::Percentile(latency, 50);
  result.latency_p90_ms = profiler::Percentile(latency, 90);
  result.latency_p99_ms = profiler::Percentile(latency, 99);
  result.latency_max_ms = latency.empty() ? 0 : latency.back();
  double sum = 0;
  for (double v : latency) sum += v;
  result.latency_mean_ms = latency.empty() ? 0 : sum / static_cast<double>(latency.size());
  result.throughput_fps =
      result.wall_ms > 0 ? static_cast<double>(result.frames) * 1e3 / result.wall_ms : 0;
  result.overlap = result.wall_ms > 0 ? busy_ms / result.wall_ms : 0;

  result.stages.clear();
  for (int s = 0; s < kNumStages; ++s) {
    std::vector<double>& v = per_stage[s];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    StageSummary row;
    row.stage = static_cast<Stage>(s);
    row.count = static_cast<int64_t>(v.size());
    for (double d : v) row.total_ms += d;
    row.mean_ms = row.total_ms / static_cast<double>(v.size());
    row.p50_ms = profiler::Percentile(v, 50);
    row.p99_ms = profiler::Percentile(v, 99);
    row.share = busy_ms > 0 ? row.total_ms / busy_ms : 0;
    result.stages.push_back(row);
  }
}

std::string PipelineTraceJson(const PipelineResult& result) {
  nlohmann::json events = nlohmann::json::array();
  for (int s = 0; s < kNumStages; ++s) {
    // Track names and their order (Perfetto sorts tracks by sort_index).
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"tid", s + 1},
                      {"args", {{"name", StageName(static_cast<Stage>(s))}}}});
    events.push_back({{"name", "thread_sort_index"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"tid", s + 1},
                      {"args", {{"sort_index", s}}}});
  }
  for (const PipelineItem& item : result.items) {
    for (int s = 0; s < kNumStages; ++s) {
      const Interval& t = item.times[s];
      if (!t.ran()) continue;
      events.push_back({{"name", "frame " + std::to_string(item.index)},
                        {"cat", StageName(static_cast<Stage>(s))},
                        {"ph", "X"},
                        {"pid", 1},
                        {"tid", s + 1},
                        {"ts", t.start_ms * 1e3},
                        {"dur", t.duration_ms() * 1e3},
                        {"args", {{"slot", item.slot}, {"frames", item.frames}}}});
    }
  }
  nlohmann::json trace = {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
  return trace.dump(1);
}

}  // namespace ridge::runtime
