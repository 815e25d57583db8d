// Every depthwise kernel's per-thread body (kernels/depthwise_threads.cuh) run on the CPU, one
// call per thread index, against a direct convolution in double, fp32 and fp16, on sizes that
// are not multiples of any tile, with padding, bias and an activation:
// - general: any window, stride and dilation;
// - vec16: each compile-time window (3x3 s1/s2, 5x5 s1/s2, 7x7 s1) and the run-time one;
// - tile1x4, tile2x4, tile4x4: every window (3, 5, 7) and stride (1, 2), 1 to 8 channel pairs.
// No GPU needed: this checks the tiling, the index decode and the edges on every machine; the
// GPU tests (CudaFastKernels.DepthwiseMatchesGeneralAndTimes) check the same kernels where they
// run.
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/kernels/depthwise_threads.cuh"

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
  int32_t kw = 0, dil = 1;  // kw 0: square window
};

// The kernel's parameters for a case: "same" padding, ReLU.
DepthwiseParams Params(const Case& t) {
  DepthwiseParams p;
  p.n = t.n;
  p.h = t.h;
  p.w = t.w;
  p.c = t.c;
  p.kh = t.k;
  p.kw = t.kw > 0 ? t.kw : t.k;
  p.sh = p.sw = t.s;
  p.dh = p.dw = t.dil;
  p.ph = t.dil * (p.kh - 1) / 2;
  p.pw = t.dil * (p.kw - 1) / 2;
  p.oh = (p.h + 2 * p.ph - p.dh * (p.kh - 1) - 1) / p.sh + 1;
  p.ow = (p.w + 2 * p.pw - p.dw * (p.kw - 1) - 1) / p.sw + 1;
  p.act.act = Act::kRelu;
  return p;
}

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
              const int64_t iy = oy * p.sh - p.ph + int64_t{ky} * p.dh;
              const int64_t ix = ox * p.sw - p.pw + int64_t{kx} * p.dw;
              if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
              acc += double{ToF(x[static_cast<size_t>(((n * p.h + iy) * p.w + ix) * p.c + c)])} *
                     wt[static_cast<size_t>((ky * p.kw + kx) * p.c + c)];
            }
          y[static_cast<size_t>(((n * p.oh + oy) * p.ow + ox) * p.c + c)] =
              dev::Apply(p.act, static_cast<float>(acc));
        }
  return y;
}

// Inputs, filters and bias of a case; the output filled with NaN, so an output no thread
// writes shows up as a mismatch.
template <typename T>
struct Data {
  std::vector<T> x, y;
  std::vector<float> wt, bias;
  Data(const DepthwiseParams& p, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    x.resize(static_cast<size_t>(p.n * p.h * p.w * p.c));
    for (T& v : x) v = FromF<T>(u(rng));
    wt.resize(static_cast<size_t>(p.kh * p.kw * p.c));
    bias.resize(static_cast<size_t>(p.c));
    for (float& v : wt) v = u(rng);
    for (float& v : bias) v = u(rng);
    y.assign(static_cast<size_t>(p.n * p.oh * p.ow * p.c), FromF<T>(NAN));
  }
};

template <typename T>
void ExpectMatches(const Data<T>& d, const DepthwiseParams& p) {
  const std::vector<double> want = Reference(d.x, d.wt, d.bias, p);
  const double tol = sizeof(T) == 2 ? 1e-2 : 1e-5;
  int64_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < d.y.size(); ++i) {
    const double err = std::abs(double{ToF(d.y[i])} - want[i]);
    if (!(err <= tol * (1 + std::abs(want[i])))) ++bad;
    if (err > worst || std::isnan(err)) worst = err;
  }
  EXPECT_EQ(bad, 0) << "of " << d.y.size() << " outputs; worst |error| " << worst;
}

std::string Name(const Case& t) {
  return "n " + std::to_string(t.n) + " h " + std::to_string(t.h) + " w " + std::to_string(t.w) +
         " c " + std::to_string(t.c) + " k " + std::to_string(t.k) + "x" +
         std::to_string(t.kw > 0 ? t.kw : t.k) + " s " + std::to_string(t.s) + " d " +
         std::to_string(t.dil);
}

// check(case, seed) on every case, seeds counting up from `seed`.
template <size_t N, typename F>
void ForEachCase(const Case (&cases)[N], uint32_t seed, F check) {
  for (const Case& t : cases) {
    SCOPED_TRACE(Name(t));
    check(t, seed++);
  }
}

// --- general -----------------------------------------------------------------------------

template <typename T>
void CheckGeneral(const Case& t, uint32_t seed) {
  const DepthwiseParams p = Params(t);
  Data<T> d(p, seed);
  for (int64_t i = 0; i < general::Threads(p); ++i)
    general::Thread(i, d.x.data(), d.wt.data(), d.bias.data(), d.y.data(), p);
  ExpectMatches(d, p);
}

const Case kGeneralCases[] = {
    {1, 9, 11, 5, 3, 1},       {2, 13, 10, 3, 3, 2},
    {1, 7, 9, 7, 5, 1},        {1, 12, 13, 4, 3, 1, 0, 2},  // dilation 2
    {1, 11, 7, 6, 3, 1, 1, 3},                              // a 3x1 window, dilation 3
    {2, 8, 9, 10, 7, 2},
};

TEST(DepthwiseHost, GeneralFp32) { ForEachCase(kGeneralCases, 100, CheckGeneral<float>); }

TEST(DepthwiseHost, GeneralFp16) { ForEachCase(kGeneralCases, 200, CheckGeneral<__half>); }

// --- vec16 ---------------------------------------------------------------------------------

template <typename T, int KW, int SW, int DW>
void RunVec(Data<T>* d, const DepthwiseParams& p) {
  for (int64_t i = 0; i < vec16::Threads<T>(p); ++i)
    vec16::Thread<T, KW, SW, DW>(i, d->x.data(), d->wt.data(), d->bias.data(), d->y.data(), p);
}

// The launcher's instances: compile-time windows where it has them, else the run-time one.
template <typename T>
void CheckVec(const Case& t, uint32_t seed) {
  const DepthwiseParams p = Params(t);
  ASSERT_TRUE(DepthwiseKernelFits(DepthwiseKernel::kVec16, sizeof(T) == 2, p));
  Data<T> d(p, seed);
  const bool d1 = p.dw == 1;
  if (p.kw == 3 && p.sw == 1 && d1)
    RunVec<T, 3, 1, 1>(&d, p);
  else if (p.kw == 3 && p.sw == 2 && d1)
    RunVec<T, 3, 2, 1>(&d, p);
  else if (p.kw == 5 && p.sw == 1 && d1)
    RunVec<T, 5, 1, 1>(&d, p);
  else if (p.kw == 5 && p.sw == 2 && d1)
    RunVec<T, 5, 2, 1>(&d, p);
  else if (p.kw == 7 && p.sw == 1 && d1)
    RunVec<T, 7, 1, 1>(&d, p);
  else
    RunVec<T, 0, 0, 0>(&d, p);
  ExpectMatches(d, p);
}

// Channels: 16 and 24 (two and three fp16 groups), 8 (one).
const Case kVecCases[] = {
    {1, 9, 11, 16, 3, 1},       {2, 13, 10, 24, 3, 2}, {1, 7, 9, 8, 5, 1},
    {1, 12, 13, 16, 5, 2},      {1, 10, 11, 8, 7, 1},  {1, 15, 9, 16, 7, 2},  // run-time window
    {1, 12, 13, 8, 3, 1, 0, 2},  // dilation: run-time window
    {2, 3, 3, 16, 7, 1},         // image smaller than the window
};

TEST(DepthwiseHost, Vec16Fp32) { ForEachCase(kVecCases, 300, CheckVec<float>); }

TEST(DepthwiseHost, Vec16Fp16) { ForEachCase(kVecCases, 400, CheckVec<__half>); }

// --- tiles ---------------------------------------------------------------------------------

template <typename T, int K, int S, int TH, int TW>
void RunTile(Data<T>* d, const DepthwiseParams& p) {
  for (int64_t i = 0; i < tile::Threads(p, TH, TW); ++i)
    tile::Thread<T, K, S, TH, TW>(i, d->x.data(), d->wt.data(), d->bias.data(), d->y.data(), p);
}

// The compile-time window and stride for run-time k and s (the launcher's instances).
template <typename T, int TH, int TW>
void CheckTile(const Case& t, uint32_t seed) {
  const DepthwiseParams p = Params(t);
  ASSERT_TRUE(DepthwiseKernelFits(DepthwiseKernel::kTile2x4, sizeof(T) == 2, p));
  Data<T> d(p, seed);
#define RIDGE_CASE(K_, S_) \
  if (t.k == K_ && t.s == S_) RunTile<T, K_, S_, TH, TW>(&d, p);
  RIDGE_CASE(3, 1)
  RIDGE_CASE(3, 2)
  RIDGE_CASE(5, 1)
  RIDGE_CASE(5, 2)
  RIDGE_CASE(7, 1)
  RIDGE_CASE(7, 2)
#undef RIDGE_CASE
  ExpectMatches(d, p);
}

const Case kTileCases[] = {
    {1, 9, 11, 6, 3, 1},    // 3 channel pairs, sizes off every tile
    {2, 13, 10, 10, 3, 2},  // stride 2, odd height
    {1, 7, 9, 14, 5, 1},    // 7 pairs
    {2, 12, 13, 4, 5, 2},  {1, 10, 11, 8, 7, 1}, {1, 15, 9, 2, 7, 2},  // one pair
    {1, 3, 3, 16, 7, 1},   // image smaller than the window
    {3, 5, 17, 12, 3, 1},  // several images
};

TEST(DepthwiseHost, Tile1x4Fp32) { ForEachCase(kTileCases, 1, CheckTile<float, 1, 4>); }
TEST(DepthwiseHost, Tile2x4Fp32) { ForEachCase(kTileCases, 1, CheckTile<float, 2, 4>); }
TEST(DepthwiseHost, Tile4x4Fp32) { ForEachCase(kTileCases, 1, CheckTile<float, 4, 4>); }
TEST(DepthwiseHost, Tile1x4Fp16) { ForEachCase(kTileCases, 1, CheckTile<__half, 1, 4>); }
TEST(DepthwiseHost, Tile2x4Fp16) { ForEachCase(kTileCases, 1, CheckTile<__half, 2, 4>); }
TEST(DepthwiseHost, Tile4x4Fp16) { ForEachCase(kTileCases, 1, CheckTile<__half, 4, 4>); }

// The fit rules the engine's tactic list follows: tiles only for square 3/5/7 windows, equal
// strides 1 or 2, no dilation and even C; the general kernel fits everything.
TEST(DepthwiseHost, FitRules) {
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
