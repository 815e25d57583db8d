// The kernels' activation functions (dev::Apply, device_util.cuh; __host__ __device__) run on
// the CPU against their definitions in double: every Act, at points across each one's shape.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "backends/cuda/kernels/device_util.cuh"

namespace ridge::cuda::kernels {
namespace {

TEST(ActivationHost, EveryActMatchesItsDefinition) {
  const double k = std::sqrt(2.0 / M_PI);
  struct Case {
    Act act;
    float a, b;
    std::function<double(double)> f;
  };
  const Case cases[] = {
      {Act::kNone, 0, 0, [](double x) { return x; }},
      {Act::kRelu, 0, 0, [](double x) { return x > 0 ? x : 0; }},
      {Act::kClip, -1.5f, 2.f, [](double x) { return std::fmin(std::fmax(x, -1.5), 2.0); }},
      {Act::kSigmoid, 0, 0, [](double x) { return 1 / (1 + std::exp(-x)); }},
      {Act::kSilu, 0, 0, [](double x) { return x / (1 + std::exp(-x)); }},
      {Act::kTanh, 0, 0, [](double x) { return std::tanh(x); }},
      {Act::kErf, 0, 0, [](double x) { return std::erf(x); }},
      {Act::kGeluErf, 0, 0, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {Act::kGeluTanh, 0, 0,
       [k](double x) { return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x))); }},
      {Act::kHardSigmoid, 0.2f, 0.5f,
       [](double x) { return std::fmin(std::fmax(0.2 * x + 0.5, 0.0), 1.0); }},
      {Act::kHardSwish, 0, 0,
       [](double x) { return x * std::fmin(std::fmax(x / 6 + 0.5, 0.0), 1.0); }},
      {Act::kLeakyRelu, 0.1f, 0, [](double x) { return x >= 0 ? x : 0.1 * x; }},
      {Act::kNeg, 0, 0, [](double x) { return -x; }},
      {Act::kExp, 0, 0, [](double x) { return std::exp(x); }},
      {Act::kAbs, 0, 0, [](double x) { return std::fabs(x); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("act " + std::to_string(static_cast<int>(c.act)));
    for (float x = -6.f; x <= 6.f; x += 0.37f) {
      const double want = c.f(x), got = dev::Apply(ActParams{c.act, c.a, c.b}, x);
      EXPECT_NEAR(got, want, 2e-6 * (1 + std::fabs(want))) << "x = " << x;
    }
  }
  for (float x : {0.25f, 1.f, 9.f}) {  // Sqrt and Reciprocal on their domains
    EXPECT_NEAR(dev::Apply(ActParams{Act::kSqrt, 0, 0}, x), std::sqrt(x), 1e-6);
    EXPECT_NEAR(dev::Apply(ActParams{Act::kReciprocal, 0, 0}, x), 1.0 / x, 1e-6);
  }
}

// The tanh form cuBLASLt's GELU epilogue computes stays within 4.7e-4 of the erf form
// (EngineOptions::gemm_gelu_epilogue relies on it).
TEST(ActivationHost, GeluTanhFormIsCloseToTheErfForm) {
  double worst = 0;
  for (float x = -8.f; x <= 8.f; x += 0.001f)
    worst = std::fmax(worst, std::fabs(dev::Apply(ActParams{Act::kGeluTanh, 0, 0}, x) -
                                       dev::Apply(ActParams{Act::kGeluErf, 0, 0}, x)));
  EXPECT_LT(worst, 5e-4);
  EXPECT_GT(worst, 4e-4);  // the forms do differ: the bound is not vacuous
}

}  // namespace
}  // namespace ridge::cuda::kernels
