#include "vision/cuda/preprocess_cuda.h"

#include <cmath>
#include <string>

namespace ridge::vision::cuda {
namespace {

Status CudaError(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Status(StatusCode::kInternal, std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace

GpuPreprocessor::GpuPreprocessor(const PreprocessSpec& spec, int max_batch,
                                 const kernels::KernelConfig& config)
    : spec_(spec),
      max_batch_(max_batch),
      config_(config),
      frames_(new kernels::FrameParams[max_batch]) {}

Result<std::unique_ptr<GpuPreprocessor>> GpuPreprocessor::Create(const PreprocessSpec& spec,
                                                                 int max_batch) {
  if (max_batch < 1 || max_batch > kMaxBatch) {
    return InvalidArgument("GPU preprocessing: max_batch " + std::to_string(max_batch) +
                           " is not in 1.." + std::to_string(kMaxBatch));
  }
  // ComputeGeometry checks the output size; a 1x1 source is always valid.
  RIDGE_RETURN_IF_ERROR(ComputeGeometry(1, 1, spec).status());
  kernels::KernelConfig config{};
  config.out_width = spec.out_width;
  config.out_height = spec.out_height;
  const bool swap = spec.input_order != spec.output_order;
  for (int c = 0; c < 3; ++c) {
    if (spec.std[c] == 0) return InvalidArgument("GPU preprocessing: std of 0");
    // The same float operations as PreprocessReference, so the kernel's output matches it.
    config.mul[c] = spec.scale / spec.std[c];
    config.add[c] = -spec.mean[c] / spec.std[c];
    if (!std::isfinite(config.mul[c]) || !std::isfinite(config.add[c])) {
      return InvalidArgument("GPU preprocessing: scale/mean/std give a non-finite value");
    }
    config.src_channel[c] = swap ? 2 - c : c;
  }
  config.pad = static_cast<float>(spec.pad_value);
  config.nchw = spec.layout == PlaneLayout::kNchw;
  config.fp16 = spec.type == OutputType::kFloat16;
  return std::unique_ptr<GpuPreprocessor>(new GpuPreprocessor(spec, max_batch, config));
}

Status GpuPreprocessor::Enqueue(const DeviceImage* frames, int count, void* out,
                                cudaStream_t stream, ResizeGeometry* geometry) {
  if (frames == nullptr || out == nullptr) {
    return InvalidArgument("GPU preprocessing: null frames or output pointer");
  }
  if (count < 1 || count > max_batch_) {
    return InvalidArgument("GPU preprocessing: " + std::to_string(count) +
                           " frames, this preprocessor takes 1.." + std::to_string(max_batch_));
  }
  const size_t element_bytes = config_.fp16 ? 2 : 4;
  if (reinterpret_cast<uintptr_t>(out) % element_bytes != 0) {
    return InvalidArgument("GPU preprocessing: output pointer is not aligned to its element");
  }
  for (int i = 0; i < count; ++i) {
    const DeviceImage& f = frames[i];
    const std::string where = "GPU preprocessing: frame " + std::to_string(i);
    if (f.data == nullptr) return InvalidArgument(where + " has no data");
    Result<ResizeGeometry> g = ComputeGeometry(f.width, f.height, spec_);
    if (!g.ok()) return InvalidArgument(where + ": " + g.status().message());
    if (f.stride < int64_t{f.width} * 3) {
      return InvalidArgument(where + ": stride " + std::to_string(f.stride) + " < width * 3");
    }
    kernels::FrameParams& p = frames_[i];
    p.src = f.data;
    p.stride = f.stride;
    p.width = f.width;
    p.height = f.height;
    p.scale_x = g->scale_x;
    p.scale_y = g->scale_y;
    p.offset_x = g->offset_x;
    p.offset_y = g->offset_y;
    p.content_x0 = g->content_x0;
    p.content_y0 = g->content_y0;
    p.content_x1 = g->content_x1;
    p.content_y1 = g->content_y1;
    if (geometry != nullptr) geometry[i] = *g;
  }
  return CudaError(kernels::LaunchPreprocess(config_, frames_.get(), count, out, stream),
                   "preprocess_bilinear_u8_kernel launch");
}

}  // namespace ridge::vision::cuda
