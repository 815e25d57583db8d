// Pointwise ONNX ops as the CUDA kernels see them, shared by the step builders
// (op_steps.cc: single ops; pointwise_chain_step.cc: fused chains).
#pragma once

#include <optional>
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

// GELU applied to y and nothing else reading y or the steps in between: one Gelu node (opset
// 20), or the erf form PyTorch exports, y / sqrt(2) -> Erf -> + 1 -> * y -> * 0.5 (operands of
// Add and Mul in either order). The nodes it covers and the value that holds GELU(y).
struct GeluMatch {
  ir::ValueId out = ir::kNoValue;
  std::vector<ir::NodeId> nodes;
  bool tanh = false;  // Gelu approximate="tanh"
};
std::optional<GeluMatch> MatchGelu(const ir::Graph& g, ir::ValueId y);

}  // namespace ridge::cuda
