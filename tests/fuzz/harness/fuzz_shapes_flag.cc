// libFuzzer harness: the CLI's --shapes / --batch strings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/shape_inference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  ridge::ops::InferOptions options;
  (void)ridge::ops::ParseShapesFlag(text, &options);
  return 0;
}
