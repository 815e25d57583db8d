#include "vision/preprocess.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/tensor.h"

namespace ridge::vision {
namespace {

constexpr int kMaxSide = 16384;

Result<float> ParseNumber(std::string_view text, const std::string& token) {
  // "a/b" is a fraction (scale=1/255); otherwise a plain decimal.
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    RIDGE_ASSIGN_OR_RETURN(float num, ParseNumber(text.substr(0, slash), token));
    RIDGE_ASSIGN_OR_RETURN(float den, ParseNumber(text.substr(slash + 1), token));
    if (den == 0) return InvalidArgument("preprocess token '" + token + "' divides by zero");
    return num / den;
  }
  float v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v)) {
    return InvalidArgument("preprocess token '" + token + "': '" + std::string(text) +
                           "' is not a number");
  }
  return v;
}

Result<int> ParseSide(std::string_view text, const std::string& token) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 1 ||
      v > kMaxSide) {
    return InvalidArgument("preprocess token '" + token + "': size '" + std::string(text) +
                           "' is not an integer in 1.." + std::to_string(kMaxSide));
  }
  return v;
}

// "640" -> 640x640, "640x384" -> width 640, height 384.
Status ParseSize(std::string_view text, const std::string& token, int* w, int* h) {
  size_t x = text.find('x');
  RIDGE_ASSIGN_OR_RETURN(*w, ParseSide(text.substr(0, x), token));
  if (x == std::string_view::npos) {
    *h = *w;
  } else {
    RIDGE_ASSIGN_OR_RETURN(*h, ParseSide(text.substr(x + 1), token));
  }
  return Status::Ok();
}

Status ParseTriple(std::string_view text, const std::string& token, float out[3]) {
  for (int i = 0; i < 3; ++i) {
    size_t slash = text.find('/');
    if ((i < 2) != (slash != std::string_view::npos)) {
      return InvalidArgument("preprocess token '" + token + "' needs three values a/b/c");
    }
    RIDGE_ASSIGN_OR_RETURN(out[i], ParseNumber(text.substr(0, slash), token));
    if (slash != std::string_view::npos) text.remove_prefix(slash + 1);
  }
  return Status::Ok();
}

std::string FormatFloat(float v) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, ptr);
}

// One resize axis: for each output index, the two source taps and the weight of the second.
struct AxisTaps {
  std::vector<int> lo, hi;
  std::vector<float> frac;
};

AxisTaps ComputeTaps(int out_size, int src_size, float scale, float offset) {
  AxisTaps t;
  t.lo.resize(out_size);
  t.hi.resize(out_size);
  t.frac.resize(out_size);
  for (int o = 0; o < out_size; ++o) {
    float s = (static_cast<float>(o) + 0.5f - offset) / scale - 0.5f;
    s = std::clamp(s, 0.0f, static_cast<float>(src_size - 1));
    int lo = static_cast<int>(std::floor(s));
    t.lo[o] = lo;
    t.hi[o] = std::min(lo + 1, src_size - 1);
    t.frac[o] = s - static_cast<float>(lo);
  }
  return t;
}

}  // namespace

std::string PreprocessSpec::ToString() const {
  std::string s;
  std::string size = std::to_string(out_width) + "x" + std::to_string(out_height);
  switch (mode) {
    case ResizeMode::kStretch:
      s = "resize=" + size;
      break;
    case ResizeMode::kLetterbox:
      s = "letterbox=" + size;
      break;
    case ResizeMode::kCenterCrop:
      s = "centercrop=" + size;
      if (crop_short_side > 0) s += "@" + std::to_string(crop_short_side);
      break;
  }
  if (mode == ResizeMode::kLetterbox) s += ",pad=" + std::to_string(pad_value);
  if (input_order != output_order) {
    s += input_order == ChannelOrder::kBgr ? ",bgr2rgb" : ",rgb2bgr";
  } else {
    s += ",keep";
  }
  s += ",scale=" + FormatFloat(scale);
  s += ",mean=" + FormatFloat(mean[0]) + "/" + FormatFloat(mean[1]) + "/" + FormatFloat(mean[2]);
  s += ",std=" + FormatFloat(std[0]) + "/" + FormatFloat(std[1]) + "/" + FormatFloat(std[2]);
  s += layout == PlaneLayout::kNchw ? ",nchw" : ",nhwc";
  s += type == OutputType::kFloat32 ? ",fp32" : ",fp16";
  return s;
}

Result<PreprocessSpec> ParsePreprocessSpec(std::string_view text) {
  PreprocessSpec spec;
  bool have_resize = false;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string token(text.substr(0, comma));
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    if (token.empty()) continue;
    size_t eq = token.find('=');
    std::string key = token.substr(0, eq);
    std::string_view value =
        eq == std::string::npos ? std::string_view() : std::string_view(token).substr(eq + 1);
    if (key == "letterbox" || key == "resize" || key == "centercrop") {
      std::string_view size = value;
      spec.crop_short_side = 0;
      if (key == "centercrop") {
        size_t at = value.find('@');
        if (at != std::string_view::npos) {
          RIDGE_ASSIGN_OR_RETURN(spec.crop_short_side, ParseSide(value.substr(at + 1), token));
          size = value.substr(0, at);
        }
      }
      RIDGE_RETURN_IF_ERROR(ParseSize(size, token, &spec.out_width, &spec.out_height));
      spec.mode = key == "letterbox" ? ResizeMode::kLetterbox
                  : key == "resize"  ? ResizeMode::kStretch
                                     : ResizeMode::kCenterCrop;
      have_resize = true;
    } else if (key == "pad") {
      RIDGE_ASSIGN_OR_RETURN(float v, ParseNumber(value, token));
      if (v < 0 || v > 255 || v != std::floor(v)) {
        return InvalidArgument("preprocess token '" + token + "': pad is an integer 0..255");
      }
      spec.pad_value = static_cast<uint8_t>(v);
    } else if (token == "bgr2rgb" || token == "rgb2bgr" || token == "keep") {
      spec.input_order = token == "rgb2bgr" ? ChannelOrder::kRgb : ChannelOrder::kBgr;
      spec.output_order = token == "bgr2rgb" ? ChannelOrder::kRgb : ChannelOrder::kBgr;
    } else if (key == "scale") {
      RIDGE_ASSIGN_OR_RETURN(spec.scale, ParseNumber(value, token));
    } else if (key == "mean") {
      RIDGE_RETURN_IF_ERROR(ParseTriple(value, token, spec.mean));
    } else if (key == "std") {
      RIDGE_RETURN_IF_ERROR(ParseTriple(value, token, spec.std));
      for (float v : spec.std) {
        if (v == 0) return InvalidArgument("preprocess token '" + token + "': std of 0");
      }
    } else if (token == "nchw" || token == "nhwc") {
      spec.layout = token == "nchw" ? PlaneLayout::kNchw : PlaneLayout::kNhwc;
    } else if (token == "fp32" || token == "fp16") {
      spec.type = token == "fp32" ? OutputType::kFloat32 : OutputType::kFloat16;
    } else {
      return InvalidArgument(
          "unknown preprocess token '" + token +
          "' (expected letterbox=, resize=, centercrop=, pad=, bgr2rgb, rgb2bgr, keep, scale=, "
          "mean=, std=, nchw, nhwc, fp32, fp16)");
    }
  }
  if (!have_resize) {
    return InvalidArgument("preprocess spec needs a size: letterbox=N, resize=WxH or centercrop=N");
  }
  RIDGE_RETURN_IF_ERROR(CheckNormalization(spec));
  return spec;
}

Status CheckNormalization(const PreprocessSpec& spec) {
  // Every implementation computes v * (scale / std) + (-mean / std) in fp32. A factor that
  // overflows makes pixel 0 give 0 * inf = NaN, and NaN has no agreed fp16 encoding (Halide's
  // conversion gives -inf, ours a NaN): such a spec is a typo, so it is refused up front.
  for (int c = 0; c < 3; ++c) {
    const float mul = spec.scale / spec.std[c], add = -spec.mean[c] / spec.std[c];
    if (!std::isfinite(mul) || !std::isfinite(add)) {
      return InvalidArgument("preprocess normalization overflows fp32 in channel " +
                             std::to_string(c) + ": scale/std = " + FormatFloat(mul) +
                             ", mean/std = " + FormatFloat(-add) +
                             " (check scale=, mean= and std=)");
    }
  }
  return Status::Ok();
}

Result<ResizeGeometry> ComputeGeometry(int src_width, int src_height, const PreprocessSpec& spec) {
  if (src_width < 1 || src_height < 1 || src_width > kMaxSide || src_height > kMaxSide) {
    return InvalidArgument("cannot preprocess a " + std::to_string(src_width) + "x" +
                           std::to_string(src_height) + " image (sides must be 1.." +
                           std::to_string(kMaxSide) + ")");
  }
  if (spec.out_width < 1 || spec.out_height < 1 || spec.out_width > kMaxSide ||
      spec.out_height > kMaxSide) {
    return InvalidArgument("preprocess output size must be 1.." + std::to_string(kMaxSide));
  }
  RIDGE_RETURN_IF_ERROR(CheckNormalization(spec));  // specs built in code skip the parser
  const float w = static_cast<float>(src_width), h = static_cast<float>(src_height);
  const float ow = static_cast<float>(spec.out_width), oh = static_cast<float>(spec.out_height);
  ResizeGeometry g;
  g.content_x1 = spec.out_width;
  g.content_y1 = spec.out_height;
  switch (spec.mode) {
    case ResizeMode::kStretch:
      g.scale_x = ow / w;
      g.scale_y = oh / h;
      break;
    case ResizeMode::kLetterbox: {
      const double r = std::min(static_cast<double>(ow) / w, static_cast<double>(oh) / h);
      const int new_w = std::clamp(static_cast<int>(std::lround(w * r)), 1, spec.out_width);
      const int new_h = std::clamp(static_cast<int>(std::lround(h * r)), 1, spec.out_height);
      g.scale_x = static_cast<float>(new_w) / w;
      g.scale_y = static_cast<float>(new_h) / h;
      g.content_x0 = (spec.out_width - new_w) / 2;
      g.content_y0 = (spec.out_height - new_h) / 2;
      g.content_x1 = g.content_x0 + new_w;
      g.content_y1 = g.content_y0 + new_h;
      g.offset_x = static_cast<float>(g.content_x0);
      g.offset_y = static_cast<float>(g.content_y0);
      break;
    }
    case ResizeMode::kCenterCrop: {
      const float cover = std::max(ow / w, oh / h);
      const float r = spec.crop_short_side > 0
                          ? static_cast<float>(spec.crop_short_side) / std::min(w, h)
                          : cover;
      // A short side smaller than the crop would leave no pixels to crop: cover instead.
      g.scale_x = g.scale_y = std::max(r, cover);
      g.offset_x = (ow - w * g.scale_x) / 2.0f;
      g.offset_y = (oh - h * g.scale_y) / 2.0f;
      break;
    }
  }
  return g;
}

Status PreprocessReference(const Image& image, const PreprocessSpec& spec, void* out) {
  if (image.channels != 3 || image.data.size() < image.stride * image.height ||
      image.stride < static_cast<size_t>(image.width) * 3) {
    return InvalidArgument("preprocess needs a 3-channel interleaved image");
  }
  if (image.order != spec.input_order) {
    return InvalidArgument("image channel order does not match the spec's input order");
  }
  RIDGE_ASSIGN_OR_RETURN(ResizeGeometry g, ComputeGeometry(image.width, image.height, spec));
  const int ow = spec.out_width, oh = spec.out_height;
  AxisTaps tx = ComputeTaps(ow, image.width, g.scale_x, g.offset_x);
  AxisTaps ty = ComputeTaps(oh, image.height, g.scale_y, g.offset_y);
  const bool swap = spec.input_order != spec.output_order;
  float mul[3], add[3];  // out = v * mul + add
  for (int c = 0; c < 3; ++c) {
    mul[c] = spec.scale / spec.std[c];
    add[c] = -spec.mean[c] / spec.std[c];
  }
  const int64_t plane = int64_t{ow} * oh;
  for (int y = 0; y < oh; ++y) {
    const bool row_in = y >= g.content_y0 && y < g.content_y1;
    const uint8_t* r0 = image.data.data() + ty.lo[y] * image.stride;
    const uint8_t* r1 = image.data.data() + ty.hi[y] * image.stride;
    const float fy = ty.frac[y];
    for (int x = 0; x < ow; ++x) {
      const bool in = row_in && x >= g.content_x0 && x < g.content_x1;
      for (int c = 0; c < 3; ++c) {
        const int src_c = swap ? 2 - c : c;
        float v = spec.pad_value;
        if (in) {
          const float fx = tx.frac[x];
          const float a = r0[tx.lo[x] * 3 + src_c], b = r0[tx.hi[x] * 3 + src_c];
          const float d = r1[tx.lo[x] * 3 + src_c], e = r1[tx.hi[x] * 3 + src_c];
          const float top = a + (b - a) * fx, bottom = d + (e - d) * fx;
          v = std::floor(top + (bottom - top) * fy + 0.5f);
        }
        const float o = v * mul[c] + add[c];
        const int64_t i = spec.layout == PlaneLayout::kNchw ? c * plane + int64_t{y} * ow + x
                                                            : (int64_t{y} * ow + x) * 3 + c;
        if (spec.type == OutputType::kFloat32) {
          static_cast<float*>(out)[i] = o;
        } else {
          static_cast<uint16_t*>(out)[i] = FloatToHalf(o);
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace ridge::vision
