// Pointwise ONNX ops as the CUDA kernels see them, shared by the step builders
// (op_steps.cc: single ops; pointwise_chain_step.cc: fused chains).
#pragma once

#include <string>
#include <vector>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/elementwise.cuh"

namespace ridge::cuda {

// True when `n` is an activation the kernels apply elementwise (Identity and Dropout are the
// identity, kNone); Clip's min/max must be scalar constants.
bool UnaryAct(const ir::Graph& g, const ir::Node& n, kernels::ActParams* p);
// True for Add, Sub, Mul, Div, Pow, Max, Min.
bool BinaryOp(const std::string& op, kernels::BinOp* b);
// Element strides of `r` against logical output dims `out` (right-aligned broadcasting;
// stride 0 along broadcast dims), in logical order.
std::vector<int64_t> LogicalStrides(const Ref& r, const std::vector<int64_t>& out);

}  // namespace ridge::cuda
