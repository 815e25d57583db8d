#include "vision/preprocess_halide.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/tensor.h"

#ifdef RIDGE_HAVE_HALIDE
#include "HalideRuntime.h"
#include "ridge_halide_preprocess_f16_nchw.h"
#include "ridge_halide_preprocess_f16_nchw_point.h"
#include "ridge_halide_preprocess_f16_nhwc.h"
#include "ridge_halide_preprocess_f16_nhwc_point.h"
#include "ridge_halide_preprocess_f32_nchw.h"
#include "ridge_halide_preprocess_f32_nchw_point.h"
#include "ridge_halide_preprocess_f32_nhwc.h"
#include "ridge_halide_preprocess_f32_nhwc_point.h"
#endif

namespace ridge::vision {

#ifndef RIDGE_HAVE_HALIDE

bool HalidePreprocessAvailable() { return false; }

Status PreprocessHalide(const Image&, const PreprocessSpec&, void*) {
  return Unsupported(
      "Halide preprocessing is not built in (Halide 14 was not found at configure time; install "
      "libhalide14-0-dev and reconfigure, or use the reference)");
}

Result<int> SetHalidePreprocessThreads(int) {
  return Unsupported("Halide preprocessing is not built in");
}

#else

namespace {

using PipelineFn = int (*)(halide_buffer_t*, float, float, float, float, int32_t, int32_t, int32_t,
                           int32_t, uint8_t, bool, float, float, float, float, float, float,
                           halide_buffer_t*);

// The AOT variant for the spec's type and layout; `point` picks the point-sampling build.
PipelineFn Pick(const PreprocessSpec& spec, bool point) {
  const bool planar = spec.layout == PlaneLayout::kNchw;
  if (spec.type == OutputType::kFloat32) {
    if (point) {
      return planar ? ridge_halide_preprocess_f32_nchw_point
                    : ridge_halide_preprocess_f32_nhwc_point;
    }
    return planar ? ridge_halide_preprocess_f32_nchw : ridge_halide_preprocess_f32_nhwc;
  }
  if (point) {
    return planar ? ridge_halide_preprocess_f16_nchw_point : ridge_halide_preprocess_f16_nhwc_point;
  }
  return planar ? ridge_halide_preprocess_f16_nchw : ridge_halide_preprocess_f16_nhwc;
}

// True when every sample position of output indices [o0, o1) is a whole source pixel: the
// fraction PreprocessReference computes ((o + 0.5 - offset) / scale - 0.5, clamped) is 0.
bool TapsIntegral(int o0, int o1, int src_size, float scale, float offset) {
  for (int o = o0; o < o1; ++o) {
    float s = (static_cast<float>(o) + 0.5f - offset) / scale - 0.5f;
    s = std::clamp(s, 0.0f, static_cast<float>(src_size - 1));
    if (s != std::floor(s)) return false;
  }
  return true;
}

// Writes the constant pad value of every channel to the output pixels outside the content box.
template <typename T>
void FillPad(const PreprocessSpec& spec, const ResizeGeometry& g, const T pad[3], T* out) {
  const int ow = spec.out_width, oh = spec.out_height;
  const int64_t plane = int64_t{ow} * oh;
  auto fill_span = [&](int y, int x0, int x1) {  // pixels [x0, x1) of row y
    if (x0 >= x1) return;
    if (spec.layout == PlaneLayout::kNchw) {
      for (int c = 0; c < 3; ++c) {
        T* row = out + c * plane + int64_t{y} * ow;
        std::fill(row + x0, row + x1, pad[c]);
      }
    } else {
      T* p = out + (int64_t{y} * ow + x0) * 3;
      for (int x = x0; x < x1; ++x, p += 3) {
        p[0] = pad[0];
        p[1] = pad[1];
        p[2] = pad[2];
      }
    }
  };
  for (int y = 0; y < oh; ++y) {
    if (y < g.content_y0 || y >= g.content_y1) {
      fill_span(y, 0, ow);
    } else {
      fill_span(y, 0, g.content_x0);
      fill_span(y, g.content_x1, ow);
    }
  }
}

}  // namespace

bool HalidePreprocessAvailable() { return true; }

Result<int> SetHalidePreprocessThreads(int num_threads) {
  if (num_threads < 0) {
    return InvalidArgument("Halide thread count must be >= 0 (0 = default), got " +
                           std::to_string(num_threads));
  }
  return halide_set_num_threads(num_threads);
}

Status PreprocessHalide(const Image& image, const PreprocessSpec& spec, void* out) {
  if (image.channels != 3 || image.data.size() < image.stride * image.height ||
      image.stride < static_cast<size_t>(image.width) * 3) {
    return InvalidArgument("preprocess needs a 3-channel interleaved image");
  }
  if (image.order != spec.input_order) {
    return InvalidArgument("image channel order does not match the spec's input order");
  }
  if (out == nullptr) return InvalidArgument("preprocess output pointer is null");
  RIDGE_ASSIGN_OR_RETURN(ResizeGeometry g, ComputeGeometry(image.width, image.height, spec));
  if (image.stride > static_cast<size_t>(INT32_MAX)) {
    return InvalidArgument("image row stride does not fit Halide's 32-bit strides");
  }
  const int ow = spec.out_width, oh = spec.out_height;
  const bool planar = spec.layout == PlaneLayout::kNchw;

  // Source (c, x, y): channel stride 1, pixel stride 3, row stride image.stride.
  halide_dimension_t in_dims[3] = {
      {0, 3, 1}, {0, image.width, 3}, {0, image.height, static_cast<int32_t>(image.stride)}};
  halide_buffer_t in_buf = {};
  in_buf.host = const_cast<uint8_t*>(image.data.data());  // Halide only reads it
  in_buf.type = halide_type_t(halide_type_uint, 8);
  in_buf.dimensions = 3;
  in_buf.dim = in_dims;

  // The output buffer covers the content box only, in absolute output coordinates (mins set),
  // so the pipeline does the resize work and nothing else. host points at element (x0, y0, 0).
  const int cx0 = g.content_x0, cy0 = g.content_y0;
  const int cw = g.content_x1 - cx0, ch = g.content_y1 - cy0;
  const int64_t plane = int64_t{ow} * oh;
  halide_dimension_t out_dims[3];
  int64_t first = 0;  // element index of (x0, y0, channel 0)
  if (planar) {       // (x, y, c)
    out_dims[0] = {cx0, cw, 1};
    out_dims[1] = {cy0, ch, ow};
    out_dims[2] = {0, 3, static_cast<int32_t>(plane)};
    first = int64_t{cy0} * ow + cx0;
  } else {  // (c, x, y)
    out_dims[0] = {0, 3, 1};
    out_dims[1] = {cx0, cw, 3};
    out_dims[2] = {cy0, ch, 3 * ow};
    first = (int64_t{cy0} * ow + cx0) * 3;
  }
  const bool fp16 = spec.type == OutputType::kFloat16;
  halide_buffer_t out_buf = {};
  out_buf.host = static_cast<uint8_t*>(out) + first * (fp16 ? 2 : 4);
  out_buf.type = fp16 ? halide_type_t(halide_type_float, 16) : halide_type_t(halide_type_float, 32);
  out_buf.dimensions = 3;
  out_buf.dim = out_dims;

  float mul[3], add[3];  // out = v * mul + add, as PreprocessReference computes them
  for (int c = 0; c < 3; ++c) {
    mul[c] = spec.scale / spec.std[c];
    add[c] = -spec.mean[c] / spec.std[c];
  }
  const bool swap = spec.input_order != spec.output_order;
  const bool integral =
      TapsIntegral(g.content_x0, g.content_x1, image.width, g.scale_x, g.offset_x) &&
      TapsIntegral(g.content_y0, g.content_y1, image.height, g.scale_y, g.offset_y);
  const int rc =
      Pick(spec, integral)(&in_buf, g.scale_x, g.scale_y, g.offset_x, g.offset_y, g.content_x0,
                           g.content_y0, g.content_x1, g.content_y1, spec.pad_value, swap, mul[0],
                           mul[1], mul[2], add[0], add[1], add[2], &out_buf);
  if (rc != 0) {
    return Internal("Halide preprocessing failed with error code " + std::to_string(rc) +
                    " (halide_error_code_t; Halide printed the details)");
  }

  if (cw == ow && ch == oh) return Status::Ok();
  float pad32[3];
  for (int c = 0; c < 3; ++c) pad32[c] = static_cast<float>(spec.pad_value) * mul[c] + add[c];
  if (fp16) {
    const uint16_t pad16[3] = {FloatToHalf(pad32[0]), FloatToHalf(pad32[1]), FloatToHalf(pad32[2])};
    FillPad(spec, g, pad16, static_cast<uint16_t*>(out));
  } else {
    FillPad(spec, g, pad32, static_cast<float*>(out));
  }
  return Status::Ok();
}

#endif  // RIDGE_HAVE_HALIDE

}  // namespace ridge::vision
