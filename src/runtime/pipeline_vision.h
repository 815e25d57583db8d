// A vision pipeline on a model: frames from a FrameSource are decoded, preprocessed, run through
// the network and post-processed (YOLOv8 detection or classification top-k), with the scheduler
// of pipeline.h overlapping the stages. `ridge pipeline` is a thin CLI over RunVisionPipeline.
//
// Devices: "cpu" (CpuSession; CPU pre and post) and, when built with CUDA, "cuda" (the CUDA
// engine's captured graph; pre and post on the CPU or the GPU, copies on their own streams).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/pipeline.h"
#include "vision/frame_source.h"
#include "vision/postprocess.h"
#include "vision/preprocess.h"

namespace ridge::runtime {

struct VisionPipelineOptions {
  std::string model_path;
  std::string device = "cpu";      // cpu | cuda
  std::string pre = "cpu";         // cpu | gpu (gpu needs device cuda)
  std::string post = "cpu";        // cpu | gpu (gpu needs device cuda)
  std::string task;                // detect | classify; empty: from the model's output shape
  std::string preprocess;          // PreprocessSpec text; empty: the task's default
  std::string precision = "fp16";  // cuda engine precision
  int batch = 1;                   // frames per inference
  int inflight = 2;                // items (batches) in the pipeline at once
  int threads = 0;                 // CPU backend threads; 0: all cores
  int64_t max_frames = -1;         // stop after this many source frames; -1: all
  // The naive baseline: one frame at a time on one thread, nothing overlapped: `naive_pre` (or
  // the reference preprocessing), inference (CPU, or the CUDA engine), CPU post.
  bool naive = false;
  bool skip_bad = false;  // a frame that fails to decode is counted and skipped, not an error
  int top_k = 5;          // classify
  vision::YoloOptions yolo;
  // The naive baseline's preprocessing of one frame into `out` (spec.OutputElements() values of
  // spec.type: fp16 for an fp16 engine, so a cast to fp16 is part of its time). The runtime never
  // links OpenCV: the CLI injects OpenCV's (vision/opencv_peer.h) when it is built with it.
  // Empty: PreprocessReference. Called from one thread, once per frame, in frame order.
  std::function<Status(const vision::Image&, const vision::PreprocessSpec&, void* out)> naive_pre;
  std::string naive_pre_name = "reference";  // what naive_pre is, for the report ("opencv")
};

struct FrameResult {
  int64_t frame_id = 0;
  std::string name;
  int width = 0, height = 0;
  bool bad = false;  // failed to decode (--skip-bad)
  std::vector<vision::Detection> detections;
  std::vector<vision::Classification> top;
};

struct VisionPipelineRun {
  std::string task;  // detect | classify
  vision::PreprocessSpec spec;
  std::string description;  // what ran where, one line
  std::string naive_pre;    // naive runs: the preprocessing that ran ("opencv", "reference")
  PipelineResult timing;
  std::vector<FrameResult> frames;  // in source order
  int64_t bad_frames = 0;
};

// Task defaults: yolov8-like outputs [N, 4 + classes, anchors] -> detect, letterbox to the input
// size, bgr2rgb, scale=1/255; [N, classes] -> classify, centercrop=<W>@<W*8/7>, bgr2rgb,
// scale=1/255, ImageNet mean/std.
std::string DefaultPreprocessSpec(const std::string& task, int64_t width, int64_t height);
// From the first output's dims (batch included): "detect", "classify", or an error.
Result<std::string> TaskFromOutputDims(const std::vector<int64_t>& dims);

Result<VisionPipelineRun> RunVisionPipeline(const VisionPipelineOptions& options,
                                            vision::FrameSource& source);

}  // namespace ridge::runtime
