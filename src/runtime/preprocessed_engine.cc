#include "runtime/preprocessed_engine.h"

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "vision/preprocess_halide.h"

namespace ridge::runtime {
namespace {

std::string DimsText(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

bool ParseSide(std::string_view s, int* out) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 1 || v > kMaxFrameSide) return false;
  *out = v;
  return true;
}

}  // namespace

std::string PreprocessConfig::ToJson() const {
  nlohmann::json j = {{"format", "ridge-preprocess/1"},
                      {"spec", spec.ToString()},
                      {"frame_width", frame_width},
                      {"frame_height", frame_height},
                      {"frame_layout", "nhwc uint8"}};
  return j.dump(2);
}

Status ParseFrameSize(std::string_view text, int* width, int* height) {
  const size_t x = text.find('x');
  if (x == std::string_view::npos || !ParseSide(text.substr(0, x), width) ||
      !ParseSide(text.substr(x + 1), height)) {
    return InvalidArgument("--frame-size '" + std::string(text) + "' is not WIDTHxHEIGHT with " +
                           "each side in [1, " + std::to_string(kMaxFrameSide) + "]");
  }
  return Status::Ok();
}

Result<PreprocessConfig> MakePreprocessConfig(std::string_view spec_text, int frame_width,
                                              int frame_height, const std::vector<int64_t>& in,
                                              DType input_dtype) {
  PreprocessConfig c;
  RIDGE_ASSIGN_OR_RETURN(c.spec, vision::ParsePreprocessSpec(spec_text));
  if (frame_width < 1 || frame_height < 1 || frame_width > kMaxFrameSide ||
      frame_height > kMaxFrameSide) {
    return InvalidArgument("frame size " + std::to_string(frame_width) + "x" +
                           std::to_string(frame_height) + " is outside [1, " +
                           std::to_string(kMaxFrameSide) + "] per side");
  }
  c.frame_width = frame_width;
  c.frame_height = frame_height;
  if (in.size() != 4 || in[0] < 1 || in[1] != 3) {
    return Unsupported(
        "--preprocess: the model input must be [N, 3, H, W] (NCHW, 3 channels); "
        "it is " +
        DimsText(in));
  }
  if (c.spec.out_width != in[3] || c.spec.out_height != in[2]) {
    return InvalidArgument("--preprocess output " + std::to_string(c.spec.out_width) + "x" +
                           std::to_string(c.spec.out_height) + " does not match the model input " +
                           std::to_string(in[3]) + "x" + std::to_string(in[2]) + " (W x H of " +
                           DimsText(in) + ")");
  }
  if (c.spec.layout != vision::PlaneLayout::kNchw) {
    return InvalidArgument("--preprocess says nhwc but the model input " + DimsText(in) +
                           " is NCHW: drop nhwc");
  }
  const bool half = c.spec.type == vision::OutputType::kFloat16;
  if (input_dtype != (half ? DType::kFloat16 : DType::kFloat32)) {
    return InvalidArgument(std::string("--preprocess writes ") + (half ? "fp16" : "fp32") +
                           " but the model input is " + std::string(DTypeName(input_dtype)));
  }
  const int64_t frame_bytes = int64_t{3} * frame_width * frame_height;  // <= 8e8, no overflow
  if (in[0] > kMaxFrameBatchBytes / frame_bytes) {
    return InvalidArgument("a batch of " + std::to_string(in[0]) + " frames of " +
                           std::to_string(frame_width) + "x" + std::to_string(frame_height) +
                           " is over " + std::to_string(kMaxFrameBatchBytes) + " bytes");
  }
  return c;
}

Result<PreprocessConfig> ParsePreprocessJson(std::string_view json,
                                             const std::vector<int64_t>& input_dims,
                                             DType input_dtype) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("spec") || !j["spec"].is_string() ||
      !j.contains("frame_width") || !j["frame_width"].is_number_integer() ||
      !j.contains("frame_height") || !j["frame_height"].is_number_integer()) {
    return InvalidModel("the preprocess section is not {spec, frame_width, frame_height}");
  }
  const int64_t w = j["frame_width"].get<int64_t>(), h = j["frame_height"].get<int64_t>();
  if (w < 1 || h < 1 || w > kMaxFrameSide || h > kMaxFrameSide) {
    return InvalidModel("the preprocess section's frame size " + std::to_string(w) + "x" +
                        std::to_string(h) + " is outside [1, " + std::to_string(kMaxFrameSide) +
                        "] per side");
  }
  auto c = MakePreprocessConfig(j["spec"].get<std::string>(), static_cast<int>(w),
                                static_cast<int>(h), input_dims, input_dtype);
  if (!c.ok()) return InvalidModel("the preprocess section: " + c.status().message());
  return c;
}

Status CheckFrames(const Tensor& frames, const PreprocessConfig& config, int64_t batch) {
  const std::vector<int64_t> want = config.FrameDims(batch);
  if (frames.dtype() != DType::kUInt8 || frames.dims() != want) {
    return InvalidArgument("the engine takes uint8 frames " + DimsText(want) +
                           " (N, height, width, 3; frame size fixed by ridge build --frame-size)"
                           ", got " +
                           std::string(DTypeName(frames.dtype())) + " " + DimsText(frames.dims()));
  }
  return Status::Ok();
}

Status PreprocessFramesCpu(const Tensor& frames, const PreprocessConfig& c, bool use_halide,
                           Tensor* out) {
  const int64_t n = frames.dims().empty() ? 0 : frames.dims()[0];
  RIDGE_RETURN_IF_ERROR(CheckFrames(frames, c, n));
  const bool half = c.spec.type == vision::OutputType::kFloat16;
  *out =
      Tensor(half ? DType::kFloat16 : DType::kFloat32, {n, 3, c.spec.out_height, c.spec.out_width});
  const bool halide = use_halide && vision::HalidePreprocessAvailable();
  const size_t frame_bytes = size_t{3} * c.frame_width * c.frame_height;
  vision::Image image;
  image.width = c.frame_width;
  image.height = c.frame_height;
  image.channels = 3;
  image.stride = size_t{3} * c.frame_width;
  image.order = c.spec.input_order;
  image.data.resize(frame_bytes);
  auto* src = reinterpret_cast<const uint8_t*>(frames.raw_data());
  auto* dst = reinterpret_cast<char*>(out->raw_data());
  for (int64_t i = 0; i < n; ++i) {
    // The vision API takes an owning Image: one copy per frame (`ridge pipeline` avoids it by
    // decoding straight into Images).
    std::memcpy(image.data.data(), src + i * frame_bytes, frame_bytes);
    char* o = dst + i * c.spec.OutputBytes();
    RIDGE_RETURN_IF_ERROR(halide ? vision::PreprocessHalide(image, c.spec, o)
                                 : vision::PreprocessReference(image, c.spec, o));
  }
  return Status::Ok();
}

}  // namespace ridge::runtime
