// Preprocessing baked into an engine (`ridge build --preprocess SPEC [--frame-size WxH]`): the
// engine takes uint8 interleaved frames [N, H, W, 3] of one size fixed at build time (in the
// spec's input channel order) and runs resize / channel swap / normalization (vision's
// PreprocessSpec) before the model. The spec and frame size are stored in the engine file's
// preprocess section (type 3, JSON) and validated again when the file is loaded.
//
// CPU: Halide (vision::PreprocessHalide) or the reference, frame by frame, into the executor's
// float input. CUDA (engine_runner_cuda.cc): vision::cuda::GpuPreprocessor writes the engine's
// input buffer on the engine's stream right before Engine::Enqueue.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/preprocess.h"

namespace ridge::runtime {

inline constexpr int kMaxFrameSide = 16384;                       // vision's decode cap per side
inline constexpr int64_t kMaxFrameBatchBytes = int64_t{1} << 31;  // N * H * W * 3

struct PreprocessConfig {
  vision::PreprocessSpec spec;  // spec.type as the model input's dtype
  int frame_width = 1920;
  int frame_height = 1080;

  // {"format": "ridge-preprocess/1", "spec": "<canonical text>", "frame_width", "frame_height"}.
  std::string ToJson() const;
  std::vector<int64_t> FrameDims(int64_t batch) const {
    return {batch, frame_height, frame_width, 3};
  }
};

// "1920x1080" -> 1920, 1080; each side in [1, kMaxFrameSide].
Status ParseFrameSize(std::string_view text, int* width, int* height);

// Parses the --preprocess text and checks it fits the model input: dims [N, 3, H, W] with H x W
// the spec's output size, layout nchw, spec type fp32 for a float32 input (fp16 for float16),
// and the frame batch N * H * W * 3 at most kMaxFrameBatchBytes.
Result<PreprocessConfig> MakePreprocessConfig(std::string_view spec_text, int frame_width,
                                              int frame_height,
                                              const std::vector<int64_t>& input_dims,
                                              DType input_dtype);

// A preprocess section read from a file: parsed and checked again (the file is input).
Result<PreprocessConfig> ParsePreprocessJson(std::string_view json,
                                             const std::vector<int64_t>& input_dims,
                                             DType input_dtype);

// Checks `frames` is uint8 [batch, frame_height, frame_width, 3].
Status CheckFrames(const Tensor& frames, const PreprocessConfig& config, int64_t batch);

// Preprocesses every frame of `frames` (checked) into `out`, float32 or float16 [N, 3, h, w]
// as config.spec.type says (allocated here). Halide when `use_halide` and built in.
Status PreprocessFramesCpu(const Tensor& frames, const PreprocessConfig& config, bool use_halide,
                           Tensor* out);

}  // namespace ridge::runtime
