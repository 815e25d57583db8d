#include "vision/cuda/postprocess_cuda.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstring>
#include <string>

namespace ridge::vision::cuda {
namespace {

static_assert(sizeof(DeviceDetection) == sizeof(Detection) &&
                  offsetof(DeviceDetection, score) == offsetof(Detection, score) &&
                  offsetof(DeviceDetection, class_id) == offsetof(Detection, class_id),
              "DeviceDetection must mirror Detection");

constexpr int kMaxBatch = 4096;
constexpr size_t kMaxMaskBytes = size_t{4} << 30;
constexpr size_t kMaxSharedBytes = 48 * 1024;  // the greedy pass's removed-set
constexpr int kMaxClasses = 1 << 24;

Status Cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Internal(std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace

Result<std::unique_ptr<GpuYoloPostprocessor>> GpuYoloPostprocessor::Create(
    int rows, int anchors, int max_batch, const YoloOptions& options) {
  RIDGE_RETURN_IF_ERROR(ValidateYoloArgs(rows, anchors, options));
  if (max_batch < 1 || max_batch > kMaxBatch) {
    return InvalidArgument("max_batch must be in 1.." + std::to_string(kMaxBatch));
  }
  if (static_cast<int64_t>(max_batch) * anchors > INT_MAX) {
    return LimitExceeded("max_batch x anchors passes 2^31 (segment offsets are int)");
  }
  const int cap = std::min(anchors, options.max_candidates);
  const int words = (cap + 63) / 64;
  const size_t mask_bytes = size_t(max_batch) * cap * words * sizeof(uint64_t);
  if (mask_bytes > kMaxMaskBytes || words * sizeof(uint64_t) > kMaxSharedBytes) {
    return LimitExceeded("GPU NMS bitmask for " + std::to_string(max_batch) + " images x " +
                         std::to_string(cap) + " candidates needs " +
                         std::to_string(mask_bytes >> 20) +
                         " MiB; lower max_candidates or max_batch");
  }
  std::unique_ptr<GpuYoloPostprocessor> p(new GpuYoloPostprocessor());
  p->options_ = options;
  p->max_batch_ = max_batch;
  YoloDeviceBuffers& b = p->buf_;
  b.rows = rows;
  b.anchors = anchors;
  b.max_candidates = cap;
  b.mask_words = words;
  const size_t per_anchor = size_t(max_batch) * anchors, per_cand = size_t(max_batch) * cap;
  RIDGE_RETURN_IF_ERROR(
      Cuda(YoloSortTempBytes(max_batch, anchors, &b.sort_temp_bytes), "cub segmented sort size"));
  auto alloc = [&]<typename T>(T** ptr, size_t bytes) -> Status {
    void* raw = nullptr;
    RIDGE_RETURN_IF_ERROR(Cuda(cudaMalloc(&raw, std::max<size_t>(bytes, 16)), "cudaMalloc"));
    p->device_allocations_.push_back(raw);
    *ptr = static_cast<T*>(raw);
    return Status::Ok();
  };
  RIDGE_RETURN_IF_ERROR(alloc(&b.keys, per_anchor * sizeof(uint64_t)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.sorted, per_anchor * sizeof(uint64_t)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.boxes, per_anchor * sizeof(float4)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.scores, per_anchor * sizeof(float)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.classes, per_anchor * sizeof(int)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.counts, max_batch * sizeof(int)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.seg_begin, max_batch * sizeof(int)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.seg_end, max_batch * sizeof(int)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.cand_boxes, per_cand * sizeof(float4)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.cand_scores, per_cand * sizeof(float)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.cand_classes, per_cand * sizeof(int)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.mask, mask_bytes));
  const size_t det_count = size_t(max_batch) * options.max_detections;
  RIDGE_RETURN_IF_ERROR(alloc(&b.dets, det_count * sizeof(DeviceDetection)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.num_dets, max_batch * sizeof(int)));
  RIDGE_RETURN_IF_ERROR(alloc(&b.sort_temp, b.sort_temp_bytes));
  std::vector<int> begins(static_cast<size_t>(max_batch));
  for (int i = 0; i < max_batch; ++i) begins[static_cast<size_t>(i)] = i * anchors;
  RIDGE_RETURN_IF_ERROR(
      Cuda(cudaMemcpy(b.seg_begin, begins.data(), max_batch * sizeof(int), cudaMemcpyHostToDevice),
           "segment offsets upload"));
  RIDGE_RETURN_IF_ERROR(
      Cuda(cudaMallocHost(&p->host_dets_, det_count * sizeof(DeviceDetection)), "cudaMallocHost"));
  RIDGE_RETURN_IF_ERROR(
      Cuda(cudaMallocHost(&p->host_counts_, max_batch * sizeof(int)), "cudaMallocHost"));
  return p;
}

GpuYoloPostprocessor::~GpuYoloPostprocessor() {
  for (void* ptr : device_allocations_) cudaFree(ptr);
  if (host_dets_) cudaFreeHost(host_dets_);
  if (host_counts_) cudaFreeHost(host_counts_);
}

Status GpuYoloPostprocessor::Enqueue(const void* output, bool half_input, int batch,
                                     cudaStream_t stream) {
  if (output == nullptr) return InvalidArgument("YOLO output pointer is null");
  if (batch < 1 || batch > max_batch_) {
    return InvalidArgument("batch " + std::to_string(batch) + " is not in 1.." +
                           std::to_string(max_batch_));
  }
  size_t need = 0;
  RIDGE_RETURN_IF_ERROR(Cuda(YoloSortTempBytes(batch, buf_.anchors, &need), "sort size"));
  if (need > buf_.sort_temp_bytes) return Internal("segmented sort needs more temp than at Create");
  RIDGE_RETURN_IF_ERROR(
      Cuda(LaunchYoloPostprocess(output, half_input, batch, options_.conf_threshold,
                                 options_.iou_threshold, options_.max_detections,
                                 options_.class_aware, buf_, stream),
           "YOLO postprocess kernels"));
  RIDGE_RETURN_IF_ERROR(Cuda(cudaMemcpyAsync(host_counts_, buf_.num_dets, batch * sizeof(int),
                                             cudaMemcpyDeviceToHost, stream),
                             "detection counts D2H"));
  RIDGE_RETURN_IF_ERROR(
      Cuda(cudaMemcpyAsync(host_dets_, buf_.dets,
                           size_t(batch) * options_.max_detections * sizeof(DeviceDetection),
                           cudaMemcpyDeviceToHost, stream),
           "detections D2H"));
  last_batch_ = batch;
  return Status::Ok();
}

Result<std::vector<Detection>> GpuYoloPostprocessor::Collect(int image,
                                                             const ResizeGeometry* geometry,
                                                             int src_w, int src_h) const {
  if (image < 0 || image >= last_batch_) {
    return InvalidArgument("image " + std::to_string(image) + " is not in the last batch of " +
                           std::to_string(last_batch_));
  }
  RIDGE_RETURN_IF_ERROR(ValidateMapping(geometry, src_w, src_h));
  const int count = host_counts_[image];
  if (count < 0 || count > options_.max_detections) {
    return Internal("GPU NMS returned " + std::to_string(count) + " detections");
  }
  std::vector<Detection> dets(static_cast<size_t>(count));
  if (count > 0) {
    std::memcpy(dets.data(), host_dets_ + size_t(image) * options_.max_detections,
                size_t(count) * sizeof(Detection));
  }
  MapAndClip(geometry, src_w, src_h, &dets);
  return dets;
}

Result<std::unique_ptr<GpuSoftmaxTopK>> GpuSoftmaxTopK::Create(int classes, int k, int max_batch) {
  if (classes < 1 || classes > kMaxClasses) {
    return InvalidArgument("classes must be in 1.." + std::to_string(kMaxClasses));
  }
  if (k < 1 || k > classes) {
    return InvalidArgument("top-k needs 1 <= k <= classes (k = " + std::to_string(k) +
                           ", classes = " + std::to_string(classes) + ")");
  }
  if (max_batch < 1 || max_batch > kMaxBatch) {
    return InvalidArgument("max_batch must be in 1.." + std::to_string(kMaxBatch));
  }
  std::unique_ptr<GpuSoftmaxTopK> p(new GpuSoftmaxTopK());
  p->classes_ = classes;
  p->k_ = k;
  p->max_batch_ = max_batch;
  // One block: ids [B, k], probs [B, k], status [B], bad index [B] (all 4-byte).
  const size_t words = 2 * size_t(max_batch) * k + 2 * size_t(max_batch);
  void* dev = nullptr;
  RIDGE_RETURN_IF_ERROR(Cuda(cudaMalloc(&dev, words * 4), "cudaMalloc"));
  p->ids_ = static_cast<int*>(dev);
  p->probs_ = reinterpret_cast<float*>(p->ids_ + size_t(max_batch) * k);
  p->status_ = reinterpret_cast<int*>(p->probs_ + size_t(max_batch) * k);
  p->bad_index_ = p->status_ + max_batch;
  RIDGE_RETURN_IF_ERROR(Cuda(cudaMallocHost(&p->host_, words * 4), "cudaMallocHost"));
  return p;
}

GpuSoftmaxTopK::~GpuSoftmaxTopK() {
  if (ids_) cudaFree(ids_);
  if (host_) cudaFreeHost(host_);
}

Status GpuSoftmaxTopK::Enqueue(const void* logits, bool half_input, int batch,
                               cudaStream_t stream) {
  if (logits == nullptr) return InvalidArgument("logits pointer is null");
  if (batch < 1 || batch > max_batch_) {
    return InvalidArgument("batch " + std::to_string(batch) + " is not in 1.." +
                           std::to_string(max_batch_));
  }
  RIDGE_RETURN_IF_ERROR(Cuda(LaunchSoftmaxTopK(logits, half_input, batch, classes_, k_, ids_,
                                               probs_, status_, bad_index_, stream),
                             "softmax top-k kernel"));
  const size_t words = 2 * size_t(max_batch_) * k_ + 2 * size_t(max_batch_);
  RIDGE_RETURN_IF_ERROR(
      Cuda(cudaMemcpyAsync(host_, ids_, words * 4, cudaMemcpyDeviceToHost, stream), "top-k D2H"));
  last_batch_ = batch;
  return Status::Ok();
}

Result<std::vector<Classification>> GpuSoftmaxTopK::Collect(int image) const {
  if (image < 0 || image >= last_batch_) {
    return InvalidArgument("image " + std::to_string(image) + " is not in the last batch of " +
                           std::to_string(last_batch_));
  }
  const int* ids = static_cast<const int*>(host_);
  const float* probs = reinterpret_cast<const float*>(ids + size_t(max_batch_) * k_);
  const int* status = reinterpret_cast<const int*>(probs + size_t(max_batch_) * k_);
  const int* bad = status + max_batch_;
  switch (status[image]) {
    case 0:
      break;
    case 1:
    case 2:
      return InvalidArgument("logit " + std::to_string(bad[image]) + " is " +
                             (status[image] == 1 ? "NaN" : "+inf") + "; softmax is undefined");
    case 3:
      return InvalidArgument("all " + std::to_string(classes_) + " logits are -inf");
    default:
      return Internal("GPU top-k returned status " + std::to_string(status[image]));
  }
  std::vector<Classification> out(static_cast<size_t>(k_));
  for (int i = 0; i < k_; ++i) {
    size_t o = size_t(image) * k_ + i;
    out[static_cast<size_t>(i)] = {ids[o], probs[o]};
  }
  return out;
}

}  // namespace ridge::vision::cuda
