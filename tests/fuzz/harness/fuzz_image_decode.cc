// libFuzzer harness: JPEG/PNG decode (magic detection, header caps, libjpeg-turbo and libpng
// error paths). Tight caps keep each execution small; the caps' checks are what is under test.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vision/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ridge::vision::DecodeOptions options;
  options.limits.max_width = 4096;
  options.limits.max_height = 4096;
  options.limits.max_pixels = 4 << 20;
  (void)ridge::vision::DecodeImage(bytes, "fuzz", options);
  options.order = ridge::vision::ChannelOrder::kBgr;
  options.limits.strict_jpeg = false;
  (void)ridge::vision::DecodeImage(bytes, "fuzz", options);
  return 0;
}
