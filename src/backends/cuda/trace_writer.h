// Chrome / Perfetto trace (JSON "traceEvents", complete "X" events) of one profiled run: one
// slice per engine step, with the ONNX nodes it covers as args. Open in ui.perfetto.dev or
// chrome://tracing. Plain C++, tested without a GPU.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ridge::cuda {

struct TraceSlice {
  std::string name;      // "12 cudnn_conv /layer1/conv1"
  std::string category;  // step kind
  double start_us = 0, dur_us = 0;
  std::vector<std::pair<std::string, std::string>> args;
};

// The trace document; slices are written sorted by start time (ties keep their order).
// Names may hold any bytes: quotes and control characters are escaped, invalid UTF-8 replaced.
std::string ChromeTraceJson(std::vector<TraceSlice> slices, const std::string& process_name);

Status WriteTextFile(const std::string& path, const std::string& text);

}  // namespace ridge::cuda
