// GlobalAveragePool's per-thread bodies as __host__ __device__ functions. The kernels in pool.cu
// call them around their __syncthreads(); cuda_pool_host_test runs the same functions on the
// CPU, thread by thread and block by block, so CI checks the index arithmetic and the reductions
// of both first passes (general and 16-byte vector) and of the second pass without a GPU.
//
// Layout: x is [N, H*W, C] (NHWC). The first pass splits H*W into `chunks` slices of `per_chunk`
// rows; a block sums one slice for a run of channels into fp32 `partial` [N, chunks, C] (or, with
// one chunk, writes the mean to y at once); the second pass adds the slices.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/host_device.cuh"
#include "backends/cuda/kernels/vec16.cuh"

namespace ridge::cuda::kernels::gap {

// Threads per block of both first passes.
constexpr int kBlockThreads = 256;

// ~256 rows of H*W per block, at most 64 slices.
__host__ __device__ inline int64_t Chunks(int64_t hw) {
  const int64_t chunks = (hw + 255) / 256;
  return chunks < 1 ? 1 : (chunks > 64 ? 64 : chunks);
}

// What every block and thread of one launch needs to find its work.
struct Shape {
  int64_t n = 0, hw = 0, c = 0, chunks = 1, per_chunk = 0;
  int gw = 0;  // vector pass: 16-byte channel groups per block (<= 8: one 128-byte line)
};

inline Shape MakeShape(int64_t n, int64_t hw, int64_t c, int vector_width) {
  Shape s;
  s.n = n;
  s.hw = hw;
  s.c = c;
  s.chunks = Chunks(hw);
  s.per_chunk = (hw + s.chunks - 1) / s.chunks;
  const int64_t groups = vector_width > 0 ? c / vector_width : 0;
  s.gw = static_cast<int>(groups < 8 ? groups : 8);
  return s;
}

// ---- General first pass: blocks of 32 channels x 8 rows, scalar loads ----------------------

// Blocks along x: N times the groups of 32 channels (y: the chunks).
inline int64_t GeneralBlocksX(const Shape& s) { return s.n * ((s.c + 31) / 32); }

// Thread `tid` of block (bx, chunk): the sum of its channel over every 8th row of the slice,
// stored at sum[tid] (sum is the block's 8 x 32 shared array, rows of 33 to avoid bank conflicts).
template <typename T>
__host__ __device__ __forceinline__ void GeneralAccumulate(const T* x, const Shape& s, int64_t bx,
                                                           int64_t chunk, int tid,
                                                           float (*sum)[33]) {
  const int64_t cgroups = (s.c + 31) / 32;
  const int64_t b = bx / cgroups, ch = (bx % cgroups) * 32 + (tid & 31);
  const int64_t row = tid >> 5;
  const int64_t begin = chunk * s.per_chunk;
  const int64_t end = s.hw < begin + s.per_chunk ? s.hw : begin + s.per_chunk;
  float acc = 0.f;
  if (ch < s.c)
    for (int64_t k = begin + row; k < end; k += 8) acc += dev::Load(x, (b * s.hw + k) * s.c + ch);
  sum[row][tid & 31] = acc;
}

// After the block's barrier: the threads of row 0 add the 8 rows and store the slice's sum.
template <typename T>
__host__ __device__ __forceinline__ void GeneralReduce(float (*sum)[33], const Shape& s, int64_t bx,
                                                       int64_t chunk, int tid, float* partial) {
  const int64_t cgroups = (s.c + 31) / 32;
  const int64_t b = bx / cgroups, ch = (bx % cgroups) * 32 + (tid & 31);
  if ((tid >> 5) != 0 || ch >= s.c) return;
  float acc = sum[0][tid & 31];
  for (int r = 1; r < 8; ++r) acc += sum[r][tid & 31];
  partial[(b * s.chunks + chunk) * s.c + ch] = acc;
}

// ---- Vector first pass: gw 16-byte channel groups (lanes) x 256 / gw rows ------------------
// A warp reads whole 128-byte lines; the rows are summed through shared memory. C must be a
// multiple of the vector width (8 fp16, 4 fp32) and x 16-byte aligned.

template <typename T>
inline int64_t VectorBlocksX(const Shape& s) {
  const int64_t groups = s.c / vec::Width<T>::kN;
  return s.n * ((groups + s.gw - 1) / s.gw);
}

// Thread `tid` of block (bx, chunk): the kV channel sums of its lane over its rows of the slice,
// stored at sum[tid * kV + v] (sum holds kBlockThreads * kV floats).
template <typename T>
__host__ __device__ __forceinline__ void VectorAccumulate(const T* x, const Shape& s, int64_t bx,
                                                          int64_t chunk, int tid, float* sum) {
  constexpr int kV = vec::Width<T>::kN;
  const int64_t groups = s.c / kV, gblocks = (groups + s.gw - 1) / s.gw;
  const int64_t b = bx / gblocks, g0 = (bx % gblocks) * s.gw;
  const int rows = kBlockThreads / s.gw, row = tid / s.gw;
  const int64_t g = g0 + tid % s.gw;
  const int64_t begin = chunk * s.per_chunk;
  const int64_t end = s.hw < begin + s.per_chunk ? s.hw : begin + s.per_chunk;
  float acc[kV];
  RIDGE_UNROLL
  for (int v = 0; v < kV; ++v) acc[v] = 0.f;
  if (row < rows && g < groups) {
    const T* xg = x + b * s.hw * s.c + g * kV;
    RIDGE_UNROLL_BY(4)
    for (int64_t k = begin + row; k < end; k += rows) {
      float f[kV];
      vec::ToFloat(vec::Load16(xg + k * s.c), x, f);
      RIDGE_UNROLL
      for (int v = 0; v < kV; ++v) acc[v] += f[v];
    }
  }
  RIDGE_UNROLL
  for (int v = 0; v < kV; ++v) sum[tid * kV + v] = acc[v];
}

// After the block's barrier: thread t < gw * kV adds channel g0 * kV + t over the rows. Lane
// t / kV's value v = t % kV of row r sits at sum[(r * gw + t / kV) * kV + t % kV], which is
// sum[r * gw * kV + t]. Writes the mean to y (kDirect: one chunk) or the slice's sum to partial.
template <typename T, bool kDirect>
__host__ __device__ __forceinline__ void VectorReduce(const float* sum, const Shape& s, int64_t bx,
                                                      int64_t chunk, int tid, float* partial,
                                                      T* y) {
  constexpr int kV = vec::Width<T>::kN;
  const int64_t groups = s.c / kV, gblocks = (groups + s.gw - 1) / s.gw;
  const int64_t b = bx / gblocks, g0 = (bx % gblocks) * s.gw;
  const int rows = kBlockThreads / s.gw;
  const int64_t ch = g0 * kV + tid;
  if (tid >= s.gw * kV || ch >= s.c) return;
  float acc = 0.f;
  for (int r = 0; r < rows; ++r) acc += sum[r * s.gw * kV + tid];
  if (kDirect)
    dev::Store(y, b * s.c + ch, acc / static_cast<float>(s.hw));
  else
    partial[(b * s.chunks + chunk) * s.c + ch] = acc;
}

// ---- Second pass: output element i = (b, ch) adds the slices in order ----------------------
template <typename T>
__host__ __device__ __forceinline__ void Finish(const float* partial, T* y, const Shape& s,
                                                int64_t i) {
  const int64_t ch = i % s.c, b = i / s.c;
  float acc = 0.f;
  for (int64_t k = 0; k < s.chunks; ++k) acc += partial[(b * s.chunks + k) * s.c + ch];
  dev::Store(y, i, acc / static_cast<float>(s.hw));
}

}  // namespace ridge::cuda::kernels::gap
