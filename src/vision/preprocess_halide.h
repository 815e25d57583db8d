// CPU preprocessing through the ahead-of-time compiled Halide pipeline
// (src/vision/halide/preprocess_generator.cc). Same contract and same arithmetic as
// PreprocessReference (vision/preprocess.h); the tests compare the two value by value.
//
// Built when CMake finds Halide (RIDGE_HAVE_HALIDE=1); otherwise PreprocessHalide returns
// Unsupported. Each variant holds an AVX-512 and an AVX2 build chosen at run time from the CPU's
// features, so the binary runs on any x86-64 with AVX2.
#pragma once

#include "core/status.h"
#include "vision/image_decode.h"
#include "vision/preprocess.h"

namespace ridge::vision {

// True when this build contains the Halide pipeline.
bool HalidePreprocessAvailable();

// Writes spec.OutputElements() values of spec.type to `out` (one frame), like
// PreprocessReference. The pipeline fills the content box; the pad bands around a letterbox are
// constant and are filled with plain stores.
Status PreprocessHalide(const Image& image, const PreprocessSpec& spec, void* out);

// Threads Halide's pool may use for the rows of one frame (process-wide; Halide has one pool).
// 0 restores Halide's default (HL_NUM_THREADS, else the number of cores). Returns the previous
// setting. Fails with Unsupported when Halide is not built in, InvalidArgument when < 0.
Result<int> SetHalidePreprocessThreads(int num_threads);

}  // namespace ridge::vision
