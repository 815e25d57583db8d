// Pieces shared by the CPU (pipeline_vision.cc) and CUDA (pipeline_cuda.cc) vision pipelines.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/pipeline_vision.h"

namespace ridge::runtime::internal {

// What the pipeline needs to know about the model once its batch is bound.
struct ModelIo {
  std::string input_name;
  std::vector<int64_t> input_dims;   // [batch, 3, H, W]
  std::vector<int64_t> output_dims;  // first output: [batch, rows, anchors] or [batch, classes]
  std::string task;
  vision::PreprocessSpec spec;
};

// Checks the input is [batch, 3, H, W], picks the task and the spec (options or defaults), and
// checks the spec's output size matches H x W.
Result<ModelIo> ResolveModelIo(const VisionPipelineOptions& options, std::string input_name,
                               std::vector<int64_t> input_dims, std::vector<int64_t> output_dims);

// The frames of one item (batch), as decoded by the decode stage.
struct DecodedBatch {
  std::vector<vision::Frame> frames;  // valid frames, in order
  std::vector<FrameResult> results;   // one per source frame of the item, bad ones marked
  std::vector<vision::ResizeGeometry> geometry;  // per valid frame (set by pre)
};

// Reads the source frames of item `index` (batch frames each, the last item may be short).
// A frame that fails is an error naming it, or with skip_bad a FrameResult marked bad; an item
// with no valid frame is marked skipped.
Status DecodeItem(vision::FrameSource& source, PipelineItem& item, int batch, int64_t total_frames,
                  bool skip_bad, DecodedBatch* out, std::atomic<int64_t>* bad_frames);

// CPU post-processing of the valid frames of a batch; `output` holds the whole batch's first
// output (fp32, [batch, ...] as output_dims).
Status PostprocessCpu(const ModelIo& io, const VisionPipelineOptions& options, const float* output,
                      DecodedBatch* batch);

// Moves the item's results into the run, in order (delivery).
void CollectResults(DecodedBatch* batch, VisionPipelineRun* run);

#ifdef RIDGE_HAVE_CUDA
// pipeline_cuda.cc.
Result<VisionPipelineRun> RunVisionPipelineCuda(const VisionPipelineOptions& options,
                                                vision::FrameSource& source, int64_t num_frames);
#endif

}  // namespace ridge::runtime::internal
