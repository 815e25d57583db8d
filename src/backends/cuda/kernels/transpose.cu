#include <cstdint>

#include "backends/cuda/kernels/transpose.cuh"

namespace ridge::cuda::kernels {
namespace {

struct PermIndex {
  int32_t rank;
  int64_t dims[6];
  int64_t strides[6];
};

template <typename T>
__global__ void transpose_kernel(const T* x, T* y, int64_t n, PermIndex p) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rem = i, src = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      src += (rem % p.dims[d]) * p.strides[d];
      rem /= p.dims[d];
    }
    y[i] = x[src];
  }
}

}  // namespace

void LaunchTranspose(int elem_bytes, const void* x, void* y, int rank, const int64_t* out_dims,
                     const int64_t* in_strides_for_out, cudaStream_t s) {
  PermIndex p{};
  p.rank = rank;
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    p.dims[d] = out_dims[d];
    p.strides[d] = in_strides_for_out[d];
    n *= out_dims[d];
  }
  int64_t b = (n + 255) / 256;
  unsigned blocks = static_cast<unsigned>(b < 1 ? 1 : (b > 132 * 16 ? 132 * 16 : b));
  if (elem_bytes == 2)
    transpose_kernel<<<blocks, 256, 0, s>>>(static_cast<const uint16_t*>(x),
                                            static_cast<uint16_t*>(y), n, p);
  else
    transpose_kernel<<<blocks, 256, 0, s>>>(static_cast<const uint32_t*>(x),
                                            static_cast<uint32_t*>(y), n, p);
}

}  // namespace ridge::cuda::kernels
