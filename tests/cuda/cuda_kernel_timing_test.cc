// The vectorized depthwise-conv and LayerNorm kernels called directly, against the general
// (one thread per output / one block per row) kernels they replace: the outputs must agree on
// mobilenet_v2 and ConvNeXt-sized shapes, and the test prints both kernels' times so a GPU run
// shows the speed-up. Skips without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backends/cuda/engine.h"
#include "backends/cuda/kernels/depthwise_conv.cuh"
#include "backends/cuda/kernels/layer_norm.cuh"
#include "core/tensor.h"
#include "ops/nn_test_util.h"

namespace ridge::cuda {
namespace {

#define SKIP_WITHOUT_GPU()                                                \
  do {                                                                    \
    std::string why;                                                      \
    if (!DeviceAvailable(&why))                                           \
      GTEST_SKIP() << "no CUDA device (" << why << "): GPU test skipped"; \
  } while (0)

#define ASSERT_CUDA(expr)                                                  \
  do {                                                                     \
    const cudaError_t e_ = (expr);                                         \
    ASSERT_EQ(e_, cudaSuccess) << #expr << ": " << cudaGetErrorString(e_); \
  } while (0)

// Device buffer, freed on scope exit.
struct DevBuf {
  void* p = nullptr;
  DevBuf() = default;
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  ~DevBuf() {
    if (p) cudaFree(p);
  }
};

size_t Esize(bool half) { return half ? 2 : 4; }

// Random values in [-1, 1) in the storage type, copied to the device at byte `offset`.
::testing::AssertionResult Fill(DevBuf& b, bool half, int64_t n, uint32_t seed, size_t offset = 0) {
  const auto v = ops::nn_test::Rand(static_cast<size_t>(n), seed);
  std::vector<uint8_t> host(static_cast<size_t>(n) * Esize(half));
  for (int64_t i = 0; i < n; ++i) {
    if (half) {
      const uint16_t h = FloatToHalf(v[static_cast<size_t>(i)]);
      std::memcpy(host.data() + i * 2, &h, 2);
    } else {
      std::memcpy(host.data() + i * 4, &v[static_cast<size_t>(i)], 4);
    }
  }
  if (cudaMalloc(&b.p, host.size() + offset + 16) != cudaSuccess)
    return ::testing::AssertionFailure() << "cudaMalloc failed";
  if (cudaMemcpy(static_cast<char*>(b.p) + offset, host.data(), host.size(),
                 cudaMemcpyHostToDevice) != cudaSuccess)
    return ::testing::AssertionFailure() << "cudaMemcpy failed";
  return ::testing::AssertionSuccess();
}

std::vector<float> Fetch(const void* p, bool half, int64_t n) {
  std::vector<uint8_t> host(static_cast<size_t>(n) * Esize(half));
  std::vector<float> out(static_cast<size_t>(n), NAN);
  if (cudaMemcpy(host.data(), p, host.size(), cudaMemcpyDeviceToHost) != cudaSuccess) return out;
  for (int64_t i = 0; i < n; ++i) {
    if (half) {
      uint16_t h;
      std::memcpy(&h, host.data() + i * 2, 2);
      out[static_cast<size_t>(i)] = HalfToFloat(h);
    } else {
      std::memcpy(&out[static_cast<size_t>(i)], host.data() + i * 4, 4);
    }
  }
  return out;
}

// Elements where |a - b| > atol + rtol |b| (NaN counts as a mismatch).
int64_t Mismatches(const std::vector<float>& a, const std::vector<float>& b, double atol,
                   double rtol) {
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(std::abs(a[i] - b[i]) <= atol + rtol * std::abs(b[i]))) ++bad;
  return bad;
}

// Mean time of `iters` launches after 3 warm-up launches, in milliseconds.
template <typename F>
float TimeMs(F launch, int iters = 20) {
  for (int i = 0; i < 3; ++i) launch();
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  cudaEventRecord(a);
  for (int i = 0; i < iters; ++i) launch();
  cudaEventRecord(b);
  cudaEventSynchronize(b);
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / static_cast<float>(iters);
}

struct DwCase {
  const char* name;
  int64_t n, h, w, c;
  int32_t k, stride, dil;
  bool half;
};

// Small shapes would take the general kernel (too few threads for the fast one); the tests
// drive the fast kernel at every size.
const int kForceFastDepthwise = setenv("RIDGE_CUDA_DEPTHWISE_FAST", "always", 1);

void RunDepthwise(const DwCase& t, bool timed) {
  kernels::DepthwiseParams p;
  p.n = t.n;
  p.h = t.h;
  p.w = t.w;
  p.c = t.c;
  p.kh = p.kw = t.k;
  p.sh = p.sw = t.stride;
  p.dh = p.dw = t.dil;
  p.ph = p.pw = t.dil * (t.k - 1) / 2;
  p.oh = (p.h + 2 * p.ph - p.dh * (p.kh - 1) - 1) / p.sh + 1;
  p.ow = (p.w + 2 * p.pw - p.dw * (p.kw - 1) - 1) / p.sw + 1;
  p.act.act = kernels::Act::kRelu;
  const int64_t nx = p.n * p.h * p.w * p.c, ny = p.n * p.oh * p.ow * p.c;
  const size_t es = Esize(t.half);
  DevBuf x, x_odd, w, b, y_old, y_new, y_odd;
  ASSERT_TRUE(Fill(x, t.half, nx, 1));
  ASSERT_TRUE(Fill(x_odd, t.half, nx, 1, es));  // same data, pointer not 16-byte aligned
  ASSERT_TRUE(Fill(w, t.half, int64_t{t.k} * t.k * t.c, 2));
  ASSERT_TRUE(Fill(b, t.half, t.c, 3));
  for (DevBuf* d : {&y_old, &y_new, &y_odd}) ASSERT_CUDA(cudaMalloc(&d->p, ny * es));
  const void* xo = static_cast<char*>(x_odd.p) + es;
  kernels::LaunchDepthwiseConvNhwcGeneral(t.half, x.p, w.p, b.p, y_old.p, p, nullptr);
  kernels::LaunchDepthwiseConvNhwc(t.half, x.p, w.p, b.p, y_new.p, p, nullptr);
  kernels::LaunchDepthwiseConvNhwc(t.half, xo, w.p, b.p, y_odd.p, p, nullptr);  // fallback
  ASSERT_CUDA(cudaGetLastError());
  ASSERT_CUDA(cudaDeviceSynchronize());
  const auto old_y = Fetch(y_old.p, t.half, ny), new_y = Fetch(y_new.p, t.half, ny),
             odd_y = Fetch(y_odd.p, t.half, ny);
  const double tol = t.half ? 1e-2 : 1e-4;
  EXPECT_EQ(Mismatches(new_y, old_y, tol, tol), 0) << t.name << ": fast vs general";
  EXPECT_EQ(Mismatches(odd_y, old_y, 0, 0), 0) << t.name << ": unaligned x takes the general path";
  if (!timed) return;
  const float old_ms = TimeMs(
      [&] { kernels::LaunchDepthwiseConvNhwcGeneral(t.half, x.p, w.p, b.p, y_old.p, p, nullptr); });
  const float new_ms =
      TimeMs([&] { kernels::LaunchDepthwiseConvNhwc(t.half, x.p, w.p, b.p, y_new.p, p, nullptr); });
  ASSERT_CUDA(cudaGetLastError());
  const double gb = static_cast<double>((nx + ny) * es) / 1e9;
  std::printf("[timing] depthwise %-28s general %.3f ms  fast %.3f ms  (x%.2f, %.0f GB/s)\n",
              t.name, old_ms, new_ms, old_ms / new_ms, gb / (new_ms / 1e3));
}

TEST(CudaFastKernels, DepthwiseMatchesGeneralAndTimes) {
  SKIP_WITHOUT_GPU();
  const DwCase cases[] = {
      {"mbv2 [32,112,112,96] 3x3 s1", 32, 112, 112, 96, 3, 1, 1, true},
      {"mbv2 [32,112,112,96] 3x3 s2", 32, 112, 112, 96, 3, 2, 1, true},
      {"convnext [32,56,56,96] 7x7", 32, 56, 56, 96, 7, 1, 1, true},
      {"fp32 [4,28,29,64] 5x5 s2", 4, 28, 29, 64, 5, 2, 1, false},
      {"fp16 [4,28,29,64] 3x3 d2", 4, 28, 29, 64, 3, 1, 2, true},
      {"fp32 [1,15,17,32] 7x7 s1", 1, 15, 17, 32, 7, 1, 1, false},
  };
  for (const auto& t : cases) {
    SCOPED_TRACE(t.name);
    RunDepthwise(t, t.n == 32);
  }
}

void RunLayerNorm(const char* name, bool half, int64_t rows, int64_t cols, bool timed) {
  const size_t es = Esize(half);
  DevBuf x, g, b, y_old, y_new;
  ASSERT_TRUE(Fill(x, half, rows * cols, 4));
  ASSERT_TRUE(Fill(g, half, cols, 5));
  ASSERT_TRUE(Fill(b, half, cols, 6));
  for (DevBuf* d : {&y_old, &y_new}) ASSERT_CUDA(cudaMalloc(&d->p, rows * cols * es));
  kernels::LaunchLayerNormGeneral(half, x.p, g.p, b.p, y_old.p, rows, cols, 1e-6f, nullptr);
  kernels::LaunchLayerNorm(half, x.p, g.p, b.p, y_new.p, rows, cols, 1e-6f, nullptr);
  ASSERT_CUDA(cudaGetLastError());
  ASSERT_CUDA(cudaDeviceSynchronize());
  const double tol = half ? 1e-2 : 1e-4;
  EXPECT_EQ(
      Mismatches(Fetch(y_new.p, half, rows * cols), Fetch(y_old.p, half, rows * cols), tol, tol), 0)
      << name;
  if (!timed) return;
  const float old_ms = TimeMs([&] {
    kernels::LaunchLayerNormGeneral(half, x.p, g.p, b.p, y_old.p, rows, cols, 1e-6f, nullptr);
  });
  const float new_ms = TimeMs(
      [&] { kernels::LaunchLayerNorm(half, x.p, g.p, b.p, y_new.p, rows, cols, 1e-6f, nullptr); });
  ASSERT_CUDA(cudaGetLastError());
  const double gb = static_cast<double>(2 * rows * cols * es) / 1e9;
  std::printf("[timing] layernorm %-28s general %.3f ms  fast %.3f ms  (x%.2f, %.0f GB/s)\n", name,
              old_ms, new_ms, old_ms / new_ms, gb / (new_ms / 1e3));
}

TEST(CudaFastKernels, LayerNormMatchesGeneralAndTimes) {
  SKIP_WITHOUT_GPU();
  RunLayerNorm("convnext rows=100352 cols=96", true, 32 * 56 * 56, 96, true);
  RunLayerNorm("convnext rows=1568 cols=768", true, 32 * 7 * 7, 768, true);
  RunLayerNorm("fp32 rows=1001 cols=1024", false, 1001, 1024, false);
  RunLayerNorm("fp16 rows=77 cols=1000", true, 77, 1000, false);
  RunLayerNorm("fp16 rows=33 cols=2048 (general)", true, 33, 2048, false);
}

}  // namespace
}  // namespace ridge::cuda
