// A chain of pointwise ops fused into one pass: y = op_k(... op_1(x)), where each op is an
// activation or a binary op whose other operand is a scalar, the chain's input x, or a tensor
// broadcast over the output. One read of x (plus the operands) and one write of y replace one
// read and one write per op: GELU exported as Div/Erf/Add/Mul/Mul is 5 passes otherwise.
// Storage is fp32 or fp16; the arithmetic stays in fp32 registers along the whole chain.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/elementwise.cuh"

namespace ridge::cuda::kernels {

inline constexpr int kMaxChainOps = 8;
inline constexpr int kMaxChainTensors = 4;  // tensor operands per chain

// Where output element i (dense index in the output's physical order) reads a tensor operand:
// ((i / div[0]) % mod[0]) * mul[0] + ((i / div[1]) % mod[1]) * mul[1]. Each term is a block
// of adjacent output dims along which the operand is dense; the dims outside both blocks are
// broadcast. A dense same-shape operand is one block {1, n, 1}; a per-channel vector of an
// NHWC output is {1, C, 1}; SE's per-(n, c) scale of an NHWC output adds {H*W*C, N, C}.
struct ChainIndex {
  int64_t div[2] = {1, 1}, mod[2] = {1, 1}, mul[2] = {0, 0};
  // How 8 (fp16) / 4 (fp32) consecutive outputs starting at a multiple of that width read it:
  // kVector = consecutive operand elements (one 16-byte load), kSplat = all the same element,
  // kGather = computed one by one. Set by the host from the fields above (ChainIndexMode).
  enum Mode : int32_t { kGather, kVector, kSplat } mode = kGather;
};
// The mode for vectors of `width` elements.
ChainIndex::Mode ChainIndexMode(const ChainIndex& index, int width);

struct ChainOp {
  enum Kind : int32_t { kUnary, kScalar, kInput, kTensor } kind = kUnary;
  ActParams act;               // kUnary
  BinOp op = BinOp::kAdd;      // the others: value = value OP operand
  bool operand_first = false;  // value = operand OP value (Sub, Div, Pow with value right)
  float scalar = 0;            // kScalar
  ChainIndex index;            // kTensor: how output elements read the op's tensor
};

// Held by value in the kernel's parameters; ops[k] is only ever indexed by an unrolled
// constant k, so nothing is copied to local memory.
struct ChainParams {
  int32_t num_ops = 0;
  ChainOp ops[kMaxChainOps];
};

// tensors[k] is op k's operand when it is a kTensor op (storage dtype of the chain). Takes the
// 16-byte vector path when n, x, y and every kVector operand allow it, else one element per
// thread.
void LaunchPointwiseChain(bool half, const void* x, void* y, int64_t n, const ChainParams& p,
                          const void* const tensors[kMaxChainOps], cudaStream_t s);

}  // namespace ridge::cuda::kernels
