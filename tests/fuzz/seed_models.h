// Small, valid ONNX models built with the protobuf API: the seeds that the malformed-model
// generator mutates (besides zoo models, when present).
#pragma once

#include <vector>

#include "onnx/onnx_pb.h"

namespace ridge::fuzz {

// conv(3->8, 3x3) + relu + global pool + flatten + gemm(8->10), weights as initializers.
::onnx::ModelProto MakeConvNetSeed();
// x[N,4,8,8] -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape: a shape sub-graph.
::onnx::ModelProto MakeShapeChainSeed();
// Elementwise mix with broadcasting, Split/Concat, Transpose, Softmax, ReduceMean, Resize.
::onnx::ModelProto MakeMixedOpsSeed();
std::vector<::onnx::ModelProto> AllBuiltInSeeds();

}  // namespace ridge::fuzz
