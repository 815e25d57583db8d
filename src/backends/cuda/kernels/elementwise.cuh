// Elementwise kernels: unary activations, broadcasting binary ops with a fused activation
// epilogue, and the per-channel bias + activation epilogue that follows a cuDNN convolution.
// Storage is fp32 or fp16 (`half`); arithmetic is always fp32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ridge::cuda::kernels {

enum class Act : int32_t {
  kNone,
  kRelu,
  kClip,
  kSigmoid,
  kSilu,
  kTanh,
  kErf,
  kGeluErf,
  kHardSigmoid,
  kHardSwish,
  kLeakyRelu,
  kNeg,
  kExp,
  kSqrt,
  kReciprocal,
  kAbs,
  kGeluTanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): Gelu approximate="tanh"
};
// a, b: Clip min/max, HardSigmoid alpha/beta, LeakyRelu alpha.
struct ActParams {
  Act act = Act::kNone;
  float a = 0, b = 0;
};

enum class BinOp : int32_t { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin };

inline constexpr int kMaxRank = 6;
// Output dims (physical order) and each operand's element strides in that order; stride 0
// broadcasts.
struct BroadcastIndex {
  int32_t rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t stride_a[kMaxRank] = {};
  int64_t stride_b[kMaxRank] = {};
};

void LaunchUnary(bool half, const void* x, void* y, int64_t n, ActParams act, cudaStream_t s);
// same_shape: a and b are dense with n elements each (no index arithmetic).
void LaunchBinary(bool half, BinOp op, const void* a, const void* b, void* y, int64_t n,
                  const BroadcastIndex& index, bool same_shape, ActParams epilogue, cudaStream_t s);
// y[i] = act(y[i] + bias[i % channels]) in place (channels innermost: NHWC or [N, C]).
// bias may be null. Strided variant for NCHW: channel = (i / inner) % channels.
void LaunchBiasAct(bool half, void* y, const void* bias, int64_t n, int64_t channels, int64_t inner,
                   ActParams act, cudaStream_t s);

}  // namespace ridge::cuda::kernels
