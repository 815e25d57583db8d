#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/strided_copy.cuh"

namespace ridge::cuda::kernels {
namespace {

constexpr int kMax = StridedCopyPlan::kMaxRank;
constexpr int kThreads = 256;
constexpr int kUnroll = 4;  // units in flight per thread: loads first, then stores

// ---- general kernel (the previous one): one element per thread, 64-bit div/mod ----

struct Box {
  int32_t rank;
  int64_t dims[6], xs[6], ys[6];
};

template <typename T>
__global__ void strided_copy_kernel(const T* x, T* y, int64_t n, Box b) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rem = i, xo = 0, yo = 0;
    for (int d = b.rank - 1; d >= 0; --d) {
      const int64_t c = rem % b.dims[d];
      rem /= b.dims[d];
      xo += c * b.xs[d];
      yo += c * b.ys[d];
    }
    y[yo] = x[xo];
  }
}

// ---- planned kernels: one unit (1..16 bytes) per thread ----

// R dims (outermost first), 32-bit: the plan is left-padded with size-1 dims to R.
template <int R>
struct Box32 {
  FastDivU31 div[R];
  int32_t dims[R], xs[R], ys[R];
};

template <int R>
__device__ __forceinline__ void Offsets32(const Box32<R>& b, uint32_t i, int32_t* xo, int32_t* yo) {
  int32_t x = 0, y = 0;
#pragma unroll
  for (int d = R - 1; d > 0; --d) {
    const uint32_t q = b.div[d].Div(i);
    const int32_t c = static_cast<int32_t>(i - q * static_cast<uint32_t>(b.dims[d]));
    x += c * b.xs[d];
    y += c * b.ys[d];
    i = q;
  }
  *xo = x + static_cast<int32_t>(i) * b.xs[0];
  *yo = y + static_cast<int32_t>(i) * b.ys[0];
}

// n < 2^31 and the grid has fewer than 2^20 threads, so base + kUnroll * stride stays below
// 2^32: the unsigned loop cannot wrap.
template <typename V, int R>
__global__ void __launch_bounds__(kThreads)
    strided_copy32_kernel(const V* x, V* y, uint32_t n, Box32<R> b) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t base = blockIdx.x * blockDim.x + threadIdx.x; base < n; base += kUnroll * stride) {
    V v[kUnroll];
    int32_t yo[kUnroll];
#pragma unroll
    for (int k = 0; k < kUnroll; ++k) {
      const uint32_t i = base + k * stride;
      if (i < n) {
        int32_t xo;
        Offsets32(b, i, &xo, &yo[k]);
        v[k] = x[xo];
      }
    }
#pragma unroll
    for (int k = 0; k < kUnroll; ++k)
      if (base + k * stride < n) y[yo[k]] = v[k];
  }
}

// Copies too large for 32-bit offsets: 64-bit div/mod over the plan's kMax dims.
struct Box64 {
  int64_t dims[kMax], xs[kMax], ys[kMax];
};

template <typename V>
__global__ void __launch_bounds__(kThreads)
    strided_copy64_kernel(const V* x, V* y, int64_t n, Box64 b) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rem = i, xo = 0, yo = 0;
#pragma unroll
    for (int d = kMax - 1; d > 0; --d) {
      const int64_t c = rem % b.dims[d];
      rem /= b.dims[d];
      xo += c * b.xs[d];
      yo += c * b.ys[d];
    }
    y[yo + rem * b.ys[0]] = x[xo + rem * b.xs[0]];
  }
}

// One thread per unit up to 132 x 16 blocks (several waves of the H200's 132 SMs); larger
// copies loop, each pass of a thread moving up to kUnroll units a grid apart. Mid-size copies
// thus spread over every SM instead of filling a quarter of them with 4 units per thread.
unsigned CopyBlocks(int64_t units) {
  return static_cast<unsigned>(std::clamp<int64_t>((units + kThreads - 1) / kThreads, 1, 132 * 16));
}

template <typename V, int R>
void Launch32(const StridedCopyPlan& p, const void* x, void* y, cudaStream_t s) {
  Box32<R> b;
  const int pad = R - p.rank;  // left-pad with size-1 dims (division by 1, stride 0)
  for (int d = 0; d < R; ++d) {
    const bool real = d >= pad;
    const int64_t dim = real ? p.dims[d - pad] : 1;
    b.dims[d] = static_cast<int32_t>(dim);
    b.div[d] = FastDivU31::Make(static_cast<uint32_t>(dim));
    b.xs[d] = real ? static_cast<int32_t>(p.xs[d - pad]) : 0;
    b.ys[d] = real ? static_cast<int32_t>(p.ys[d - pad]) : 0;
  }
  strided_copy32_kernel<V, R><<<CopyBlocks(p.count), kThreads, 0, s>>>(
      static_cast<const V*>(x), static_cast<V*>(y), static_cast<uint32_t>(p.count), b);
}

template <typename V>
void LaunchUnit(const StridedCopyPlan& p, const void* x, void* y, cudaStream_t s) {
  if (p.index32) {
    if (p.rank <= 1) return Launch32<V, 1>(p, x, y, s);
    if (p.rank == 2) return Launch32<V, 2>(p, x, y, s);
    if (p.rank == 3) return Launch32<V, 3>(p, x, y, s);
    return Launch32<V, kMax>(p, x, y, s);
  }
  Box64 b;
  const int pad = kMax - p.rank;
  for (int d = 0; d < kMax; ++d) {
    const bool real = d >= pad;
    b.dims[d] = real ? p.dims[d - pad] : 1;
    b.xs[d] = real ? p.xs[d - pad] : 0;
    b.ys[d] = real ? p.ys[d - pad] : 0;
  }
  strided_copy64_kernel<V><<<CopyBlocks(p.count), kThreads, 0, s>>>(static_cast<const V*>(x),
                                                                    static_cast<V*>(y), p.count, b);
}

template <typename T>
__global__ void resize_nearest_nhwc_kernel(const T* x, T* y, int64_t n, int64_t h, int64_t w,
                                           int64_t c, int64_t oh, int64_t ow, float sh, float sw) {
  const int64_t total = n * oh * ow * c;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    int64_t r = i / c;
    const int64_t ox = r % ow;
    r /= ow;
    const int64_t oy = r % oh, b = r / oh;
    const int64_t iy = min(static_cast<int64_t>(floorf(oy / sh)), h - 1);
    const int64_t ix = min(static_cast<int64_t>(floorf(ox / sw)), w - 1);
    y[i] = x[((b * h + iy) * w + ix) * c + ch];
  }
}

// Adds (dim - 1) * |stride| to *reach; false once the sum leaves int32.
bool Reach(int64_t dim, int64_t stride, int64_t* reach) {
  constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
  if (dim > kLimit || stride < -kLimit || stride > kLimit) return false;
  const int64_t r = (dim - 1) * (stride < 0 ? -stride : stride);  // < 2^62: no overflow
  if (r > kLimit - *reach) return false;
  *reach += r;
  return true;
}

}  // namespace

StridedCopyPlan PlanStridedCopy(int elem_bytes, const void* x, const void* y, int rank,
                                const int64_t* dims, const int64_t* x_strides,
                                const int64_t* y_strides) {
  StridedCopyPlan p;
  if (rank < 0 || rank > 6 || elem_bytes < 1) return p;
  // Byte dims, innermost first: the element's bytes, then the box's dims of size > 1.
  int64_t d_in[kMax], xs_in[kMax], ys_in[kMax];
  int n = 0;
  d_in[n] = elem_bytes;
  xs_in[n] = ys_in[n] = 1;
  ++n;
  int64_t total = elem_bytes;
  for (int d = rank - 1; d >= 0; --d) {
    if (dims[d] <= 0) return p;
    if (__builtin_mul_overflow(total, dims[d], &total)) return p;
    if (dims[d] == 1) continue;
    d_in[n] = dims[d];
    if (__builtin_mul_overflow(x_strides[d], int64_t{elem_bytes}, &xs_in[n]) ||
        __builtin_mul_overflow(y_strides[d], int64_t{elem_bytes}, &ys_in[n]))
      return p;
    ++n;
  }
  // Merge an outer dim into the run below it when it continues that run in both x and y.
  int64_t md[kMax], mx[kMax], my[kMax];  // innermost first
  int m = 0;
  md[0] = d_in[0];
  mx[0] = xs_in[0];
  my[0] = ys_in[0];
  for (int k = 1; k < n; ++k) {
    int64_t run_x, run_y;
    const bool ok = !__builtin_mul_overflow(mx[m], md[m], &run_x) &&
                    !__builtin_mul_overflow(my[m], md[m], &run_y);
    if (ok && xs_in[k] == run_x && ys_in[k] == run_y) {
      md[m] *= d_in[k];  // cannot overflow: bounded by `total`
    } else {
      ++m;
      md[m] = d_in[k];
      mx[m] = xs_in[k];
      my[m] = ys_in[k];
    }
  }
  ++m;
  // The innermost dim has byte strides 1 in x and y; pick the widest unit dividing everything.
  const uintptr_t xa = reinterpret_cast<uintptr_t>(x), ya = reinterpret_cast<uintptr_t>(y);
  int w = 16;
  for (; w > 1; w /= 2) {
    bool ok = md[0] % w == 0 && xa % w == 0 && ya % w == 0;
    for (int k = 1; k < m && ok; ++k) ok = mx[k] % w == 0 && my[k] % w == 0;
    if (ok) break;
  }
  p.width = w;
  md[0] /= w;
  for (int k = 1; k < m; ++k) {
    mx[k] /= w;
    my[k] /= w;
  }
  // Outermost first, dropping dims that became 1; at least one dim remains.
  int64_t count = 1, reach_x = 0, reach_y = 0;
  bool fits = true;
  for (int k = m - 1; k >= 0; --k) {
    if (md[k] == 1 && !(k == 0 && p.rank == 0)) continue;
    p.dims[p.rank] = md[k];
    p.xs[p.rank] = mx[k];
    p.ys[p.rank] = my[k];
    ++p.rank;
    count *= md[k];
    // Largest |offset| along this dim, summed: the 32-bit offsets must not overflow.
    fits = fits && Reach(md[k], mx[k], &reach_x) && Reach(md[k], my[k], &reach_y);
  }
  p.count = count;
  p.index32 = fits && count <= std::numeric_limits<int32_t>::max();
  return p;
}

void LaunchStridedCopy(int elem_bytes, const void* x, void* y, int rank, const int64_t* dims,
                       const int64_t* x_strides, const int64_t* y_strides, cudaStream_t s) {
  const StridedCopyPlan p = PlanStridedCopy(elem_bytes, x, y, rank, dims, x_strides, y_strides);
  if (p.count == 0) return;
  switch (p.width) {
    case 16:
      return LaunchUnit<uint4>(p, x, y, s);
    case 8:
      return LaunchUnit<uint2>(p, x, y, s);
    case 4:
      return LaunchUnit<uint32_t>(p, x, y, s);
    case 2:
      return LaunchUnit<uint16_t>(p, x, y, s);
    default:
      return LaunchUnit<uint8_t>(p, x, y, s);
  }
}

void LaunchStridedCopyGeneral(int elem_bytes, const void* x, void* y, int rank, const int64_t* dims,
                              const int64_t* x_strides, const int64_t* y_strides, cudaStream_t s) {
  if (rank < 0 || rank > 6) return;
  Box b{};
  b.rank = rank;
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    b.dims[d] = dims[d];
    b.xs[d] = x_strides[d];
    b.ys[d] = y_strides[d];
    n *= dims[d];
  }
  if (n <= 0) return;
  if (elem_bytes == 2)
    strided_copy_kernel<<<dev::Blocks(n), 256, 0, s>>>(static_cast<const uint16_t*>(x),
                                                       static_cast<uint16_t*>(y), n, b);
  else
    strided_copy_kernel<<<dev::Blocks(n), 256, 0, s>>>(static_cast<const uint32_t*>(x),
                                                       static_cast<uint32_t*>(y), n, b);
}

void LaunchResizeNearestNhwc(int elem_bytes, const void* x, void* y, int64_t n, int64_t h,
                             int64_t w, int64_t c, int64_t oh, int64_t ow, float scale_h,
                             float scale_w, cudaStream_t s) {
  const unsigned blocks = dev::Blocks(n * oh * ow * c);
  if (elem_bytes == 2)
    resize_nearest_nhwc_kernel<<<blocks, 256, 0, s>>>(static_cast<const uint16_t*>(x),
                                                      static_cast<uint16_t*>(y), n, h, w, c, oh, ow,
                                                      scale_h, scale_w);
  else
    resize_nearest_nhwc_kernel<<<blocks, 256, 0, s>>>(static_cast<const uint32_t*>(x),
                                                      static_cast<uint32_t*>(y), n, h, w, c, oh, ow,
                                                      scale_h, scale_w);
}

}  // namespace ridge::cuda::kernels
