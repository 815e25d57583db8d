// GlobalAveragePool's kernel bodies (kernels/global_avg_pool_threads.cuh) run on the CPU: every
// block of the launch, each thread's first half, then (the barrier) each thread's second half,
// then the second pass, against means computed in double. Both first passes (general: scalar,
// 32 channels x 8 rows; vector: 16-byte groups), fp32 and fp16, one chunk (direct) and many
// (up to the 64-chunk cap), channel counts that fill a block partly. Unwritten outputs are
// caught by a NaN poison. No GPU needed; CudaKernel.GlobalAveragePoolVectorAndScalar checks the
// same kernels where they run.
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/kernels/global_avg_pool_threads.cuh"

namespace ridge::cuda::kernels::gap {
namespace {

float ToF(float v) { return v; }
float ToF(__half v) { return __half2float(v); }

template <typename T>
std::vector<T> Random(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<T> v(static_cast<size_t>(count));
  for (auto& e : v) e = T(dist(rng));
  return v;
}

// One launch of a first pass and (chunks > 1) the second, simulated block by block.
template <typename T>
std::vector<float> Simulate(const std::vector<T>& x, int64_t n, int64_t hw, int64_t c,
                            bool vector) {
  constexpr int kV = vec::Width<T>::kN;
  const Shape s = MakeShape(n, hw, c, vector ? kV : 0);
  std::vector<float> partial(static_cast<size_t>(n * s.chunks * c),
                             std::numeric_limits<float>::quiet_NaN());
  std::vector<T> y(static_cast<size_t>(n * c), T(std::numeric_limits<float>::quiet_NaN()));
  const int64_t blocks_x = vector ? VectorBlocksX<T>(s) : GeneralBlocksX(s);
  for (int64_t bx = 0; bx < blocks_x; ++bx) {
    for (int64_t chunk = 0; chunk < s.chunks; ++chunk) {
      if (vector) {
        std::vector<float> sum(kBlockThreads * kV, std::numeric_limits<float>::quiet_NaN());
        for (int t = 0; t < kBlockThreads; ++t)
          VectorAccumulate(x.data(), s, bx, chunk, t, sum.data());
        for (int t = 0; t < kBlockThreads; ++t) {
          if (s.chunks == 1)
            VectorReduce<T, true>(sum.data(), s, bx, chunk, t, partial.data(), y.data());
          else
            VectorReduce<T, false>(sum.data(), s, bx, chunk, t, partial.data(), y.data());
        }
      } else {
        float sum[8][33];
        for (auto& row : sum)
          for (float& v : row) v = std::numeric_limits<float>::quiet_NaN();
        for (int t = 0; t < kBlockThreads; ++t) GeneralAccumulate(x.data(), s, bx, chunk, t, sum);
        for (int t = 0; t < kBlockThreads; ++t)
          GeneralReduce<T>(sum, s, bx, chunk, t, partial.data());
      }
    }
  }
  // The general pass always finishes in the second kernel; the vector one with chunks > 1.
  if (!vector || s.chunks > 1)
    for (int64_t i = 0; i < n * c; ++i) Finish(partial.data(), y.data(), s, i);
  std::vector<float> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) out[i] = ToF(y[i]);
  return out;
}

template <typename T>
void CheckShape(int64_t n, int64_t hw, int64_t c, bool vector, uint32_t seed) {
  const std::vector<T> x = Random<T>(n * hw * c, seed);
  const std::vector<float> got = Simulate(x, n, hw, c, vector);
  const bool half = sizeof(T) == 2;
  int bad = 0;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      double ref = 0;
      for (int64_t k = 0; k < hw; ++k) ref += ToF(x[static_cast<size_t>((b * hw + k) * c + ch)]);
      ref /= static_cast<double>(hw);
      const float v = got[static_cast<size_t>(b * c + ch)];
      // fp32 sums of up to 40,000 values in [-1, 1]; fp16 adds the output's rounding.
      const double tol = half ? 1e-3 + 1e-3 * std::fabs(ref) : 1e-6 + 1e-5 * std::fabs(ref);
      if (!(std::fabs(v - ref) <= tol) && bad++ < 5) {
        ADD_FAILURE() << (vector ? "vector" : "general") << (half ? " fp16" : " fp32") << " n " << n
                      << " hw " << hw << " c " << c << ": mean[" << b << "][" << ch << "] = " << v
                      << ", want " << ref;
      }
    }
  }
  EXPECT_EQ(bad, 0);
}

struct GapCase {
  int64_t n, hw, c;
};

// The GPU test's shapes (H*W as given there), plus a single channel group (gw 1), a partly
// filled last block of groups, a map with many chunks and one past the 64-chunk cap.
const GapCase kCases[] = {{2, 7 * 9, 16}, {1, 1, 8},          {3, 23 * 19, 24},   {2, 61 * 67, 32},
                          {1, 9 * 7, 20}, {2, 17 * 17, 12},   {2, 5 * 5, 13},     {1, 300, 8},
                          {2, 257, 72},   {1, 112 * 112, 32}, {1, 200 * 200, 40}, {4, 7 * 7, 1280}};

TEST(GlobalAvgPoolHost, GeneralPassFp32AndFp16) {
  uint32_t seed = 1;
  for (const auto& t : kCases) {
    CheckShape<float>(t.n, t.hw, t.c, false, ++seed);
    CheckShape<__half>(t.n, t.hw, t.c, false, ++seed);
  }
}

TEST(GlobalAvgPoolHost, VectorPassFp32AndFp16) {
  uint32_t seed = 100;
  for (const auto& t : kCases) {
    if (t.c % 4 == 0) CheckShape<float>(t.n, t.hw, t.c, true, ++seed);
    if (t.c % 8 == 0) CheckShape<__half>(t.n, t.hw, t.c, true, ++seed);
  }
}

TEST(GlobalAvgPoolHost, ChunksAndBlockShapes) {
  EXPECT_EQ(Chunks(1), 1);
  EXPECT_EQ(Chunks(256), 1);
  EXPECT_EQ(Chunks(257), 2);
  EXPECT_EQ(Chunks(200 * 200), 64);  // capped: 625 rows per slice
  const Shape s = MakeShape(2, 61 * 67, 32, 4);
  EXPECT_EQ(s.chunks, 16);
  EXPECT_EQ(s.per_chunk, 256);
  EXPECT_EQ(s.gw, 8);
  EXPECT_EQ(VectorBlocksX<float>(s), 2);
  EXPECT_EQ(GeneralBlocksX(s), 2);
  EXPECT_EQ(MakeShape(1, 9, 8, 8).gw, 1);
}

}  // namespace
}  // namespace ridge::cuda::kernels::gap
