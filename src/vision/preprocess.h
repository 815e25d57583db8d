// Image preprocessing for pipelines: resize (stretch, letterbox, center crop), channel swap,
// scale/mean/std normalization, HWC -> NCHW or NHWC, cast to fp32 or fp16, in one pass.
//
// One spec, four implementations that must agree within one 8-bit step (1 LSB before scaling):
// PreprocessReference (plain C++, this file's .cc: the definition), the Halide pipeline (CPU),
// the fused CUDA kernel (src/vision/cuda) and OpenCV (tests and benchmarks only).
//
// Arithmetic, shared by every implementation:
//   - ResizeGeometry maps source pixels to output pixels: out = src * scale + offset.
//   - Output pixel (x, y) inside the content box samples the source at half-pixel centres,
//     sx = (x + 0.5 - offset_x) / scale_x - 0.5 (same for y), clamped to [0, width - 1]; the
//     two neighbours are floor(sx) and min(floor(sx) + 1, width - 1) (OpenCV's INTER_LINEAR).
//   - The bilinear value is computed in float as top = a + (b - a) * fx, bottom likewise,
//     v = top + (bottom - top) * fy, and rounded with floor(v + 0.5), like an 8-bit resize
//     would; pixels outside the content box take pad_value.
//   - Normalization: out[c] = (v[c] * scale - mean[c]) / std[c], c the output channel.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "vision/image_decode.h"

namespace ridge::vision {

enum class ResizeMode {
  kStretch,     // resize to out_width x out_height, aspect ratio not kept
  kLetterbox,   // fit inside, keep aspect ratio, centre, pad the rest with pad_value
  kCenterCrop,  // shorter side to crop_short_side (or to cover), then crop the centre
};
enum class PlaneLayout { kNchw, kNhwc };
enum class OutputType { kFloat32, kFloat16 };

struct PreprocessSpec {
  int out_width = 640;
  int out_height = 640;
  ResizeMode mode = ResizeMode::kLetterbox;
  // kCenterCrop: the shorter side is resized to this before cropping; 0 = just cover the output.
  int crop_short_side = 0;
  uint8_t pad_value = 114;
  ChannelOrder input_order = ChannelOrder::kBgr;   // what the frames hold
  ChannelOrder output_order = ChannelOrder::kRgb;  // what the network wants
  float scale = 1.0f / 255.0f;
  float mean[3] = {0.0f, 0.0f, 0.0f};
  float std[3] = {1.0f, 1.0f, 1.0f};
  PlaneLayout layout = PlaneLayout::kNchw;
  OutputType type = OutputType::kFloat32;

  // Canonical text form, accepted back by ParsePreprocessSpec.
  std::string ToString() const;
  int64_t OutputElements() const { return int64_t{3} * out_width * out_height; }
  int64_t OutputBytes() const { return OutputElements() * (type == OutputType::kFloat16 ? 2 : 4); }
};

// Comma-separated tokens; later tokens override earlier ones, unset fields keep the defaults
// above except that the resize token is required:
//   letterbox=640 | letterbox=640x384 | resize=224x224 | centercrop=224 | centercrop=224@256
//   pad=114  bgr2rgb | rgb2bgr | keep  scale=1/255 | scale=0.017  mean=0.485/0.456/0.406
//   std=0.229/0.224/0.225  nchw | nhwc  fp32 | fp16
// Sizes are 1..16384 (width x height); std entries must be non-zero.
Result<PreprocessSpec> ParsePreprocessSpec(std::string_view text);

// Fails when scale / std or mean / std overflows fp32 (scale=1e30,std=1e-30): outputs would be
// NaN or infinite. ParsePreprocessSpec and ComputeGeometry both check it.
Status CheckNormalization(const PreprocessSpec& spec);

// Where a width x height source lands in the output: out = src * scale + offset (pixels), and
// the output box [content_x0, content_x1) x [content_y0, content_y1) the image covers.
struct ResizeGeometry {
  float scale_x = 1, scale_y = 1;
  float offset_x = 0, offset_y = 0;
  int content_x0 = 0, content_y0 = 0, content_x1 = 0, content_y1 = 0;

  // Maps an output (network) coordinate back to the source image (boxes after detection).
  float ToSourceX(float x) const { return (x - offset_x) / scale_x; }
  float ToSourceY(float y) const { return (y - offset_y) / scale_y; }
};

// Letterbox: r = min(out_w / w, out_h / h), resized size round(w * r) x round(h * r) (at least
// 1), placed at ((out_w - new_w) / 2, (out_h - new_h) / 2) with integer division; the scales are
// new_w / w and new_h / h exactly. Fails on empty sources or sources over 16384 per side.
Result<ResizeGeometry> ComputeGeometry(int src_width, int src_height, const PreprocessSpec& spec);

// The definition: writes spec.OutputElements() values of spec.type to `out` (one frame).
// The image must have 3 channels in spec.input_order.
Status PreprocessReference(const Image& image, const PreprocessSpec& spec, void* out);

}  // namespace ridge::vision
