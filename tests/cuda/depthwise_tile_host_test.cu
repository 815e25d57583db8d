// The depthwise tile kernels' per-thread body (kernels/depthwise_tile.cuh) run on the CPU, one
// call per thread index, against a direct convolution in double: every window (3, 5, 7), stride
// (1, 2) and tile (1x4, 2x4, 4x4) in fp32 and fp16, on sizes that are not multiples of the tile,
// with padding, bias, an activation and odd channel-pair counts. No GPU needed: this checks the
// tiling, the index decode and the edges on every machine; the GPU tests
// (CudaFastKernels.DepthwiseMatchesGeneralAndTimes) check the same kernels where they run.
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/kernels/depthwise_tile.cuh"

namespace ridge::cuda::kernels {
namespace {

float ToF(float v) { return v; }
float ToF(__half v) { return __half2float(v); }
template <typename T>
T FromF(float v);
template <>
float FromF<float>(float v) {
  return v;
}
template <>
__half FromF<__half>(float v) {
  return __float2half(v);
}

struct Case {
  int64_t n, h, w, c;
  int32_t k, s;
};

// y[n, oy, ox, c] = act(bias[c] + sum over the window inside the image of x * w), in double.
template <typename T>
std::vector<double> Reference(const std::vector<T>& x, const std::vector<float>& wt,
                              const std::vector<float>& bias, const DepthwiseParams& p) {
  std::vector<double> y(static_cast<size_t>(p.n * p.oh * p.ow * p.c));
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t oy = 0; oy < p.oh; ++oy)
      for (int64_t ox = 0; ox < p.ow; ++ox)
        for (int64_t c = 0; c < p.c; ++c) {
          double acc = bias[static_cast<size_t>(c)];
          for (int ky = 0; ky < p.kh; ++ky)
            for (int kx = 0; kx < p.kw; ++kx) {
              const int64_t iy = oy * p.sh - p.ph + ky, ix = ox * p.sw - p.pw + kx;
              if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
              acc += double{ToF(x[static_cast<size_t>(((n * p.h + iy) * p.w + ix) * p.c + c)])} *
                     wt[static_cast<size_t>((ky * p.kw + kx) * p.c + c)];
            }
          y[static_cast<size_t>(((n * p.oh + oy) * p.ow + ox) * p.c + c)] =
              dev::Apply(p.act, static_cast<float>(acc));
        }
  return y;
}

template <typename T, int K, int S, int TH, int TW>
void RunOnHost(const std::vector<T>& x, const std::vector<float>& wt,
               const std::vector<float>& bias, std::vector<T>* y, const DepthwiseParams& p) {
  const int64_t total = tile::Threads(p, TH, TW);
  for (int64_t i = 0; i < total; ++i)
    tile::Thread<T, K, S, TH, TW>(i, x.data(), wt.data(), bias.data(), y->data(), p);
}

// The compile-time window and stride for run-time k and s (the launcher's instances).
template <typename T, int TH, int TW>
void Dispatch(int k, int s, const std::vector<T>& x, const std::vector<float>& wt,
              const std::vector<float>& bias, std::vector<T>* y, const DepthwiseParams& p) {
#define RIDGE_CASE(K_, S_) \
  if (k == K_ && s == S_) return RunOnHost<T, K_, S_, TH, TW>(x, wt, bias, y, p);
  RIDGE_CASE(3, 1)
  RIDGE_CASE(3, 2)
  RIDGE_CASE(5, 1)
  RIDGE_CASE(5, 2)
  RIDGE_CASE(7, 1)
  RIDGE_CASE(7, 2)
#undef RIDGE_CASE
  FAIL() << "no instance for k " << k << " s " << s;
}

template <typename T, int TH, int TW>
void CheckTile(const Case& t, uint32_t seed) {
  DepthwiseParams p;
  p.n = t.n;
  p.h = t.h;
  p.w = t.w;
  p.c = t.c;
  p.kh = p.kw = t.k;
  p.sh = p.sw = t.s;
  p.ph = p.pw = (t.k - 1) / 2;
  p.oh = (p.h + 2 * p.ph - p.kh) / p.sh + 1;
  p.ow = (p.w + 2 * p.pw - p.kw) / p.sw + 1;
  p.act.act = Act::kRelu;
  ASSERT_TRUE(DepthwiseKernelFits(DepthwiseKernel::kTile2x4, sizeof(T) == 2, p));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<T> x(static_cast<size_t>(p.n * p.h * p.w * p.c));
  for (T& v : x) v = FromF<T>(u(rng));
  std::vector<float> wt(static_cast<size_t>(p.kh * p.kw * p.c)), bias(static_cast<size_t>(p.c));
  for (float& v : wt) v = u(rng);
  for (float& v : bias) v = u(rng);
  // NaN everywhere first: an output no thread writes shows up as a mismatch.
  std::vector<T> y(static_cast<size_t>(p.n * p.oh * p.ow * p.c), FromF<T>(NAN));
  Dispatch<T, TH, TW>(t.k, t.s, x, wt, bias, &y, p);
  const std::vector<double> want = Reference(x, wt, bias, p);
  const double tol = sizeof(T) == 2 ? 1e-2 : 1e-5;
  int64_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double err = std::abs(double{ToF(y[i])} - want[i]);
    if (!(err <= tol * (1 + std::abs(want[i])))) ++bad;
    if (err > worst || std::isnan(err)) worst = err;
  }
  EXPECT_EQ(bad, 0) << "of " << y.size() << " outputs; worst |error| " << worst;
}

const Case kCases[] = {
    {1, 9, 11, 6, 3, 1},    // 3 channel pairs, sizes off every tile
    {2, 13, 10, 10, 3, 2},  // stride 2, odd height
    {1, 7, 9, 14, 5, 1},    // 7 pairs
    {2, 12, 13, 4, 5, 2},  {1, 10, 11, 8, 7, 1},
    {1, 15, 9, 2, 7, 2},   // one pair, the window wider than the image's half
    {1, 3, 3, 16, 7, 1},   // image smaller than the window
    {3, 5, 17, 12, 3, 1},  // several images
};

template <typename T, int TH, int TW>
void CheckAll() {
  uint32_t seed = 1;
  for (const Case& t : kCases) {
    SCOPED_TRACE("n " + std::to_string(t.n) + " h " + std::to_string(t.h) + " w " +
                 std::to_string(t.w) + " c " + std::to_string(t.c) + " k " + std::to_string(t.k) +
                 " s " + std::to_string(t.s));
    CheckTile<T, TH, TW>(t, seed++);
  }
}

TEST(DepthwiseTileHost, Fp32Tile1x4) { CheckAll<float, 1, 4>(); }
TEST(DepthwiseTileHost, Fp32Tile2x4) { CheckAll<float, 2, 4>(); }
TEST(DepthwiseTileHost, Fp32Tile4x4) { CheckAll<float, 4, 4>(); }
TEST(DepthwiseTileHost, Fp16Tile1x4) { CheckAll<__half, 1, 4>(); }
TEST(DepthwiseTileHost, Fp16Tile2x4) { CheckAll<__half, 2, 4>(); }
TEST(DepthwiseTileHost, Fp16Tile4x4) { CheckAll<__half, 4, 4>(); }

// The fit rules the engine's tactic list follows: tiles only for square 3/5/7 windows, equal
// strides 1 or 2, no dilation and even C; the general kernel fits everything.
TEST(DepthwiseTileHost, FitRules) {
  DepthwiseParams p;
  p.n = 1;
  p.h = p.w = p.oh = p.ow = 8;
  p.c = 16;
  p.kh = p.kw = 3;
  EXPECT_TRUE(DepthwiseKernelFits(DepthwiseKernel::kTile4x4, true, p));
  DepthwiseParams odd_c = p;
  odd_c.c = 15;
  EXPECT_FALSE(DepthwiseKernelFits(DepthwiseKernel::kTile1x4, false, odd_c));
  EXPECT_FALSE(DepthwiseKernelFits(DepthwiseKernel::kVec16, false, odd_c));
  EXPECT_TRUE(DepthwiseKernelFits(DepthwiseKernel::kGeneral, false, odd_c));
  DepthwiseParams dil = p;
  dil.dh = dil.dw = 2;
  EXPECT_FALSE(DepthwiseKernelFits(DepthwiseKernel::kTile2x4, true, dil));
  DepthwiseParams rect = p;
  rect.kw = 1;
  EXPECT_FALSE(DepthwiseKernelFits(DepthwiseKernel::kTile2x4, true, rect));
  DepthwiseParams s3 = p;
  s3.sh = s3.sw = 3;
  EXPECT_FALSE(DepthwiseKernelFits(DepthwiseKernel::kTile2x4, true, s3));
  DepthwiseParams c12 = p;
  c12.c = 12;
  EXPECT_FALSE(DepthwiseKernelFits(DepthwiseKernel::kVec16, true, c12));  // fp16 needs C % 8
  EXPECT_TRUE(DepthwiseKernelFits(DepthwiseKernel::kVec16, false, c12));  // fp32 C % 4
}

}  // namespace
}  // namespace ridge::cuda::kernels
