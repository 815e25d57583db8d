// ONNX file -> ir::Graph. Validates everything at this boundary: after a successful load the
// graph is well-formed (unique names, no dangling inputs, no cycles, topologically sorted,
// initializer sizes match their shapes, external data inside the model's folder).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace ridge::onnx {

// Caps enforced while loading (documented in docs/security.md). Defaults suit real models
// (the zoo's largest, resnet50, is ~100 MB) while refusing files that only claim to be huge.
struct LoadLimits {
  int64_t max_file_bytes = int64_t{4} << 30;    // the .onnx protobuf itself (< 2 GiB)
  int64_t max_tensor_bytes = int64_t{4} << 30;  // one initializer or attribute tensor
  int64_t max_total_initializer_bytes = int64_t{16} << 30;
  int64_t max_nodes = 1'000'000;
  int64_t max_rank = 16;
  int64_t max_dim_value = int64_t{1} << 40;
  int64_t max_graph_depth = 8;  // nested subgraphs (If/Loop bodies)
};

struct LoadOptions {
  LoadLimits limits;
  // Read initializer data (false: shapes only; faster analysis of huge models).
  bool load_weights = true;
};

// Loads and verifies `path`. Errors name the file and, where relevant, the node, op, input or
// initializer index and byte offset.
Result<ir::Graph> LoadModel(const std::string& path, const LoadOptions& options = {});

// Same from bytes in memory (fuzzing, tests). External data is resolved against `base_dir`
// ("" refuses external data).
Result<ir::Graph> LoadModelFromBytes(const void* data, size_t size, const std::string& base_dir,
                                     const std::string& display_name,
                                     const LoadOptions& options = {});

}  // namespace ridge::onnx
