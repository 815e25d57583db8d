// Pieces shared by the CPU (pipeline_vision.cc) and CUDA (pipeline_cuda.cc) vision pipelines.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
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

// Runs the frames of one batch on a few threads: the calling thread plus `threads - 1`
// workers that live as long as the pool. ParallelFor is called from one thread at a time (the
// decode stage).
class DecodePool {
 public:
  explicit DecodePool(int threads);
  ~DecodePool();
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;
  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(i) once for every i in [0, n), on any of the threads; returns when all are done.
  void ParallelFor(int n, const std::function<void(int)>& fn);

 private:
  void Work();
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0, next_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

// Decode threads for a batch: min(batch, 4, hardware threads), at least 1.
int DecodeThreads(int batch);

// The frames of one item (batch), as decoded by the decode stage. Kept per slot and reused from
// item to item, so frame buffers are not reallocated.
struct DecodedBatch {
  // Buffers, one per batch position; the first num_valid hold this item's valid frames in
  // order. Frames read with ReadInto hold only their size and order (no data).
  std::vector<vision::Frame> frames;
  int num_valid = 0;
  std::vector<int64_t> offsets;      // ReadInto: where each valid frame starts in the buffer
  std::vector<FrameResult> results;  // one per source frame of the item, bad ones marked
  std::vector<vision::ResizeGeometry> geometry;  // per valid frame (set by pre)
  std::vector<Status> status;                    // per batch position (scratch)
};

// Where the decode stage writes pixels: nowhere (each Frame's own buffer) or, with ReadInto,
// batch position p at dst + p * frame_stride (the GPU path's pinned staging).
struct DecodeTarget {
  uint8_t* dst = nullptr;
  int64_t frame_stride = 0;
};

// Reads the source frames of item `index` (batch frames each, the last item may be short),
// spread over `pool` (null: this thread). A frame that fails is an error naming it (the first
// failing frame in order), or with skip_bad a FrameResult marked bad; an item with no valid
// frame is marked skipped.
Status DecodeItem(vision::FrameSource& source, PipelineItem& item, int batch, int64_t total_frames,
                  bool skip_bad, DecodePool* pool, const DecodeTarget& target, DecodedBatch* out,
                  std::atomic<int64_t>* bad_frames);

// The preprocessing of one frame for a CPU pre stage: naive_pre (or the reference) for naive
// runs, Halide when built, else the reference. `name` says which.
struct CpuPreprocess {
  std::function<Status(const vision::Image&, const vision::PreprocessSpec&, void*)> run;
  std::string name;
};
CpuPreprocess ChooseCpuPreprocess(const VisionPipelineOptions& options);

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
