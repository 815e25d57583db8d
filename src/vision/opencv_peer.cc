#include "vision/opencv_peer.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace ridge::vision {

struct OpenCvPreprocessor::Scratch {
  cv::Mat resized, boxed, f32;  // reused between frames: no allocation once warm
  cv::Mat blob32;               // fp16 output: the float32 blob before the cast
};

OpenCvPreprocessor::OpenCvPreprocessor() : scratch_(std::make_unique<Scratch>()) {}
OpenCvPreprocessor::~OpenCvPreprocessor() = default;

namespace {

// The resize step: the spec's output size, 8-bit, channels still in the image's order.
void ResizeStep(const cv::Mat& src, const ResizeGeometry& g, const PreprocessSpec& spec,
                cv::Mat* resized, cv::Mat* boxed) {
  const int ow = spec.out_width, oh = spec.out_height;
  switch (spec.mode) {
    case ResizeMode::kStretch:
      cv::resize(src, *boxed, cv::Size(ow, oh), 0, 0, cv::INTER_LINEAR);
      return;
    case ResizeMode::kLetterbox:
      // YOLO's letterbox: resize into the content box, pad the bands with pad_value.
      cv::resize(src, *resized, cv::Size(g.content_x1 - g.content_x0, g.content_y1 - g.content_y0),
                 0, 0, cv::INTER_LINEAR);
      cv::copyMakeBorder(*resized, *boxed, g.content_y0, oh - g.content_y1, g.content_x0,
                         ow - g.content_x1, cv::BORDER_CONSTANT, cv::Scalar::all(spec.pad_value));
      return;
    case ResizeMode::kCenterCrop: {
      // torchvision's Resize(short side) + CenterCrop: resize the whole frame, take the middle.
      const int rw = std::max(ow, static_cast<int>(std::lround(src.cols * g.scale_x)));
      const int rh = std::max(oh, static_cast<int>(std::lround(src.rows * g.scale_y)));
      cv::resize(src, *resized, cv::Size(rw, rh), 0, 0, cv::INTER_LINEAR);
      (*resized)(cv::Rect((rw - ow) / 2, (rh - oh) / 2, ow, oh)).copyTo(*boxed);
      return;
    }
  }
}

}  // namespace

Status OpenCvPreprocessor::Run(const Image& image, const PreprocessSpec& spec, void* out) {
  if (image.channels != 3 || image.stride < static_cast<size_t>(image.width) * 3 ||
      image.data.size() < image.stride * static_cast<size_t>(image.height))
    return InvalidArgument("OpenCV preprocessing needs a 3-channel interleaved image");
  if (image.order != spec.input_order)
    return InvalidArgument("image channel order does not match the spec's input order");
  RIDGE_ASSIGN_OR_RETURN(ResizeGeometry g, ComputeGeometry(image.width, image.height, spec));
  Scratch& s = *scratch_;
  try {
    const cv::Mat src(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.data.data()),
                      image.stride);
    ResizeStep(src, g, spec, &s.resized, &s.boxed);
    // blobFromImage's arithmetic: float, then (v * scale - mean) / std per output channel. The
    // 8-bit image still has the input order, so the per-channel factors follow it.
    const bool swap = spec.input_order != spec.output_order;
    cv::Scalar mul, add;
    bool plain = true;  // no mean/std: one convertTo does the scaling
    for (int c = 0; c < 3; ++c) {
      const int src_c = swap ? 2 - c : c;
      mul[src_c] = spec.scale / spec.std[c];
      add[src_c] = -spec.mean[c] / spec.std[c];
      plain = plain && spec.mean[c] == 0 && spec.std[c] == 1;
    }
    if (plain) {
      s.boxed.convertTo(s.f32, CV_32F, spec.scale);
    } else {
      s.boxed.convertTo(s.f32, CV_32F);
      cv::multiply(s.f32, mul, s.f32);
      cv::add(s.f32, add, s.f32);
    }
    // HWC -> CHW (or HWC kept) with the channel swap, into the output (fp32) or the blob (fp16).
    const int ow = spec.out_width, oh = spec.out_height;
    const bool half = spec.type == OutputType::kFloat16;
    const int n = static_cast<int>(spec.OutputElements());
    if (half) s.blob32.create(1, n, CV_32F);
    float* dst = half ? s.blob32.ptr<float>() : static_cast<float*>(out);
    int from_to[6];
    for (int c = 0; c < 3; ++c) from_to[2 * c] = swap ? 2 - c : c, from_to[2 * c + 1] = c;
    if (spec.layout == PlaneLayout::kNchw) {
      const size_t plane = static_cast<size_t>(ow) * oh;
      cv::Mat planes[3] = {cv::Mat(oh, ow, CV_32F, dst), cv::Mat(oh, ow, CV_32F, dst + plane),
                           cv::Mat(oh, ow, CV_32F, dst + 2 * plane)};
      cv::mixChannels(&s.f32, 1, planes, 3, from_to, 3);
    } else {
      cv::Mat hwc(oh, ow, CV_32FC3, dst);
      cv::mixChannels(&s.f32, 1, &hwc, 1, from_to, 3);
    }
    if (half) {
      cv::Mat out16(1, n, CV_16F, out);  // convertTo keeps this buffer (same size and type)
      s.blob32.convertTo(out16, CV_16F);
    }
  } catch (const cv::Exception& e) {
    return Internal(std::string("OpenCV preprocessing: ") + e.what());
  } catch (const std::bad_alloc&) {
    return LimitExceeded("OpenCV preprocessing: out of memory");
  }
  return Status::Ok();
}

std::function<Status(const Image&, const PreprocessSpec&, void*)> MakeOpenCvPreprocess() {
  auto pre = std::make_shared<OpenCvPreprocessor>();
  return [pre](const Image& image, const PreprocessSpec& spec, void* out) {
    return pre->Run(image, spec, out);
  };
}

const char* OpenCvVersion() { return CV_VERSION; }

int SetOpenCvThreads(int n) {
  cv::setNumThreads(n);
  return cv::getNumThreads();
}

}  // namespace ridge::vision
