// ir::Graph -> ONNX file. Used by passes and tests to write rewritten graphs back out; what
// the loader reads, the writer writes (initializers as raw_data, no external data).
#pragma once

#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace ridge::onnx {

// Writes `graph` as an ONNX model (IR version 8, opset graph.opset_version, default 17).
// Values with a constant and is_initializer become initializers; inputs/outputs keep their
// dtype and shape (symbolic dims as dim_param); other typed values go to value_info.
Status SaveModel(const ir::Graph& graph, const std::string& path);

// Same, into bytes in memory (the engine file embeds the graph as one section).
Result<std::string> SaveModelToBytes(const ir::Graph& graph);

}  // namespace ridge::onnx
