// libFuzzer harness: ONNX bytes -> loader (limits, verification) -> shape inference.
#include <cstddef>
#include <cstdint>

#include "onnx/loader.h"
#include "ops/shape_inference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ridge::onnx::LoadOptions options;
  options.limits.max_tensor_bytes = 64 << 20;  // the fuzzer's RSS cap is 512 MB
  options.limits.max_total_initializer_bytes = 128 << 20;
  auto graph = ridge::onnx::LoadModelFromBytes(data, size, "", "fuzz.onnx", options);
  if (!graph.ok()) return 0;
  (void)ridge::ops::InferShapes(*graph, {});
  return 0;
}
