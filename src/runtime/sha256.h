// SHA-256 (FIPS 180-4), for the engine file's checksums: of the source model and of the payload.
// A small self-contained implementation so the runtime needs no crypto library; it is a checksum
// against corruption here, not a signature (anyone can recompute it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ridge::runtime {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental hashing: Update() any number of times, then Finish() once.
class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  Sha256Digest Finish();

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

Sha256Digest Sha256Of(std::string_view bytes);
// Hashes a file by streaming it (no whole-file buffer).
Result<Sha256Digest> Sha256OfFile(const std::string& path);
// Lower-case hex, 64 characters.
std::string DigestHex(const Sha256Digest& digest);

}  // namespace ridge::runtime
