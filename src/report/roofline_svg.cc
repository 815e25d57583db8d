// Log-log roofline chart as a plain <svg>: axes with decade ticks, one roof line per compute
// peak (min(peak, bandwidth x intensity)), and one circle per layer with a <title> tooltip.
#include "report/roofline_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace ridge::report {
namespace {

std::string Fmt(const char* format, double a) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, a);
  return buf;
}

std::string Num(double v) { return Fmt("%.1f", v); }

// "1e12" -> "1T": axis labels.
std::string SiLabel(double v) {
  const char* suffix[] = {"", "k", "M", "G", "T", "P", "E"};
  int idx = 0;
  while (std::fabs(v) >= 1000 && idx < 6) {
    v /= 1000;
    ++idx;
  }
  if (v < 1 && v > 0) return Fmt("%g", v);
  return Fmt("%g", v) + suffix[idx];
}

std::string ColorFor(const std::string& category) {
  if (category == "compute") return "#d62728";
  if (category == "memory") return "#1f77b4";
  if (category == "launch") return "#7f7f7f";
  if (category == "measured") return "#2ca02c";
  // Stable colour for any other category: hash into a small palette.
  const char* palette[] = {"#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e"};
  size_t h = std::hash<std::string>{}(category);
  return palette[h % 6];
}

bool Positive(double v) { return std::isfinite(v) && v > 0; }

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderRooflineSvg(const RooflineChart& chart, int width_px, int height_px) {
  width_px = std::clamp(width_px, 200, 4000);
  height_px = std::clamp(height_px, 150, 4000);
  const double left = 70, right = 20, top = 36, bottom = 50;
  const double plot_w = width_px - left - right, plot_h = height_px - top - bottom;

  // Axis ranges in decades, covering every roof, the ridge points and every drawable point.
  double max_peak = 0;
  for (const auto& r : chart.roofs)
    if (Positive(r.peak_flops_per_s)) max_peak = std::max(max_peak, r.peak_flops_per_s);
  double x_lo = 0.1, x_hi = 1000, y_hi = max_peak > 0 ? max_peak : 1e12, y_lo = y_hi / 1e5;
  if (Positive(chart.memory_bytes_per_s)) {
    for (const auto& r : chart.roofs)
      if (Positive(r.peak_flops_per_s))
        x_hi = std::max(x_hi, 4 * r.peak_flops_per_s / chart.memory_bytes_per_s);
  }
  for (const auto& p : chart.points) {
    if (!Positive(p.intensity_flops_per_byte) || !Positive(p.achieved_flops_per_s)) continue;
    x_lo = std::min(x_lo, p.intensity_flops_per_byte);
    x_hi = std::max(x_hi, p.intensity_flops_per_byte);
    y_lo = std::min(y_lo, p.achieved_flops_per_s);
    y_hi = std::max(y_hi, p.achieved_flops_per_s);
  }
  const double lx0 = std::floor(std::log10(x_lo)), lx1 = std::ceil(std::log10(x_hi));
  const double ly0 = std::floor(std::log10(y_lo)), ly1 = std::ceil(std::log10(y_hi * 1.5));
  auto X = [&](double v) { return left + (std::log10(v) - lx0) / (lx1 - lx0) * plot_w; };
  auto Y = [&](double v) { return top + (ly1 - std::log10(v)) / (ly1 - ly0) * plot_h; };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"roofline\" width=\"" +
       std::to_string(width_px) + "\" height=\"" + std::to_string(height_px) + "\" viewBox=\"0 0 " +
       std::to_string(width_px) + " " + std::to_string(height_px) +
       "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  s += "<text x=\"" + Num(width_px / 2.0) + "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" +
       HtmlEscape(chart.title) + "</text>\n";
  // Grid and decade ticks.
  for (double d = lx0; d <= lx1 + 1e-9; d += 1) {
    double x = X(std::pow(10, d));
    s += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(top) + "\" x2=\"" + Num(x) + "\" y2=\"" +
         Num(top + plot_h) + "\" stroke=\"#e0e0e0\"/>\n";
    s += "<text x=\"" + Num(x) + "\" y=\"" + Num(top + plot_h + 16) + "\" text-anchor=\"middle\">" +
         SiLabel(std::pow(10, d)) + "</text>\n";
  }
  for (double d = ly0; d <= ly1 + 1e-9; d += 1) {
    double y = Y(std::pow(10, d));
    s += "<line x1=\"" + Num(left) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(left + plot_w) +
         "\" y2=\"" + Num(y) + "\" stroke=\"#e0e0e0\"/>\n";
    s += "<text x=\"" + Num(left - 6) + "\" y=\"" + Num(y + 4) + "\" text-anchor=\"end\">" +
         SiLabel(std::pow(10, d)) + "</text>\n";
  }
  s += "<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(plot_w) +
       "\" height=\"" + Num(plot_h) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  s += "<text x=\"" + Num(left + plot_w / 2) + "\" y=\"" + Num(height_px - 10.0) +
       "\" text-anchor=\"middle\">arithmetic intensity (FLOP/byte)</text>\n";
  s += "<text transform=\"translate(16," + Num(top + plot_h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">attainable FLOP/s</text>\n";

  // Roofs: bandwidth slope up to the ridge point, then flat at the peak.
  int roof_index = 0;
  for (const auto& r : chart.roofs) {
    if (!Positive(r.peak_flops_per_s)) continue;
    double x_start = std::pow(10, lx0), x_end = std::pow(10, lx1);
    std::string path;
    if (Positive(chart.memory_bytes_per_s)) {
      double ridge = r.peak_flops_per_s / chart.memory_bytes_per_s;
      double y_start = std::max(chart.memory_bytes_per_s * x_start, std::pow(10, ly0));
      double x_from = y_start / chart.memory_bytes_per_s;
      ridge = std::clamp(ridge, x_from, x_end);
      path = "M" + Num(X(x_from)) + "," + Num(Y(y_start)) + " L" + Num(X(ridge)) + "," +
             Num(Y(r.peak_flops_per_s)) + " L" + Num(X(x_end)) + "," + Num(Y(r.peak_flops_per_s));
    } else {
      path = "M" + Num(X(x_start)) + "," + Num(Y(r.peak_flops_per_s)) + " L" + Num(X(x_end)) + "," +
             Num(Y(r.peak_flops_per_s));
    }
    s += "<path class=\"roof\" d=\"" + path + "\" fill=\"none\" stroke=\"#222\" stroke-width=\"" +
         (roof_index == 0 ? "2" : "1.2") + "\"" +
         (roof_index == 0 ? "" : " stroke-dasharray=\"5,3\"") + "/>\n";
    s += "<text x=\"" + Num(left + plot_w - 4) + "\" y=\"" + Num(Y(r.peak_flops_per_s) - 4) +
         "\" text-anchor=\"end\" fill=\"#222\">" + HtmlEscape(r.label) + "</text>\n";
    ++roof_index;
  }
  // Points, with the label as a native tooltip.
  for (const auto& p : chart.points) {
    if (!Positive(p.intensity_flops_per_byte) || !Positive(p.achieved_flops_per_s)) continue;
    s += "<circle class=\"point\" cx=\"" + Num(X(p.intensity_flops_per_byte)) + "\" cy=\"" +
         Num(Y(p.achieved_flops_per_s)) + "\" r=\"4\" fill=\"" + ColorFor(p.category) +
         "\" fill-opacity=\"0.75\"><title>" + HtmlEscape(p.label) + "</title></circle>\n";
  }
  // Legend for the categories present.
  std::vector<std::string> seen;
  for (const auto& p : chart.points)
    if (std::find(seen.begin(), seen.end(), p.category) == seen.end()) seen.push_back(p.category);
  double ly = top + 14;
  for (const auto& c : seen) {
    s += "<circle cx=\"" + Num(left + 12) + "\" cy=\"" + Num(ly - 4) + "\" r=\"4\" fill=\"" +
         ColorFor(c) + "\"/><text x=\"" + Num(left + 20) + "\" y=\"" + Num(ly) + "\">" +
         HtmlEscape(c) + "</text>\n";
    ly += 15;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace ridge::report
