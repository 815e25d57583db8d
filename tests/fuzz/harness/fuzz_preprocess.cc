// libFuzzer harness: preprocessing parameters. Input = a spec line (ParsePreprocessSpec text),
// '\n', one byte each of source width and height (1..64), then pixels (cycled to fill the image).
// Differential: when the spec parses, the Halide pipeline must give exactly the reference's
// values (NaN for NaN), for any scale/mean/std, pad, size, mode, layout and type. Outputs are
// kept <= 128x128 so each execution stays small.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "vision/preprocess.h"
#include "vision/preprocess_halide.h"

namespace {

bool SameValue(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

}  // namespace

// One Halide thread: coverage from pool threads varies run to run, which made the fixed-seed CI
// run explore different inputs on different machines.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (ridge::vision::HalidePreprocessAvailable()) {
    (void)ridge::vision::SetHalidePreprocessThreads(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ridge::vision;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t newline = bytes.find('\n');
  if (newline == std::string_view::npos || bytes.size() < newline + 3) return 0;
  auto spec = ParsePreprocessSpec(bytes.substr(0, newline));
  if (!spec.ok() || spec->out_width > 128 || spec->out_height > 128) return 0;
  Image image;
  image.width = 1 + data[newline + 1] % 64;
  image.height = 1 + data[newline + 2] % 64;
  image.channels = 3;
  image.stride = static_cast<size_t>(image.width) * 3;
  image.order = spec->input_order;
  image.data.resize(image.stride * image.height);
  std::string_view pixels = bytes.substr(newline + 3);
  for (size_t i = 0; i < image.data.size(); ++i) {
    image.data[i] = pixels.empty() ? static_cast<uint8_t>(i * 37) : pixels[i % pixels.size()];
  }
  const size_t n = static_cast<size_t>(spec->OutputElements());
  std::vector<float> ref(n), hal(n);  // fp16 output uses the first half of the bytes
  if (!PreprocessReference(image, *spec, ref.data()).ok()) return 0;
  if (!HalidePreprocessAvailable()) return 0;
  if (!PreprocessHalide(image, *spec, hal.data()).ok()) __builtin_trap();  // same contract
  for (size_t i = 0; i < n; ++i) {
    float a, b;
    if (spec->type == OutputType::kFloat32) {
      a = ref[i];
      b = hal[i];
    } else {
      uint16_t ha, hb;
      std::memcpy(&ha, reinterpret_cast<const uint16_t*>(ref.data()) + i, 2);
      std::memcpy(&hb, reinterpret_cast<const uint16_t*>(hal.data()) + i, 2);
      a = ridge::HalfToFloat(ha);
      b = ridge::HalfToFloat(hb);
    }
    if (!SameValue(a, b)) {  // Halide and the reference disagree: say where, then crash
      std::fprintf(stderr,
                   "preprocess mismatch at element %zu of %zu: reference %.9g, Halide %.9g\n", i, n,
                   a, b);
      __builtin_trap();
    }
  }
  return 0;
}
