#include "backends/cuda/kernels/layout.cuh"

namespace ridge::cuda::kernels {
namespace {

constexpr int kTile = 32, kRows = 8;  // 32x32 tile, 32x8 threads, 4 rows each

// Per image b (blockIdx.z): in [rows_in, cols] -> out [cols, rows_out] with out[j][i] =
// in[i][j] for i < rows_in and 0 for rows_in <= i < rows_out.
template <typename T>
__global__ void tiled_transpose_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows_in,
                                       int64_t rows_out, int64_t cols) {
  __shared__ T tile[kTile][kTile + 1];  // +1: no bank conflicts on the transposed read
  const int64_t b = blockIdx.z;
  const int64_t i0 = int64_t{blockIdx.y} * kTile, j0 = int64_t{blockIdx.x} * kTile;
  const T* xb = x + b * rows_in * cols;
  T* yb = y + b * rows_out * cols;
  for (int r = threadIdx.y; r < kTile; r += kRows) {
    const int64_t i = i0 + r, j = j0 + threadIdx.x;
    tile[r][threadIdx.x] = (i < rows_in && j < cols) ? xb[i * cols + j] : T(0);
  }
  __syncthreads();
  for (int r = threadIdx.y; r < kTile; r += kRows) {
    const int64_t j = j0 + r, i = i0 + threadIdx.x;
    if (j < cols && i < rows_out) yb[j * rows_out + i] = tile[threadIdx.x][r];
  }
}

template <typename T>
bool Launch(const T* x, T* y, int64_t batch, int64_t rows_in, int64_t rows_out, int64_t cols,
            cudaStream_t s) {
  if (batch <= 0 || rows_out <= 0 || cols <= 0) return true;
  if ((rows_out + kTile - 1) / kTile > 65535 || batch > 65535) return false;  // grid y/z limits
  const dim3 grid(static_cast<unsigned>((cols + kTile - 1) / kTile),
                  static_cast<unsigned>((rows_out + kTile - 1) / kTile),
                  static_cast<unsigned>(batch));
  tiled_transpose_kernel<<<grid, dim3(kTile, kRows), 0, s>>>(x, y, rows_in, rows_out, cols);
  return true;
}

// Few channels padded to 16 bytes (8 fp16 / 4 fp32): one thread per pixel reads its c values
// (neighbouring threads read neighbouring pixels) and writes one 16-byte vector.
template <typename T, int kPad>
__global__ void pad_to_vector_kernel(const T* __restrict__ x, uint4* __restrict__ y, int64_t n,
                                     int64_t c, int64_t hw) {
  for (int64_t p = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; p < n * hw;
       p += int64_t{gridDim.x} * blockDim.x) {
    const int64_t b = p / hw, q = p - b * hw;
    union {
      uint4 u;
      T t[kPad];
    } v;
#pragma unroll
    for (int ch = 0; ch < kPad; ++ch) v.t[ch] = ch < c ? x[(b * c + ch) * hw + q] : T(0);
    y[p] = v.u;
  }
}

}  // namespace

bool LaunchNchwToNhwc(int elem_bytes, const void* x, void* y, int64_t n, int64_t c, int64_t hw,
                      int64_t c_pad, cudaStream_t s) {
  if (n <= 0 || hw <= 0 || c_pad <= 0) return true;
  if (c_pad * elem_bytes == 16 && c <= c_pad && (reinterpret_cast<uintptr_t>(y) & 15u) == 0) {
    const int64_t pixels = n * hw, b = (pixels + 255) / 256;
    const unsigned blocks = static_cast<unsigned>(b > 132 * 16 ? 132 * 16 : b);
    if (elem_bytes == 2)
      pad_to_vector_kernel<uint16_t, 8><<<blocks, 256, 0, s>>>(static_cast<const uint16_t*>(x),
                                                               static_cast<uint4*>(y), n, c, hw);
    else
      pad_to_vector_kernel<uint32_t, 4><<<blocks, 256, 0, s>>>(static_cast<const uint32_t*>(x),
                                                               static_cast<uint4*>(y), n, c, hw);
    return true;
  }
  if (elem_bytes == 2)
    return Launch(static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y), n, c, c_pad, hw, s);
  return Launch(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), n, c, c_pad, hw, s);
}

bool LaunchNhwcToNchw(int elem_bytes, const void* x, void* y, int64_t n, int64_t c, int64_t hw,
                      cudaStream_t s) {
  if (elem_bytes == 2)
    return Launch(static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y), n, hw, hw, c, s);
  return Launch(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), n, hw, hw, c, s);
}

}  // namespace ridge::cuda::kernels
