// libFuzzer harness: .npy parsing (header syntax, dtype, dims, sizes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)ridge::runtime::ParseNpy(bytes, "fuzz.npy", 64 << 20);
  return 0;
}
