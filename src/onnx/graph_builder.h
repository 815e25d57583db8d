// onnx::ModelProto -> ir::Graph with every structural check of the loader (names, opsets,
// caps, dangling inputs, cycles). Messages do not carry the file name; LoadModel prefixes it.
#pragma once

#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "onnx/loader.h"
#include "onnx/onnx_pb.h"

namespace ridge::onnx::internal {

Result<ir::Graph> BuildGraph(const ::onnx::ModelProto& model, const std::string& base_dir,
                             const LoadOptions& options);

}  // namespace ridge::onnx::internal
