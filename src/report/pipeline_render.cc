// Renderings of the "End to end (measured)" section: terminal lines, the "pipeline" JSON object
// and an HTML block with an inline SVG bar of stage shares (no network references, like the rest
// of the page). Definitions of every figure: docs/metrics.md.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "report/analysis_report.h"
#include "report/pipeline_section.h"
#include "report/roofline_svg.h"

namespace ridge::report {
namespace {

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// One colour per stage; the network is the blue of the roofline's memory points.
const char* StageColor(const std::string& stage) {
  if (stage == "decode") return "#8c564b";
  if (stage == "pre") return "#2ca02c";
  if (stage == "H2D") return "#9467bd";
  if (stage == "infer") return "#1f77b4";
  if (stage == "D2H") return "#bcbd22";
  return "#ff7f0e";  // post
}

std::string RunLine(const PipelineSection& p) {
  std::string s = "ridge pipeline on " + (p.device.empty() ? "?" : p.device);
  if (!p.pre.empty()) s += ", pre " + p.pre;
  if (!p.post.empty()) s += ", post " + p.post;
  s += ", batch " + std::to_string(p.batch) + ", " + std::to_string(p.inflight) + " in flight";
  if (p.naive) s += " (naive)";
  s += ", " + std::to_string(p.frames) + " frames";
  return s;
}

std::string PredictedLine(const analysis::Analysis& a, const PipelineSection& p) {
  double ratio = MeasuredOverPredicted(a, p);
  std::string s = "measured infer " + Fmt("%.3f ms", p.infer_mean_ms) + " per item vs " +
                  Duration(a.prediction.total_s) + " predicted on " + a.device.name;
  s += ratio > 0 ? " (measured / predicted = " + Fmt("%.2fx", ratio) + ")" : " (no prediction)";
  return s;
}

// A horizontal bar, one rect per stage, width = share; labels inside wide enough segments.
std::string StageBarSvg(const PipelineSection& p, double width, double height) {
  std::string s = "<svg class=\"e2e-bar\" width=\"" + Fmt("%.0f", width) + "\" height=\"" +
                  Fmt("%.0f", height) + "\" viewBox=\"0 0 " + Fmt("%.0f", width) + " " +
                  Fmt("%.0f", height) +
                  "\" font-family=\"system-ui,sans-serif\" font-size=\"12\">\n";
  double x = 0;
  for (const auto& st : p.stages) {
    double w = st.share * width;
    if (!(w > 0)) continue;
    std::string label = st.stage + " " + Fmt("%.1f%%", 100 * st.share);
    s += "<rect x=\"" + Fmt("%.2f", x) + "\" y=\"0\" width=\"" + Fmt("%.2f", w) + "\" height=\"" +
         Fmt("%.0f", height) + "\" fill=\"" + StageColor(st.stage) + "\"><title>" +
         HtmlEscape(label + ", " + Fmt("%.3f ms mean", st.mean_ms)) + "</title></rect>\n";
    // ~7 px per character at 12 px.
    if (w > 7.0 * static_cast<double>(label.size()) + 8) {
      s += "<text x=\"" + Fmt("%.2f", x + w / 2) + "\" y=\"" + Fmt("%.1f", height / 2 + 4) +
           "\" text-anchor=\"middle\" fill=\"#fff\">" + HtmlEscape(label) + "</text>\n";
    }
    x += w;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace

std::string RenderPipelineText(const analysis::Analysis& a, const PipelineSection& p) {
  std::string s = "\n  End to end (measured): " + RunLine(p) + "\n  from " + p.file + "\n";
  s += "  stage       count    mean ms     p50 ms     p99 ms    share\n";
  for (const auto& st : p.stages) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-8s %8lld %10.3f %10.3f %10.3f %7.1f%%\n",
                  st.stage.c_str(), static_cast<long long>(st.count), st.mean_ms, st.p50_ms,
                  st.p99_ms, 100 * st.share);
    s += line;
  }
  s += "  network (infer) " + Fmt("%.1f%%", 100 * p.infer_share) + ", pre+post " +
       Fmt("%.1f%%", 100 * p.pre_post_share) + ", copies " + Fmt("%.1f%%", 100 * p.copies_share) +
       ", decode " + Fmt("%.1f%%", 100 * p.decode_share) + " of " +
       Fmt("%.1f ms", p.total_stage_ms) + " stage time\n";
  s += "  throughput " + Fmt("%.1f", p.throughput_fps) + " frames/s, latency p50 " +
       Fmt("%.3f", p.latency_p50_ms) + " ms, p99 " + Fmt("%.3f", p.latency_p99_ms) +
       " ms, overlap " + Fmt("%.2f", p.overlap) + "\n";
  s += "  " + PredictedLine(a, p) + "\n";
  s += "  => " + PipelineTakeaway(p) + "\n";
  for (const auto& w : p.warnings) s += "  warning: " + w + "\n";
  return s;
}

std::string RenderPipelineHtml(const analysis::Analysis& a, const PipelineSection& p) {
  std::string h = "<h2>End to end (measured)</h2>\n<p>" + HtmlEscape(RunLine(p)) + ", from <code>" +
                  HtmlEscape(p.file) + "</code>.</p>\n<p><b>" + HtmlEscape(PipelineTakeaway(p)) +
                  ".</b></p>\n";
  h += StageBarSvg(p, 1000, 36) + "<br>\n";
  h += "<table class=\"e2e\"><tr><th class=\"l\">stage</th><th>count</th><th>mean ms</th>"
       "<th>p50 ms</th><th>p99 ms</th><th>share of stage time</th></tr>\n";
  for (const auto& st : p.stages) {
    h += "<tr><td class=\"l\"><span style=\"color:" + std::string(StageColor(st.stage)) +
         "\">&#9632;</span> " + HtmlEscape(st.stage) + "</td><td>" + std::to_string(st.count) +
         "</td><td>" + Fmt("%.3f", st.mean_ms) + "</td><td>" + Fmt("%.3f", st.p50_ms) +
         "</td><td>" + Fmt("%.3f", st.p99_ms) + "</td><td>" + Fmt("%.1f%%", 100 * st.share) +
         "</td></tr>\n";
  }
  h += "</table>\n<table class=\"totals\" style=\"margin-top:10px\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h += "<tr><td class=\"l\">" + HtmlEscape(k) + "</td><td>" + HtmlEscape(v) + "</td></tr>\n";
  };
  row("network (infer) share", Fmt("%.1f%%", 100 * p.infer_share));
  row("pre+post+copies share", Fmt("%.1f%%", 100 * p.outside_share()));
  row("decode share", Fmt("%.1f%%", 100 * p.decode_share));
  row("throughput", Fmt("%.1f frames/s", p.throughput_fps));
  row("latency p50 / p99",
      Fmt("%.3f ms", p.latency_p50_ms) + " / " + Fmt("%.3f ms", p.latency_p99_ms));
  row("overlap (stage time / wall time)", Fmt("%.2f", p.overlap));
  double ratio = MeasuredOverPredicted(a, p);
  row("network: measured infer, mean per item", Fmt("%.3f ms", p.infer_mean_ms));
  row("network: predicted on " + a.device.name + ", " + std::string(PrecisionName(a.precision())),
      Duration(a.prediction.total_s));
  row("measured / predicted", ratio > 0 ? Fmt("%.2fx", ratio) : "no prediction");
  h += "</table>\n";
  if (!p.warnings.empty()) {
    h += "<ul>\n";
    for (const auto& w : p.warnings)
      h += "<li><b class=\"warning\">warning</b>: " + HtmlEscape(w) + "</li>\n";
    h += "</ul>\n";
  }
  return h;
}

nlohmann::json PipelineJsonObject(const analysis::Analysis& a, const PipelineSection& p) {
  using nlohmann::json;
  json stages = json::array();
  for (const auto& st : p.stages) {
    stages.push_back({{"stage", st.stage},
                      {"count", st.count},
                      {"mean_ms", st.mean_ms},
                      {"p50_ms", st.p50_ms},
                      {"p99_ms", st.p99_ms},
                      {"total_ms", st.total_ms},
                      {"share", st.share}});
  }
  return {{"file", p.file},
          {"model", p.model},
          {"task", p.task},
          {"device", p.device},
          {"pre", p.pre},
          {"post", p.post},
          {"naive", p.naive},
          {"batch", p.batch},
          {"inflight", p.inflight},
          {"frames", p.frames},
          {"throughput_fps", p.throughput_fps},
          {"latency_p50_ms", p.latency_p50_ms},
          {"latency_p99_ms", p.latency_p99_ms},
          {"latency_mean_ms", p.latency_mean_ms},
          {"overlap", p.overlap},
          {"total_stage_ms", p.total_stage_ms},
          {"stages", stages},
          {"network_share", p.infer_share},
          {"pre_post_share", p.pre_post_share},
          {"copies_share", p.copies_share},
          {"decode_share", p.decode_share},
          {"measured_infer_ms", p.infer_mean_ms},
          {"predicted_network_ms", a.prediction.total_s * 1e3},
          {"measured_over_predicted", MeasuredOverPredicted(a, p)},
          {"takeaway", PipelineTakeaway(p)},
          {"warnings", p.warnings}};
}

}  // namespace ridge::report
