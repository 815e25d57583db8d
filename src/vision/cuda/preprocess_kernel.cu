#include <cuda_fp16.h>

#include <cstring>

#include "vision/cuda/preprocess_kernel.cuh"

namespace ridge::vision::cuda::kernels {
namespace {

// Each thread makes 4 consecutive output pixels of one row, so an NCHW plane store is 8 bytes
// (fp16) or 16 bytes (fp32) and a warp writes 256 / 512 contiguous bytes per plane. A block is
// 128 columns x 8 rows; the grid is (columns, rows, frames).
constexpr int kPixelsPerThread = 4;
constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

template <int kCap>
struct LaunchParams {
  KernelConfig config;
  FrameParams frames[kCap];
};

// One axis of the half-pixel mapping, exactly as PreprocessReference's ComputeTaps computes it:
// s = (o + 0.5 - offset) / scale - 0.5, clamped to [0, size - 1]; the __f*_rn intrinsics keep
// nvcc from contracting into FMAs, which would round differently from the host.
struct Tap {
  int lo, hi;
  float frac;
};
__device__ __forceinline__ Tap AxisTap(int o, int size, float scale, float offset) {
  float s =
      __fsub_rn(__fdiv_rn(__fsub_rn(__fadd_rn(static_cast<float>(o), 0.5f), offset), scale), 0.5f);
  s = fminf(fmaxf(s, 0.0f), static_cast<float>(size - 1));
  Tap t;
  t.lo = static_cast<int>(floorf(s));
  t.hi = min(t.lo + 1, size - 1);
  t.frac = __fsub_rn(s, static_cast<float>(t.lo));
  return t;
}

__device__ __forceinline__ float Lerp(float a, float b, float f) {
  return __fadd_rn(a, __fmul_rn(__fsub_rn(b, a), f));
}

__device__ __forceinline__ float Load(const uint8_t* p) { return static_cast<float>(__ldg(p)); }

template <typename OutT>
__device__ __forceinline__ OutT Cast(float v);
template <>
__device__ __forceinline__ float Cast<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half Cast<__half>(float v) {
  return __float2half_rn(v);
}

// Stores 4 values (one channel, 4 consecutive pixels) to 4 consecutive outputs, aligned.
__device__ __forceinline__ void Store4(float* p, const float (&o)[kPixelsPerThread]) {
  *reinterpret_cast<float4*>(p) = make_float4(o[0], o[1], o[2], o[3]);
}
__device__ __forceinline__ void Store4(__half* p, const float (&o)[kPixelsPerThread]) {
  __half2 a = __halves2half2(__float2half_rn(o[0]), __float2half_rn(o[1]));
  __half2 b = __halves2half2(__float2half_rn(o[2]), __float2half_rn(o[3]));
  uint2 u;
  std::memcpy(&u.x, &a, 4);
  std::memcpy(&u.y, &b, 4);
  *reinterpret_cast<uint2*>(p) = u;
}

// out: [count, 3, out_height, out_width] (NCHW) or [count, out_height, out_width, 3] (NHWC).
// `vector_ok`: out_width % 4 == 0 and out 16-byte aligned, so every 4-pixel group can be stored
// with aligned vector stores (frame, plane and row offsets are then multiples of 4 elements).
template <typename OutT, bool kNchw, int kCap>
__global__ void __launch_bounds__(kBlockX* kBlockY)
    preprocess_bilinear_u8_kernel(const __grid_constant__ LaunchParams<kCap> p,
                                  OutT* __restrict__ out, bool vector_ok) {
  const KernelConfig& cfg = p.config;
  const FrameParams& f = p.frames[blockIdx.z];
  const int ow = cfg.out_width;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  const int x0 = (blockIdx.x * kBlockX + threadIdx.x) * kPixelsPerThread;
  if (y >= cfg.out_height || x0 >= ow) return;

  // v[c][k]: the rounded 8-bit value of output channel c at pixel x0 + k.
  float v[3][kPixelsPerThread];
#pragma unroll
  for (int c = 0; c < 3; ++c) {
#pragma unroll
    for (int k = 0; k < kPixelsPerThread; ++k) v[c][k] = cfg.pad;
  }
  if (y >= f.content_y0 && y < f.content_y1) {
    const Tap ty = AxisTap(y, f.height, f.scale_y, f.offset_y);
    const uint8_t* r0 = f.src + ty.lo * f.stride;
    const uint8_t* r1 = f.src + ty.hi * f.stride;
#pragma unroll
    for (int k = 0; k < kPixelsPerThread; ++k) {
      const int x = x0 + k;
      if (x >= ow || x < f.content_x0 || x >= f.content_x1) continue;
      const Tap tx = AxisTap(x, f.width, f.scale_x, f.offset_x);
      const int lo = tx.lo * 3, hi = tx.hi * 3;
#pragma unroll
      for (int c = 0; c < 3; ++c) {
        const int sc = cfg.src_channel[c];
        const float top = Lerp(Load(r0 + lo + sc), Load(r0 + hi + sc), tx.frac);
        const float bottom = Lerp(Load(r1 + lo + sc), Load(r1 + hi + sc), tx.frac);
        v[c][k] = floorf(__fadd_rn(Lerp(top, bottom, ty.frac), 0.5f));
      }
    }
  }

  float o[3][kPixelsPerThread];
#pragma unroll
  for (int c = 0; c < 3; ++c) {
#pragma unroll
    for (int k = 0; k < kPixelsPerThread; ++k) {
      o[c][k] = __fadd_rn(__fmul_rn(v[c][k], cfg.mul[c]), cfg.add[c]);
    }
  }

  const int64_t plane = int64_t{ow} * cfg.out_height;
  OutT* frame = out + blockIdx.z * 3 * plane;
  const int64_t pixel = int64_t{y} * ow + x0;
  if (vector_ok) {
    if constexpr (kNchw) {
#pragma unroll
      for (int c = 0; c < 3; ++c) Store4(frame + c * plane + pixel, o[c]);
    } else {
      // 4 pixels x 3 channels are 12 consecutive values: three aligned 4-value stores.
      float t[3][kPixelsPerThread];
#pragma unroll
      for (int i = 0; i < 3 * kPixelsPerThread; ++i) {
        t[i / kPixelsPerThread][i % kPixelsPerThread] = o[i % 3][i / 3];
      }
#pragma unroll
      for (int j = 0; j < 3; ++j) Store4(frame + pixel * 3 + j * kPixelsPerThread, t[j]);
    }
    return;
  }
#pragma unroll
  for (int k = 0; k < kPixelsPerThread; ++k) {
    if (x0 + k >= ow) break;
#pragma unroll
    for (int c = 0; c < 3; ++c) {
      const int64_t i = kNchw ? c * plane + pixel + k : (pixel + k) * 3 + c;
      frame[i] = Cast<OutT>(o[c][k]);
    }
  }
}

template <typename OutT, bool kNchw, int kCap>
cudaError_t Launch(const KernelConfig& config, const FrameParams* frames, int count, void* out,
                   cudaStream_t stream) {
  LaunchParams<kCap> p;
  p.config = config;
  for (int i = 0; i < count; ++i) p.frames[i] = frames[i];
  // Unused slots are never read (gridDim.z == count) but are zeroed so nothing uninitialized
  // is copied into the launch.
  for (int i = count; i < kCap; ++i) p.frames[i] = FrameParams{};
  const int groups = (config.out_width + kPixelsPerThread - 1) / kPixelsPerThread;
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid((groups + kBlockX - 1) / kBlockX, (config.out_height + kBlockY - 1) / kBlockY,
                  count);
  const bool vector_ok =
      config.out_width % kPixelsPerThread == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  preprocess_bilinear_u8_kernel<OutT, kNchw, kCap>
      <<<grid, block, 0, stream>>>(p, static_cast<OutT*>(out), vector_ok);
  return cudaGetLastError();
}

template <typename OutT, bool kNchw>
cudaError_t LaunchSized(const KernelConfig& config, const FrameParams* frames, int count, void* out,
                        cudaStream_t stream) {
  // The parameter block is copied with every launch: the smallest one that holds `count`.
  if (count <= 1) return Launch<OutT, kNchw, 1>(config, frames, count, out, stream);
  if (count <= 8) return Launch<OutT, kNchw, 8>(config, frames, count, out, stream);
  if (count <= 64) return Launch<OutT, kNchw, 64>(config, frames, count, out, stream);
  return Launch<OutT, kNchw, kMaxFramesPerLaunch>(config, frames, count, out, stream);
}

}  // namespace

cudaError_t LaunchPreprocess(const KernelConfig& config, const FrameParams* frames, int count,
                             void* out, cudaStream_t stream) {
  if (count < 1 || count > kMaxFramesPerLaunch) return cudaErrorInvalidValue;
  if (config.fp16) {
    return config.nchw ? LaunchSized<__half, true>(config, frames, count, out, stream)
                       : LaunchSized<__half, false>(config, frames, count, out, stream);
  }
  return config.nchw ? LaunchSized<float, true>(config, frames, count, out, stream)
                     : LaunchSized<float, false>(config, frames, count, out, stream);
}

}  // namespace ridge::vision::cuda::kernels
