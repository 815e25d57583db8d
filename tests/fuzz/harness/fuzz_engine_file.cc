// libFuzzer harness: engine file loading (header fields, strings, table of contents, checksums,
// compatibility, then the ONNX and JSON sections). Each input is loaded twice: as is, and
// resealed (checksums recomputed) so the fuzzer also reaches the checks behind the checksums.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/engine_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  ridge::onnx::LoadOptions options;
  options.limits.max_tensor_bytes = 64 << 20;
  options.limits.max_total_initializer_bytes = 64 << 20;
  auto env = ridge::runtime::EnvironmentInfo::Cpu();
  (void)ridge::runtime::LoadEngineFromBytes(bytes, "fuzz.ridge", env, options);
  if (ridge::runtime::ResealEngineBytes(&bytes).ok()) {
    (void)ridge::runtime::LoadEngineFromBytes(bytes, "fuzz.ridge", env, options);
    env.backend = "cuda";  // a cuda engine's compatibility path
    (void)ridge::runtime::LoadEngineFromBytes(bytes, "fuzz.ridge", env, options);
  }
  return 0;
}
