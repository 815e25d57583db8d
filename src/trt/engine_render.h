// Renders engine reports and comparisons: terminal text, JSON and a self-contained HTML page
// (roofline chart with each engine layer as a point, per-layer table).
#pragma once

#include <string>

#include "trt/engine_analysis.h"
#include "trt/engine_compare.h"

namespace ridge::trt {

std::string RenderEngineText(const EngineReport& r, int top_layers = 10);
std::string RenderEngineJson(const EngineReport& r);
std::string RenderEngineHtml(const EngineReport& r, const analysis::DeviceProfile* device);

std::string RenderCompareText(const EngineComparison& c, const EngineReport& a,
                              const EngineReport& b);
std::string RenderCompareJson(const EngineComparison& c, const EngineReport& a,
                              const EngineReport& b);

}  // namespace ridge::trt
