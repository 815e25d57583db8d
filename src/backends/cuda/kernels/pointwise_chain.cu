#include "backends/cuda/kernels/device_util.cuh"
#include "backends/cuda/kernels/pointwise_chain.cuh"
#include "backends/cuda/kernels/vec16.cuh"

namespace ridge::cuda::kernels {

ChainIndex::Mode ChainIndexMode(const ChainIndex& index, int width) {
  const bool outer_block = index.mod[1] > 1;
  if (index.mod[0] == 1 && !outer_block) return ChainIndex::kSplat;  // one element for all
  // Consecutive outputs read consecutive operand elements: the inner block starts at the
  // innermost output dim, is dense, spans whole vectors, and the outer block moves by whole
  // vectors (so every vector's first element is 16-byte aligned).
  if (index.div[0] == 1 && index.mul[0] == 1 && index.mod[0] % width == 0 &&
      (!outer_block || index.mul[1] % width == 0))
    return ChainIndex::kVector;
  // The operand index only changes every div[0] outputs (and div[1] >= div[0] * mod[0]).
  if (index.div[0] % width == 0 && (!outer_block || index.div[1] % width == 0))
    return ChainIndex::kSplat;
  return ChainIndex::kGather;
}

namespace {

using namespace dev;  // NOLINT: Load/Store/Apply/Combine

struct TensorPtrs {
  const void* p[kMaxChainOps];
};

__device__ __forceinline__ int64_t OperandIndex(const ChainIndex& t, int64_t i) {
  int64_t r = ((i / t.div[0]) % t.mod[0]) * t.mul[0];
  if (t.mod[1] > 1) r += ((i / t.div[1]) % t.mod[1]) * t.mul[1];
  return r;
}

// V outputs starting at i0 (V = 1: any i0; V = vector width: i0 a multiple of V).
template <typename T, int V>
__device__ __forceinline__ void LoadOperand(const T* p, const ChainIndex& t, int64_t i0, float* o) {
  if constexpr (V == 1) {
    o[0] = Load(p, OperandIndex(t, i0));
  } else {
    if (t.mode == ChainIndex::kVector) {
      vec::ToFloat(vec::Load16(p + OperandIndex(t, i0)), p, o);
    } else if (t.mode == ChainIndex::kSplat) {
      const float v = Load(p, OperandIndex(t, i0));
#pragma unroll
      for (int j = 0; j < V; ++j) o[j] = v;
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j) o[j] = Load(p, OperandIndex(t, i0 + j));
    }
  }
}

// r[j] = act(r[j]) for the V values with the switch on the activation outside the loop over
// the values: a per-value dispatch cost more than the arithmetic (5 dispatching ops made GELU 5x
// slower than the one activation). Activations not listed take the per-value path.
#define RIDGE_CHAIN_ACT(A)                                               \
  case Act::A: {                                                         \
    const ActParams q{Act::A, p.a, p.b};                                 \
    _Pragma("unroll") for (int j = 0; j < V; ++j) r[j] = Apply(q, r[j]); \
    return;                                                              \
  }
template <int V>
__device__ __forceinline__ void ApplyAll(const ActParams& p, float* r) {
  switch (p.act) {
    RIDGE_CHAIN_ACT(kNone)
    RIDGE_CHAIN_ACT(kRelu)
    RIDGE_CHAIN_ACT(kClip)
    RIDGE_CHAIN_ACT(kSigmoid)
    RIDGE_CHAIN_ACT(kSilu)
    RIDGE_CHAIN_ACT(kTanh)
    RIDGE_CHAIN_ACT(kErf)
    RIDGE_CHAIN_ACT(kGeluErf)
    RIDGE_CHAIN_ACT(kHardSigmoid)
    RIDGE_CHAIN_ACT(kHardSwish)
    RIDGE_CHAIN_ACT(kLeakyRelu)
    default:
      for (int j = 0; j < V; ++j) r[j] = Apply(p, r[j]);
  }
}
#undef RIDGE_CHAIN_ACT

// r[j] = r[j] OP o[j] (or o[j] OP r[j]), the switch outside the loop over the values.
#define RIDGE_CHAIN_BIN(B)                                                                \
  case BinOp::B:                                                                          \
    if (first) {                                                                          \
      _Pragma("unroll") for (int j = 0; j < V; ++j) r[j] = Combine(BinOp::B, o[j], r[j]); \
    } else {                                                                              \
      _Pragma("unroll") for (int j = 0; j < V; ++j) r[j] = Combine(BinOp::B, r[j], o[j]); \
    }                                                                                     \
    return;
template <int V>
__device__ __forceinline__ void CombineAll(BinOp op, bool first, const float* o, float* r) {
  switch (op) {
    RIDGE_CHAIN_BIN(kAdd)
    RIDGE_CHAIN_BIN(kSub)
    RIDGE_CHAIN_BIN(kMul)
    RIDGE_CHAIN_BIN(kDiv)
    RIDGE_CHAIN_BIN(kMax)
    RIDGE_CHAIN_BIN(kMin)
    default:
      for (int j = 0; j < V; ++j) r[j] = first ? Combine(op, o[j], r[j]) : Combine(op, r[j], o[j]);
  }
}
#undef RIDGE_CHAIN_BIN

template <typename T, int V>
__global__ void chain_kernel(const T* x, T* y, int64_t groups, ChainParams p, TensorPtrs ptrs) {
  for (int64_t g = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; g < groups;
       g += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i0 = g * V;
    float xs[V], r[V];
    if constexpr (V == 1) {
      xs[0] = Load(x, i0);
    } else {
      vec::ToFloat(vec::Load16(x + i0), x, xs);
    }
#pragma unroll
    for (int j = 0; j < V; ++j) r[j] = xs[j];
#pragma unroll
    for (int k = 0; k < kMaxChainOps; ++k) {
      if (k < p.num_ops) {
        const ChainOp& op = p.ops[k];
        if (op.kind == ChainOp::kUnary) {
          ApplyAll<V>(op.act, r);
        } else {
          float o[V];
          if (op.kind == ChainOp::kScalar) {
#pragma unroll
            for (int j = 0; j < V; ++j) o[j] = op.scalar;
          } else if (op.kind == ChainOp::kInput) {
#pragma unroll
            for (int j = 0; j < V; ++j) o[j] = xs[j];
          } else {
            LoadOperand<T, V>(static_cast<const T*>(ptrs.p[k]), op.index, i0, o);
          }
          CombineAll<V>(op.op, op.operand_first, o, r);
        }
      }
    }
    if constexpr (V == 1) {
      Store(y, i0, r[0]);
    } else {
      vec::Store16(y + i0, vec::FromFloat(r, y));
    }
  }
}

template <typename T>
void Launch(const void* x, void* y, int64_t n, const ChainParams& p, const TensorPtrs& ptrs,
            cudaStream_t s) {
  constexpr int kV = vec::Width<T>::kN;
  bool vectorize = n % kV == 0 && vec::Aligned16(x) && vec::Aligned16(y);
  for (int k = 0; k < p.num_ops; ++k)
    if (p.ops[k].kind == ChainOp::kTensor && p.ops[k].index.mode == ChainIndex::kVector &&
        !vec::Aligned16(ptrs.p[k]))
      vectorize = false;
  if (vectorize) {
    chain_kernel<T, kV><<<Blocks(n / kV), 256, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y),
                                                       n / kV, p, ptrs);
  } else {
    chain_kernel<T, 1>
        <<<Blocks(n), 256, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), n, p, ptrs);
  }
}

}  // namespace

void LaunchPointwiseChain(bool half, const void* x, void* y, int64_t n, const ChainParams& p,
                          const void* const tensors[kMaxChainOps], cudaStream_t s) {
  if (n <= 0) return;
  TensorPtrs ptrs{};
  for (int k = 0; k < kMaxChainOps; ++k) ptrs.p[k] = tensors[k];
  if (half)
    Launch<__half>(x, y, n, p, ptrs, s);
  else
    Launch<float>(x, y, n, p, ptrs, s);
}

}  // namespace ridge::cuda::kernels
