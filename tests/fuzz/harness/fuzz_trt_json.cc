// libFuzzer harness: trtexec export readers (layer info, profile, run summary JSON).
#include <cstddef>
#include <cstdint>
#include <string>

#include "trt/engine_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)ridge::trt::ParseLayerInfo(text, "fuzz.graph.json");
  (void)ridge::trt::ParseProfile(text, "fuzz.profile.json");
  (void)ridge::trt::ParseRunSummary(text, text, "fuzz.metadata.json");
  return 0;
}
