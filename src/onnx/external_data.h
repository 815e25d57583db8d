// Tensor bytes stored outside the .onnx file (TensorProto.data_location == EXTERNAL).
//
// The location comes from the file, so it is hostile until proven otherwise: it must be a
// relative path without "..", and after resolving symlinks it must stay inside the model's
// folder and name a regular file; offset/length must lie inside that file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "onnx/onnx_pb.h"

namespace ridge::onnx::internal {

struct ExternalRef {
  std::string location;
  int64_t offset = 0;
  std::optional<int64_t> length;  // absent: the tensor's size
};

// Reads the "location", "offset" and "length" keys (others, e.g. "checksum", are ignored).
Result<ExternalRef> ParseExternalRef(const ::onnx::TensorProto& proto);

// Checks `ref` against the model folder `base_dir` and the tensor's `expected_bytes`, then, if
// `dest` is not null, reads exactly expected_bytes into it. Errors name the location and offset;
// the caller adds which tensor.
Status ReadExternalData(const std::string& base_dir, const ExternalRef& ref, int64_t expected_bytes,
                        std::byte* dest);

}  // namespace ridge::onnx::internal
