// The pipeline scheduler: items (a frame, or a batch of frames) flow through an ordered list of
// stages (decode -> pre -> H2D -> infer -> D2H -> post), with up to `inflight` items in the
// pipeline at once. Each stage runs on its own thread and takes items in order, so stage s of
// item k overlaps stage s+1 of item k-1 and results come out in order by construction.
//
// Each item owns a slot (0 .. inflight-1) for its whole trip; stage functions keep per-slot
// buffers (pinned host memory, device frames, CUDA events) indexed by it. A slot is reused only
// after its item has been delivered, so no buffer is overwritten while in use.
//
// Stages are plain std::function, so tests drive the scheduler with fake CPU stages, the CLI
// with CPU or GPU ones. A GPU stage only enqueues work and records CUDA events; it sets
// `self_timed` and writes its interval itself once the events have completed (a later stage
// synchronizes), so the breakdown shows device time, not enqueue time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace ridge::runtime {

enum class Stage { kDecode = 0, kPre, kH2D, kInfer, kD2H, kPost };
inline constexpr int kNumStages = 6;
const char* StageName(Stage stage);

// Milliseconds since the pipeline started (host steady_clock). end < 0: the stage did not run.
struct Interval {
  double start_ms = -1, end_ms = -1;
  bool ran() const { return end_ms >= 0; }
  double duration_ms() const { return ran() ? end_ms - start_ms : 0; }
};

struct PipelineItem {
  int64_t index = 0;  // 0 .. num_items-1, the order of delivery
  int slot = 0;       // 0 .. inflight-1
  int frames = 1;     // frames this item carries (batch), for throughput
  // A stage may set this (e.g. decode with --skip-bad): later stages do not run on the item,
  // which is still delivered (in order) so the caller can count it.
  bool skipped = false;
  std::array<Interval, kNumStages> times;
  double created_ms = 0;    // when the feeder issued it (a slot was free)
  double delivered_ms = 0;  // when the sink got it
};

struct StageDef {
  Stage stage = Stage::kDecode;
  std::function<Status(PipelineItem&)> run;
  // The function writes item.times[stage] itself (GPU stages timed with CUDA events); otherwise
  // the scheduler times the call with steady_clock.
  bool self_timed = false;
};

struct PipelineOptions {
  int inflight = 2;         // items in the pipeline at once (slots), 1 .. 64
  int64_t num_items = 0;    // items to run
  int frames_per_item = 1;  // frames per item (the last one may carry fewer)
  int64_t num_frames = -1;  // total frames (default num_items * frames_per_item)
  // Run every stage of an item before starting the next item, on the calling thread: the naive
  // sequential pipeline, for comparison.
  bool sequential = false;
  // Time zero of every Interval; default: when RunPipeline starts. GPU stages set it to the
  // moment a reference CUDA event completed, so event times map onto the same clock.
  std::chrono::steady_clock::time_point clock_start{};
};

struct StageSummary {
  Stage stage = Stage::kDecode;
  int64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, total_ms = 0;
  double share = 0;  // total_ms / sum of all stages' total_ms
};

struct PipelineResult {
  std::vector<PipelineItem> items;  // delivered items, in order
  int64_t delivered = 0, skipped = 0, frames = 0;
  double wall_ms = 0;
  double throughput_fps = 0;  // delivered, non-skipped frames per wall second
  double latency_p50_ms = 0, latency_p90_ms = 0, latency_p99_ms = 0, latency_mean_ms = 0,
         latency_max_ms = 0;         // end to end: first stage start to delivery, per item
  std::vector<StageSummary> stages;  // the stages that ran, in pipeline order
  // Sum of stage busy time / wall time: 1.0 means no overlap at all (or one stage busy all the
  // time), up to the number of stages when every stage is busy all the time.
  double overlap = 0;
};

// Runs the pipeline. `deliver` is called for each item in order (on a scheduler thread), after
// the last stage. When a stage fails on item k, no new items start, items before k still finish
// and are delivered (none lost), items after k are drained without running or being delivered,
// every thread ends, and the Status of the earliest failed item (naming it) is returned.
Result<PipelineResult> RunPipeline(const PipelineOptions& options,
                                   const std::vector<StageDef>& stages,
                                   const std::function<Status(const PipelineItem&)>& deliver);

// Fills the summary fields of `result` from result.items and wall_ms.
void SummarizePipeline(PipelineResult& result);

// Chrome trace (JSON array of complete events; Perfetto reads it): one track (tid) per stage,
// one slice per item and stage, named "frame <index>".
std::string PipelineTraceJson(const PipelineResult& result);

}  // namespace ridge::runtime
