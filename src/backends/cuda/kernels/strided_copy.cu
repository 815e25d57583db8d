#include <cstdint>

#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/strided_copy.cuh"

namespace ridge::cuda::kernels {
namespace {

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

}  // namespace

void LaunchStridedCopy(int elem_bytes, const void* x, void* y, int rank, const int64_t* dims,
                       const int64_t* x_strides, const int64_t* y_strides, cudaStream_t s) {
  Box b{};
  b.rank = rank;
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    b.dims[d] = dims[d];
    b.xs[d] = x_strides[d];
    b.ys[d] = y_strides[d];
    n *= dims[d];
  }
  if (n == 0) return;
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
