// A self-contained SVG roofline chart (log-log: arithmetic intensity vs attainable FLOP/s) with
// the device's roofs drawn and one point per layer. Shared by `ridge analyze` and `ridge trt`.
#pragma once

#include <string>
#include <vector>

namespace ridge::report {

struct RooflineRoof {
  std::string label;        // "FP16 Tensor Core 989 TFLOP/s"
  double peak_flops_per_s;  // compute roof
};

struct RooflinePoint {
  std::string label;  // tooltip: layer name, op, figures
  double intensity_flops_per_byte;
  double achieved_flops_per_s;  // predicted or measured
  std::string category;         // colours points: "compute", "memory", "launch", ...
};

struct RooflineChart {
  std::string title;
  double memory_bytes_per_s = 0;
  std::vector<RooflineRoof> roofs;
  std::vector<RooflinePoint> points;
};

// Returns an <svg> element (no scripts, no external references) with axes, roofs and points.
std::string RenderRooflineSvg(const RooflineChart& chart, int width_px = 760, int height_px = 460);

// Escapes &, <, >, " and ' for HTML/SVG text and attributes.
std::string HtmlEscape(const std::string& text);

}  // namespace ridge::report
