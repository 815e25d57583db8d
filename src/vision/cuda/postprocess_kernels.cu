// GPU postprocessing kernels. The arithmetic is the reference's (src/vision/postprocess.h),
// spelled with explicitly rounded intrinsics (__fsub_rn, __fmul_rn, ...) so nvcc cannot contract
// anything into an FMA and the kept boxes match the CPU bit for bit.
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <cub/block/block_reduce.cuh>
#include <cub/device/device_segmented_sort.cuh>

#include "vision/cuda/postprocess_kernels.cuh"

namespace ridge::vision::cuda {
namespace {

constexpr int kDecodeThreads = 256;
constexpr int kMaskThreads = 64;  // one 64-bit mask word per row and tile
constexpr int kNmsThreads = 256;
constexpr int kTopKThreads = 256;

__device__ __forceinline__ float ToFloat(float v) { return v; }
__device__ __forceinline__ float ToFloat(__half v) { return __half2float(v); }

// Maps a score to 32 bits whose ascending order is the score's descending order (-0 as +0).
__device__ __forceinline__ uint32_t DescendingScoreBits(float s) {
  if (s == 0.0f) s = 0.0f;
  uint32_t u = __float_as_uint(s);
  uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ~ascending;
}

// One thread per anchor: class argmax (first maximum, NaN never wins), threshold, box, and a
// compacted key (score desc | anchor) whose sort gives the reference's candidate order.
template <typename T>
__global__ void yolo_decode_kernel(const T* __restrict__ out,  // [batch, rows, anchors]
                                   int rows, int anchors, float conf,
                                   uint64_t* keys,  // [batch, anchors] compacted
                                   float4* boxes,   // [batch, anchors] by anchor
                                   float* scores,   // [batch, anchors]
                                   int* classes,    // [batch, anchors]
                                   int* counts) {   // [batch]
  const int b = blockIdx.y;
  const int a = blockIdx.x * blockDim.x + threadIdx.x;
  if (a >= anchors) return;
  const size_t n = static_cast<size_t>(anchors);
  const T* img = out + static_cast<size_t>(b) * rows * n;
  float best = -INFINITY;
  int best_class = -1;
  for (int c = 4; c < rows; ++c) {
    float v = ToFloat(img[static_cast<size_t>(c) * n + a]);
    if (v > best) {
      best = v;
      best_class = c - 4;
    }
  }
  if (!(best > conf)) return;
  float cx = ToFloat(img[a]), cy = ToFloat(img[n + a]);
  float hw = __fmul_rn(ToFloat(img[2 * n + a]), 0.5f);
  float hh = __fmul_rn(ToFloat(img[3 * n + a]), 0.5f);
  float4 box =
      make_float4(__fsub_rn(cx, hw), __fsub_rn(cy, hh), __fadd_rn(cx, hw), __fadd_rn(cy, hh));
  if (!isfinite(box.x) || !isfinite(box.y) || !isfinite(box.z) || !isfinite(box.w)) return;
  const size_t slot = static_cast<size_t>(b) * n + a;
  boxes[slot] = box;
  scores[slot] = best;
  classes[slot] = best_class;
  int pos = atomicAdd(&counts[b], 1);  // order of slots is random; the sort fixes it
  keys[static_cast<size_t>(b) * n + pos] =
      (static_cast<uint64_t>(DescendingScoreBits(best)) << 32) | static_cast<uint32_t>(a);
}

__global__ void segment_ends_kernel(const int* counts, int batch, int anchors, int* seg_end) {
  int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b < batch) seg_end[b] = b * anchors + counts[b];
}

// Sorted position i -> candidate arrays [batch, N]; only the first N (max_candidates) survive.
__global__ void yolo_gather_kernel(const uint64_t* sorted, const float4* boxes, const float* scores,
                                   const int* classes, const int* counts, int anchors, int cap,
                                   float4* cand_boxes, float* cand_scores, int* cand_classes) {
  const int b = blockIdx.y;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= min(counts[b], cap)) return;
  const size_t base = static_cast<size_t>(b) * anchors;
  const uint32_t a = static_cast<uint32_t>(sorted[base + i] & 0xffffffffu);
  const size_t dst = static_cast<size_t>(b) * cap + i;
  cand_boxes[dst] = boxes[base + a];
  cand_scores[dst] = scores[base + a];
  cand_classes[dst] = classes[base + a];
}

// BoxIoU of postprocess.cc, step by step (x1 y1 x2 y2 = x y z w).
__device__ __forceinline__ float BoxIoU(float4 a, float4 b) {
  float area_a = __fmul_rn(fmaxf(0.0f, __fsub_rn(a.z, a.x)), fmaxf(0.0f, __fsub_rn(a.w, a.y)));
  float area_b = __fmul_rn(fmaxf(0.0f, __fsub_rn(b.z, b.x)), fmaxf(0.0f, __fsub_rn(b.w, b.y)));
  if (!(area_a > 0.0f) || !(area_b > 0.0f)) return 0.0f;
  float iw = fmaxf(0.0f, __fsub_rn(fminf(a.z, b.z), fmaxf(a.x, b.x)));
  float ih = fmaxf(0.0f, __fsub_rn(fminf(a.w, b.w), fmaxf(a.y, b.y)));
  float inter = __fmul_rn(iw, ih);
  float uni = __fsub_rn(__fadd_rn(area_a, area_b), inter);
  return __fdiv_rn(inter, uni);
}

// Upper-triangle 64x64 tiles of each image's IoU matrix, grid-strided (the candidate count is
// only known on the device). Row i's word c has bit j-64c set when j > i is suppressed by i.
__global__ void nms_mask_kernel(const float4* cand_boxes,  // [batch, cap]
                                const int* cand_classes,   // [batch, cap]
                                const int* counts, int cap, int words, float iou_threshold,
                                bool class_aware,
                                uint64_t* mask) {  // [batch, cap, words]
  __shared__ float4 col_boxes[kMaskThreads];
  __shared__ int col_classes[kMaskThreads];
  const int b = blockIdx.y;
  const int n = min(counts[b], cap);
  const int nw = (n + 63) / 64;
  const size_t base = static_cast<size_t>(b) * cap;
  for (int t = blockIdx.x; t < nw * nw; t += gridDim.x) {
    const int r = t / nw, c = t % nw;
    if (c < r) continue;  // uniform across the block
    const int j0 = c * 64;
    if (j0 + threadIdx.x < n) {
      col_boxes[threadIdx.x] = cand_boxes[base + j0 + threadIdx.x];
      col_classes[threadIdx.x] = cand_classes[base + j0 + threadIdx.x];
    }
    __syncthreads();
    const int i = r * 64 + threadIdx.x;
    if (i < n) {
      const float4 box = cand_boxes[base + i];
      const int cls = cand_classes[base + i];
      uint64_t bits = 0;
      const int jn = min(64, n - j0);
      for (int jj = 0; jj < jn; ++jj) {
        if (j0 + jj <= i) continue;
        if (class_aware && col_classes[jj] != cls) continue;
        if (BoxIoU(box, col_boxes[jj]) > iou_threshold) bits |= uint64_t{1} << jj;
      }
      mask[(base + i) * words + c] = bits;
    }
    __syncthreads();
  }
}

// One block per image: the greedy pass over the sorted candidates with a shared removed-set.
__global__ void nms_greedy_kernel(const float4* cand_boxes, const float* cand_scores,
                                  const int* cand_classes, const int* counts, int cap, int words,
                                  const uint64_t* mask, int max_detections,
                                  DeviceDetection* dets,  // [batch, max_detections]
                                  int* num_dets) {        // [batch]
  extern __shared__ uint64_t removed[];                   // [words]
  const int b = blockIdx.x;
  const int n = min(counts[b], cap);
  const int nw = (n + 63) / 64;
  const size_t base = static_cast<size_t>(b) * cap;
  for (int w = threadIdx.x; w < nw; w += blockDim.x) removed[w] = 0;
  __syncthreads();
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    if ((removed[i >> 6] >> (i & 63)) & 1) continue;  // every thread sees the same word
    __syncthreads();  // all have read the word before anyone ORs into it
    if (threadIdx.x == 0) {
      float4 box = cand_boxes[base + i];
      dets[static_cast<size_t>(b) * max_detections + kept] = DeviceDetection{
          box.x, box.y, box.z, box.w, cand_scores[base + i], cand_classes[base + i]};
    }
    if (++kept >= max_detections) break;
    const uint64_t* row = mask + (base + i) * words;
    for (int w = (i >> 6) + threadIdx.x; w < nw; w += blockDim.x) removed[w] |= row[w];
    __syncthreads();
  }
  if (threadIdx.x == 0) num_dets[b] = kept;
}

struct Ranked {
  float v;
  int id;  // -1: none
};
// Logit descending, ties by lower id; "none" ranks last.
__device__ __forceinline__ bool Better(Ranked a, Ranked b) {
  if (a.id < 0) return false;
  if (b.id < 0) return true;
  return a.v > b.v || (a.v == b.v && a.id < b.id);
}
struct BetterOp {
  __device__ Ranked operator()(Ranked a, Ranked b) const { return Better(a, b) ? a : b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct MinIntOp {
  __device__ int operator()(int a, int b) const { return min(a, b); }
};
struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// One block per image: checks, max, sum of exp (double), then k selection rounds, each picking
// the best logit ranked after the previous pick.
template <typename T>
__global__ void softmax_topk_kernel(const T* __restrict__ logits,                // [batch, classes]
                                    int classes, int k, int* ids, float* probs,  // [batch, k]
                                    int* status, int* bad_index) {               // [batch]
  __shared__ union {
    typename cub::BlockReduce<float, kTopKThreads>::TempStorage f;
    typename cub::BlockReduce<int, kTopKThreads>::TempStorage i;
    typename cub::BlockReduce<double, kTopKThreads>::TempStorage d;
    typename cub::BlockReduce<Ranked, kTopKThreads>::TempStorage r;
  } temp;
  __shared__ float s_max;
  __shared__ int s_bad;
  __shared__ double s_sum;
  __shared__ Ranked s_best;
  const int b = blockIdx.x;
  const T* x = logits + static_cast<size_t>(b) * classes;
  float m = -INFINITY;
  int bad = INT_MAX;
  for (int i = threadIdx.x; i < classes; i += blockDim.x) {
    float v = ToFloat(x[i]);
    if (isnan(v) || v == INFINITY) {
      bad = min(bad, i);
    } else {
      m = fmaxf(m, v);
    }
  }
  float block_max = cub::BlockReduce<float, kTopKThreads>(temp.f).Reduce(m, MaxOp());
  __syncthreads();
  int block_bad = cub::BlockReduce<int, kTopKThreads>(temp.i).Reduce(bad, MinIntOp());
  if (threadIdx.x == 0) {
    s_max = block_max;
    s_bad = block_bad;
  }
  __syncthreads();
  if (s_bad != INT_MAX || s_max == -INFINITY) {
    if (threadIdx.x == 0) {
      status[b] = s_bad == INT_MAX ? 3 : (isnan(ToFloat(x[s_bad])) ? 1 : 2);
      bad_index[b] = s_bad == INT_MAX ? -1 : s_bad;
    }
    return;
  }
  m = s_max;
  double sum = 0.0;
  for (int i = threadIdx.x; i < classes; i += blockDim.x) sum += expf(ToFloat(x[i]) - m);
  double block_sum = cub::BlockReduce<double, kTopKThreads>(temp.d).Reduce(sum, SumOp());
  if (threadIdx.x == 0) s_sum = block_sum;
  __syncthreads();
  Ranked prev{INFINITY, -1};
  for (int r = 0; r < k; ++r) {
    Ranked best{0.0f, -1};
    for (int i = threadIdx.x; i < classes; i += blockDim.x) {
      float v = ToFloat(x[i]);
      bool after_prev = v < prev.v || (v == prev.v && i > prev.id);
      Ranked cand{v, i};
      if (after_prev && Better(cand, best)) best = cand;
    }
    Ranked block_best = cub::BlockReduce<Ranked, kTopKThreads>(temp.r).Reduce(best, BetterOp());
    if (threadIdx.x == 0) {
      s_best = block_best;
      size_t o = static_cast<size_t>(b) * k + r;
      ids[o] = block_best.id;
      probs[o] = static_cast<float>(static_cast<double>(expf(block_best.v - m)) / s_sum);
    }
    __syncthreads();
    prev = s_best;
  }
  if (threadIdx.x == 0) {
    status[b] = 0;
    bad_index[b] = -1;
  }
}

}  // namespace

cudaError_t YoloSortTempBytes(int batch, int anchors, size_t* bytes) {
  *bytes = 0;
  return cub::DeviceSegmentedSort::SortKeys(
      nullptr, *bytes, static_cast<const uint64_t*>(nullptr), static_cast<uint64_t*>(nullptr),
      static_cast<int64_t>(batch) * anchors, batch, static_cast<const int*>(nullptr),
      static_cast<const int*>(nullptr));
}

cudaError_t LaunchYoloPostprocess(const void* output, bool half_input, int batch,
                                  float conf_threshold, float iou_threshold, int max_detections,
                                  bool class_aware, const YoloDeviceBuffers& buf,
                                  cudaStream_t stream) {
  const int anchors = buf.anchors, cap = buf.max_candidates, words = buf.mask_words;
  cudaError_t e = cudaMemsetAsync(buf.counts, 0, sizeof(int) * batch, stream);
  if (e != cudaSuccess) return e;
  dim3 decode_grid((anchors + kDecodeThreads - 1) / kDecodeThreads, batch);
  if (half_input) {
    yolo_decode_kernel<<<decode_grid, kDecodeThreads, 0, stream>>>(
        static_cast<const __half*>(output), buf.rows, anchors, conf_threshold, buf.keys, buf.boxes,
        buf.scores, buf.classes, buf.counts);
  } else {
    yolo_decode_kernel<<<decode_grid, kDecodeThreads, 0, stream>>>(
        static_cast<const float*>(output), buf.rows, anchors, conf_threshold, buf.keys, buf.boxes,
        buf.scores, buf.classes, buf.counts);
  }
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  segment_ends_kernel<<<(batch + 127) / 128, 128, 0, stream>>>(buf.counts, batch, anchors,
                                                               buf.seg_end);
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  size_t temp_bytes = buf.sort_temp_bytes;
  e = cub::DeviceSegmentedSort::SortKeys(buf.sort_temp, temp_bytes, buf.keys, buf.sorted,
                                         static_cast<int64_t>(batch) * anchors, batch,
                                         buf.seg_begin, buf.seg_end, stream);
  if (e != cudaSuccess) return e;
  dim3 gather_grid((cap + 255) / 256, batch);
  yolo_gather_kernel<<<gather_grid, 256, 0, stream>>>(
      buf.sorted, buf.boxes, buf.scores, buf.classes, buf.counts, anchors, cap, buf.cand_boxes,
      buf.cand_scores, buf.cand_classes);
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  dim3 mask_grid(static_cast<unsigned>(std::min(words * words, 256)), batch);
  nms_mask_kernel<<<mask_grid, kMaskThreads, 0, stream>>>(buf.cand_boxes, buf.cand_classes,
                                                          buf.counts, cap, words, iou_threshold,
                                                          class_aware, buf.mask);
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  nms_greedy_kernel<<<batch, kNmsThreads, sizeof(uint64_t) * words, stream>>>(
      buf.cand_boxes, buf.cand_scores, buf.cand_classes, buf.counts, cap, words, buf.mask,
      max_detections, buf.dets, buf.num_dets);
  return cudaGetLastError();
}

cudaError_t LaunchSoftmaxTopK(const void* logits, bool half_input, int batch, int classes, int k,
                              int* ids, float* probs, int* status, int* bad_index,
                              cudaStream_t stream) {
  if (half_input) {
    softmax_topk_kernel<<<batch, kTopKThreads, 0, stream>>>(
        static_cast<const __half*>(logits), classes, k, ids, probs, status, bad_index);
  } else {
    softmax_topk_kernel<<<batch, kTopKThreads, 0, stream>>>(
        static_cast<const float*>(logits), classes, k, ids, probs, status, bad_index);
  }
  return cudaGetLastError();
}

}  // namespace ridge::vision::cuda
