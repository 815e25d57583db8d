// Renders engine reports and comparisons: terminal text, JSON and a self-contained HTML page
// (roofline chart with each engine layer as a point, per-layer table).
#pragma once

#include <string>

#include "trt/engine_analysis.h"
#include "trt/engine_compare.h"
#include "trt/onnx_join.h"

namespace ridge::trt {

// `join` (may be null) adds the ONNX-level FLOPs and prediction beside each layer (--onnx).
std::string RenderEngineText(const EngineReport& r, int top_layers = 10,
                             const OnnxJoin* join = nullptr);
std::string RenderEngineJson(const EngineReport& r, const OnnxJoin* join = nullptr);
std::string RenderEngineHtml(const EngineReport& r, const analysis::DeviceProfile* device,
                             const OnnxJoin* join = nullptr);

std::string RenderCompareText(const EngineComparison& c, const EngineReport& a,
                              const EngineReport& b);
std::string RenderCompareJson(const EngineComparison& c, const EngineReport& a,
                              const EngineReport& b);

}  // namespace ridge::trt
