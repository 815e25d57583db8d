// NumPy .npy reader/writer (format versions 1.0-3.0, little-endian, C order).
// The reader validates everything the file claims before allocating: header length and syntax,
// dtype, rank, dims (overflow-checked), total bytes against a cap and against the file's size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/tensor.h"

namespace ridge::runtime {

// Largest tensor the reader accepts by default (1 GiB).
inline constexpr int64_t kDefaultMaxNpyBytes = int64_t{1} << 30;

// Parses a whole .npy file held in memory. `display_name` prefixes errors.
Result<Tensor> ParseNpy(std::string_view bytes, const std::string& display_name,
                        int64_t max_bytes = kDefaultMaxNpyBytes);
Result<Tensor> ReadNpy(const std::string& path, int64_t max_bytes = kDefaultMaxNpyBytes);

// Serializes `tensor` as a version 1.0 .npy file.
Result<std::string> SerializeNpy(const Tensor& tensor);
Status WriteNpy(const std::string& path, const Tensor& tensor);

}  // namespace ridge::runtime
