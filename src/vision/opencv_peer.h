// OpenCV's preprocessing, written the way deployment code usually writes it: cv::resize
// (INTER_LINEAR) + cv::copyMakeBorder (letterbox), a centre ROI of the resized frame
// (centercrop) or a plain resize (stretch), then the steps of cv::dnn::blobFromImage (channel
// swap, float, scale / mean / std, HWC -> CHW). fp16 output: float32 first, then convertTo
// CV_16F (a deployment feeding an fp16 engine pays that cast on the CPU).
//
// The peer of the project's own preprocessing: `ridge pipeline --naive` uses it as the baseline
// and ridge_preprocess_bench times it. Built only when OpenCV (core, imgproc) is found, as the
// optional library ridge_opencv_peer (RIDGE_HAVE_OPENCV_PEER=1 for its users); ridge_vision
// and the runtime never link OpenCV. This header does not include OpenCV.
//
// Results match PreprocessReference within OpenCV's fixed-point resize rounding (1 LSB before
// scaling). Geometry is ComputeGeometry's, so boxes map back the same way.
#pragma once

#include <functional>
#include <memory>

#include "core/status.h"
#include "vision/image_decode.h"
#include "vision/preprocess.h"

namespace ridge::vision {

class OpenCvPreprocessor {
 public:
  OpenCvPreprocessor();
  ~OpenCvPreprocessor();
  OpenCvPreprocessor(const OpenCvPreprocessor&) = delete;
  OpenCvPreprocessor& operator=(const OpenCvPreprocessor&) = delete;

  // Writes spec.OutputElements() values of spec.type to `out` (one frame), like
  // PreprocessReference. Keeps its intermediate images between calls (one thread at a time).
  // OpenCV's exceptions become an Internal status.
  Status Run(const Image& image, const PreprocessSpec& spec, void* out);

 private:
  struct Scratch;
  std::unique_ptr<Scratch> scratch_;
};

// A function for VisionPipelineOptions::naive_pre: one OpenCvPreprocessor, one thread at a time.
std::function<Status(const Image&, const PreprocessSpec&, void*)> MakeOpenCvPreprocess();

// CV_VERSION, e.g. "4.6.0".
const char* OpenCvVersion();
// cv::setNumThreads(n): n < 0 restores OpenCV's default, 0 or 1 runs on the calling thread.
// Returns cv::getNumThreads() after.
int SetOpenCvThreads(int n);

}  // namespace ridge::vision
