// Strided copy of a rank <= 6 box: y[sum c_d * ys_d] = x[sum c_d * xs_d] for every coordinate c
// of `dims`. One kernel serves Concat (a dense input into a strided window of the output), Slice
// and Split (a strided window of the input into a dense output), in either layout.
//
// The copy is memory bound, so the launcher first plans it on the host (PlanStridedCopy): strides
// become byte strides with the element as an innermost dim of elem_bytes bytes, dims of size 1
// go, and neighbouring dims that are contiguous in both x and y merge (an NHWC channel concat
// becomes [N*H*W, C_i * elem_bytes] with the y rows C_total apart). The copy then moves the
// widest unit (16, 8, 4, 2 or 1 bytes) that divides the innermost run, both base addresses and
// every outer stride, one thread per unit, with 32-bit index math (division by a multiply-high)
// whenever the unit count and the offsets fit.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

void LaunchStridedCopy(int elem_bytes, const void* x, void* y, int rank, const int64_t* dims,
                       const int64_t* x_strides, const int64_t* y_strides, cudaStream_t s);

// The previous kernel (one thread per element, 64-bit div/mod per dim, elem_bytes 2 or 4 only):
// kept as the baseline the timing test compares against.
void LaunchStridedCopyGeneral(int elem_bytes, const void* x, void* y, int rank, const int64_t* dims,
                              const int64_t* x_strides, const int64_t* y_strides, cudaStream_t s);

// How LaunchStridedCopy moves a box; host-only (tests check it without a GPU).
struct StridedCopyPlan {
  static constexpr int kMaxRank = 7;  // 6 dims + the bytes of one element
  int rank = 0;                       // outermost first; 0 with count 0: nothing to copy
  int width = 1;                      // bytes per unit: 16, 8, 4, 2 or 1
  int64_t count = 0;                  // units to copy (product of dims)
  int64_t dims[kMaxRank] = {};
  int64_t xs[kMaxRank] = {}, ys[kMaxRank] = {};  // strides in units of `width` bytes
  bool index32 = false;  // count and every |offset| below 2^31: 32-bit index math
};

// rank in [0, 6] (0: one element), elem_bytes >= 1, strides in elements (may be negative or 0).
// Dims <= 0, a bad rank or elem_bytes, or sizes whose byte counts overflow int64 give count 0.
StridedCopyPlan PlanStridedCopy(int elem_bytes, const void* x, const void* y, int rank,
                                const int64_t* dims, const int64_t* x_strides,
                                const int64_t* y_strides);

// n / d for n < 2^31 and a divisor 1 <= d <= 2^31 fixed at launch: q = (mulhi(n, mul) + n) >> shift
// (Granlund and Montgomery, "Division by invariant integers using multiplication", PLDI 1994,
// figure 4.1; its two shifts fold into one because n < 2^31 keeps mulhi + n within 32 bits).
struct FastDivU31 {
  uint32_t mul = 1, shift = 0;

  static FastDivU31 Make(uint32_t d) {
    FastDivU31 f;
    uint32_t l = 0;
    while ((uint64_t{1} << l) < d) ++l;  // l = ceil(log2 d) <= 31
    f.mul = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << l) - d)) / d + 1);
    f.shift = l;
    return f;
  }
  __host__ __device__ uint32_t Div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    const uint32_t t = __umulhi(n, mul);
#else
    const uint32_t t = static_cast<uint32_t>((uint64_t{n} * mul) >> 32);
#endif
    return (t + n) >> shift;
  }
};

// Nearest-neighbour resize of NHWC activations: source row = min(floor(oy / scale_h), h - 1)
// (ONNX coordinate_transformation_mode asymmetric, nearest_mode floor), same for columns.
void LaunchResizeNearestNhwc(int elem_bytes, const void* x, void* y, int64_t n, int64_t h,
                             int64_t w, int64_t c, int64_t oh, int64_t ow, float scale_h,
                             float scale_w, cudaStream_t s);

}  // namespace ridge::cuda::kernels
