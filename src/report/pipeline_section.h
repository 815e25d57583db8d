// The "End to end (measured)" section of `ridge analyze --pipeline P.json`: reads what
// `ridge pipeline --json` wrote (docs/pipeline.md), validates it, and sets the network's
// measured share of the end-to-end stage time against decode, pre, post and the copies, next to
// the analyzer's prediction. The report layer reads the file only: it never links the runtime.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "core/status.h"

namespace ridge::report {

// One stage row of the pipeline file. share is recomputed here: total_ms / sum of total_ms.
struct PipelineStage {
  std::string stage;  // decode, pre, H2D, infer, D2H, post
  int64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, total_ms = 0;
  double share = 0;
};

struct PipelineSection {
  std::string file;   // where it was read from (for messages and the report)
  std::string model;  // the model path `ridge pipeline` ran
  std::string task, source, device, pre, post, description;
  bool naive = false;
  int64_t batch = 1, inflight = 1, frames = 0;
  double wall_ms = 0, throughput_fps = 0;
  double latency_p50_ms = 0, latency_p99_ms = 0, latency_mean_ms = 0;
  double overlap = 0;
  std::vector<PipelineStage> stages;  // in pipeline order
  std::vector<std::string> warnings;  // checks that did not fail the read (shown in reports)

  // Derived from the stages (shares of the summed stage time, 0..1).
  double total_stage_ms = 0;
  double infer_share = 0;     // the network
  double decode_share = 0;    // the frame source
  double pre_post_share = 0;  // pre + post
  double copies_share = 0;    // H2D + D2H
  double infer_mean_ms = 0;   // per item (one batch of `batch` frames)
  double outside_share() const { return pre_post_share + copies_share; }
  const PipelineStage* Find(const std::string& name) const;
};

// Parses the text of a `ridge pipeline --json` file. `what` names it in errors. Missing or
// mistyped fields, unknown or repeated stages, a missing infer stage and negative or non-finite
// figures are InvalidModel errors that name the field.
Result<PipelineSection> ParsePipelineJson(const std::string& text, const std::string& what);

// Reads and parses `path` (NotFound, IoError, LimitExceeded above 64 MiB), then checks that it
// measured `model_path`: a different model file name is InvalidArgument; the same file name at a
// different path only adds a warning.
Result<PipelineSection> LoadPipelineJson(const std::string& path, const std::string& model_path);

// Adds warnings about comparing the prediction with the measurement: a GPU prediction against a
// CPU run (or the reverse) and a batch that differs from the analyzed one.
void CheckAgainstAnalysis(const analysis::Analysis& a, int64_t analyzed_batch, PipelineSection* p);

// measured infer mean / predicted network time (0 when the prediction is 0).
double MeasuredOverPredicted(const analysis::Analysis& a, const PipelineSection& p);
// "pre+post+copies = 38% of end-to-end stage time: more than the network's 31%" and the like.
std::string PipelineTakeaway(const PipelineSection& p);

// Renderings of the section; the analysis overloads in analysis_report.h call these.
std::string RenderPipelineText(const analysis::Analysis& a, const PipelineSection& p);
std::string RenderPipelineHtml(const analysis::Analysis& a, const PipelineSection& p);
// The "pipeline" object of the analysis JSON (keys: docs/metrics.md).
nlohmann::json PipelineJsonObject(const analysis::Analysis& a, const PipelineSection& p);

}  // namespace ridge::report
