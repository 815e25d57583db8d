// Text, JSON and HTML for `ridge trt report` and `ridge trt compare`. Every figure printed here
// is defined in docs/trt.md.
#include "trt/engine_render.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "report/roofline_svg.h"

namespace ridge::trt {
namespace {

std::string Fmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

std::string Short(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

const char* TcName(TensorCoreUse u) {
  switch (u) {
    case TensorCoreUse::kYes:
      return "yes";
    case TensorCoreUse::kNo:
      return "no";
    case TensorCoreUse::kUnknown:
      break;
  }
  return "?";
}

// HTML text and attribute escaping shared with the analyzer's report.
std::string Escape(const std::string& s) { return report::HtmlEscape(s); }

nlohmann::json LayerJson(const LayerRecord& r) {
  nlohmann::json j;
  j["name"] = r.layer->name;
  j["type"] = r.layer->layer_type;
  j["kind"] = LayerKindName(r.kind);
  j["in_precision"] = ElemTypeName(r.in_elem);
  j["out_precision"] = ElemTypeName(r.out_elem);
  j["time_ms"] = r.time_ms;
  j["time_share"] = r.time_share;
  j["flops"] = r.flops;
  j["flops_unpadded"] = r.flops_unpadded;
  j["bytes"] = r.bytes;
  j["intensity_flops_per_byte"] = r.intensity;
  j["achieved_flops_per_s"] = r.achieved_flops_per_s;
  j["achieved_bytes_per_s"] = r.achieved_bytes_per_s;
  j["roof_flops_per_s"] = r.roof_flops_per_s;
  j["roof_share"] = r.roof_share;
  j["bound"] = r.bound;
  j["tensor_core"] = TcName(r.tensor_core);
  j["tensor_core_why"] = r.tensor_core_why;
  j["channels_aligned"] = r.channels_aligned;
  j["tactic"] = r.layer->tactic_name;
  nlohmann::json nodes = nlohmann::json::array();
  for (const OnnxNodeRef& n : r.onnx_nodes) nodes.push_back(n.name);
  j["onnx_nodes"] = nodes;
  return j;
}

nlohmann::json LayerJoinJson(const LayerJoin& lj) {
  return {{"matched", lj.matched()},
          {"nodes", lj.node_names},
          {"unresolved", lj.unresolved},
          {"flops", lj.onnx_flops},
          {"predicted_ms", lj.predicted_ms}};
}

// The join's summary lines: what was matched, what the model predicts against what was measured.
std::string JoinSummaryText(const EngineReport& r, const OnnxJoin& j) {
  std::string out =
      Fmt("\nONNX join: %s at batch %lld, %s: %d of %d engine layers matched (%d node names exact, "
          "%d by rank among same-type nodes)\n",
          j.model_name.c_str(), static_cast<long long>(j.batch),
          std::string(PrecisionName(j.precision)).c_str(), j.matched_layers, j.candidate_layers,
          j.nodes_by_name, j.nodes_by_rank);
  out +=
      Fmt("  model: %.2f GFLOP, predicted %.4f ms; matched layers: %.2f GFLOP, predicted "
          "%.4f ms, engine %.2f GFLOP, measured %.4f ms\n",
          j.model_flops / 1e9, j.model_predicted_ms, j.matched_flops / 1e9, j.matched_predicted_ms,
          r.total_flops / 1e9, r.total_ms);
  if (j.uncovered_compute_nodes > 0)
    out += Fmt("  %d ONNX node(s) with %.3f GFLOP are named by no engine layer\n",
               j.uncovered_compute_nodes, j.uncovered_flops / 1e9);
  if (!j.unmatched_layers.empty()) {
    out += Fmt("  unmatched layers (%zu):\n", j.unmatched_layers.size());
    for (const std::string& u : j.unmatched_layers) out += "    " + Short(u, 160) + "\n";
  }
  return out;
}

}  // namespace

std::string RenderEngineText(const EngineReport& r, int top_layers, const OnnxJoin* join) {
  std::string out;
  const EngineData* e = r.engine;
  out += Fmt("engine %s: %zu layers", r.label.c_str(), r.layers.size());
  if (!r.device_name.empty()) out += ", device " + r.device_name;
  out += "\n";
  if (e && e->has_summary)
    out += Fmt("  trtexec: %.1f qps, GPU compute mean %.4f ms, precision flags %s\n",
               e->summary.throughput_qps, e->summary.gpu_compute_mean_ms,
               e->summary.precision_flags.empty() ? "?" : e->summary.precision_flags.c_str());
  if (!e || !e->has_profile) out += "  no profile: times, shares and rooflines are 0\n";
  out += Fmt("  profiled total %.4f ms (sum of per-layer averages), %.2f GFLOP, %.1f MB moved\n",
             r.total_ms, r.total_flops / 1e9, r.total_bytes / 1e6);
  out += Fmt("  conversions: reformat %.4f ms + standalone Q/DQ %.4f ms = %.1f%% of time\n",
             r.reformat_ms, r.quantize_ms, 100 * r.ConversionShare());
  out += Fmt("  Tensor Core coverage: %.1f%% of compute time (%.4f of %.4f ms)\n",
             100 * r.TensorCoreCoverage(), r.tensor_core_ms, r.compute_ms);
  if (!r.has_device) out += "  no device profile: roofline shares not computed (--device)\n";

  out += "\ntime by layer type\n";
  std::vector<std::pair<double, std::string>> types;
  for (const auto& [type, ms] : r.ms_by_type) types.push_back({ms, type});
  std::sort(types.rbegin(), types.rend());
  for (const auto& [ms, type] : types)
    out += Fmt("  %-28s %9.4f ms %5.1f%%\n", type.c_str(), ms,
               r.total_ms > 0 ? 100 * ms / r.total_ms : 0.0);

  std::vector<const LayerRecord*> sorted;
  for (const LayerRecord& l : r.layers) sorted.push_back(&l);
  std::stable_sort(sorted.begin(), sorted.end(), [](const LayerRecord* x, const LayerRecord* y) {
    return x->time_ms > y->time_ms;
  });
  out += Fmt("\ntop %d layers\n", top_layers);
  out += Fmt("  %-44s %-9s %5s %9s %6s %8s %8s %6s %-8s %-3s", "layer", "kind", "prec", "ms", "%",
             "GFLOP/s", "GB/s", "roof%", "bound", "TC");
  if (join) out += Fmt(" %9s %9s %9s", "eng GFLOP", "onnxGFLOP", "pred ms");
  out += "\n";
  for (int i = 0; i < top_layers && i < static_cast<int>(sorted.size()); ++i) {
    const LayerRecord& l = *sorted[i];
    out += Fmt("  %-44s %-9s %5s %9.4f %5.1f%% %8.0f %8.0f %5.0f%% %-8s %-3s",
               Short(l.layer->name, 44).c_str(), LayerKindName(l.kind), ElemTypeName(l.in_elem),
               l.time_ms, 100 * l.time_share, l.achieved_flops_per_s / 1e9,
               l.achieved_bytes_per_s / 1e9, 100 * l.roof_share, l.bound.c_str(),
               TcName(l.tensor_core));
    if (join) {
      const LayerJoin& lj = join->layers[static_cast<size_t>(&l - r.layers.data())];
      if (lj.matched())
        out += Fmt(" %9.3f %9.3f %9.4f", l.flops / 1e9, lj.onnx_flops / 1e9, lj.predicted_ms);
      else
        out += Fmt(" %9.3f %9s %9s", l.flops / 1e9, "-", "-");
    }
    out += "\n";
  }
  if (join) out += JoinSummaryText(r, *join);
  if (!r.lints.empty()) {
    out += "\nlints\n";
    for (const std::string& lint : r.lints) out += "  - " + lint + "\n";
  }
  return out;
}

std::string RenderEngineJson(const EngineReport& r, const OnnxJoin* join) {
  nlohmann::json j;
  j["engine"] = r.label;
  j["device"] = r.device_name;
  j["total_ms"] = r.total_ms;
  j["reformat_ms"] = r.reformat_ms;
  j["quantize_ms"] = r.quantize_ms;
  j["conversion_share"] = r.ConversionShare();
  j["compute_ms"] = r.compute_ms;
  j["tensor_core_ms"] = r.tensor_core_ms;
  j["tensor_core_coverage"] = r.TensorCoreCoverage();
  j["total_flops"] = r.total_flops;
  j["total_bytes"] = r.total_bytes;
  j["ms_by_type"] = r.ms_by_type;
  j["lints"] = r.lints;
  if (r.engine && r.engine->has_summary) {
    j["throughput_qps"] = r.engine->summary.throughput_qps;
    j["gpu_compute_mean_ms"] = r.engine->summary.gpu_compute_mean_ms;
  }
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < r.layers.size(); ++i) {
    nlohmann::json lj = LayerJson(r.layers[i]);
    if (join) lj["onnx"] = LayerJoinJson(join->layers[i]);
    layers.push_back(lj);
  }
  j["layers"] = layers;
  if (join) {
    j["onnx_join"] = {{"model", join->model_name},
                      {"batch", join->batch},
                      {"precision", std::string(PrecisionName(join->precision))},
                      {"candidate_layers", join->candidate_layers},
                      {"matched_layers", join->matched_layers},
                      {"unmatched_layers", join->unmatched_layers},
                      {"nodes_by_name", join->nodes_by_name},
                      {"nodes_by_rank", join->nodes_by_rank},
                      {"model_flops", join->model_flops},
                      {"model_predicted_ms", join->model_predicted_ms},
                      {"matched_flops", join->matched_flops},
                      {"matched_predicted_ms", join->matched_predicted_ms},
                      {"uncovered_compute_nodes", join->uncovered_compute_nodes},
                      {"uncovered_flops", join->uncovered_flops}};
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RenderEngineHtml(const EngineReport& r, const analysis::DeviceProfile* device,
                             const OnnxJoin* join) {
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ridge trt: " + Escape(r.label) +
      "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
      "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
      "td:first-child{text-align:left}</style></head><body>";
  html += "<h1>TensorRT engine " + Escape(r.label) + "</h1><pre>" +
          Escape(RenderEngineText(r, 10, join)) + "</pre>";
  if (device) {
    report::RooflineChart chart;
    chart.title = r.label + " on " + device->display_name;
    chart.memory_bytes_per_s = device->memory_bytes_per_s;
    chart.roofs.push_back({"FP32", device->peak_fp32_flops_per_s});
    if (device->peak_fp16_flops_per_s > 0)
      chart.roofs.push_back({"FP16 Tensor Core", device->peak_fp16_flops_per_s});
    if (device->peak_int8_ops_per_s > 0)
      chart.roofs.push_back({"INT8 Tensor Core", device->peak_int8_ops_per_s});
    for (const LayerRecord& l : r.layers) {
      if (l.kind != LayerKind::kCompute || l.time_ms <= 0 || l.flops <= 0) continue;
      chart.points.push_back(
          {Fmt("%s (%s, %.4f ms)", l.layer->name.c_str(), ElemTypeName(l.in_elem), l.time_ms),
           l.intensity, l.achieved_flops_per_s, l.bound});
    }
    html += "<h2>Roofline</h2>" + report::RenderRooflineSvg(chart);
  }
  html +=
      "<h2>Layers</h2><table><tr><th>layer</th><th>type</th><th>kind</th><th>in</th>"
      "<th>out</th><th>ms</th><th>%</th><th>GFLOP</th><th>MB</th><th>FLOP/B</th>"
      "<th>GFLOP/s</th><th>GB/s</th><th>roof %</th><th>bound</th><th>TC</th><th>tactic</th>"
      "<th>ONNX nodes</th>" +
      std::string(join ? "<th>ONNX GFLOP</th><th>predicted ms</th><th>matched nodes</th>" : "") +
      "</tr>";
  for (const LayerRecord& l : r.layers) {
    std::string nodes;
    for (const OnnxNodeRef& n : l.onnx_nodes) nodes += (nodes.empty() ? "" : " ") + n.name;
    html += "<tr><td>" + Escape(Short(l.layer->name, 80)) + "</td><td>" +
            Escape(l.layer->layer_type) + "</td><td>" + LayerKindName(l.kind) + "</td><td>" +
            ElemTypeName(l.in_elem) + "</td><td>" + ElemTypeName(l.out_elem) + "</td>" +
            Fmt("<td>%.4f</td><td>%.1f</td><td>%.3f</td><td>%.2f</td><td>%.1f</td><td>%.0f</td>"
                "<td>%.0f</td><td>%.0f</td>",
                l.time_ms, 100 * l.time_share, l.flops / 1e9, l.bytes / 1e6, l.intensity,
                l.achieved_flops_per_s / 1e9, l.achieved_bytes_per_s / 1e9, 100 * l.roof_share) +
            "<td>" + Escape(l.bound) + "</td><td>" + TcName(l.tensor_core) + "</td><td>" +
            Escape(Short(l.layer->tactic_name, 60)) + "</td><td>" + Escape(nodes) + "</td>";
    if (join) {
      const LayerJoin& lj = join->layers[static_cast<size_t>(&l - r.layers.data())];
      std::string matched;
      for (const std::string& n : lj.node_names) matched += (matched.empty() ? "" : " ") + n;
      html += lj.matched() ? Fmt("<td>%.3f</td><td>%.4f</td>", lj.onnx_flops / 1e9, lj.predicted_ms)
                           : std::string("<td>-</td><td>-</td>");
      html += "<td>" + Escape(matched) + "</td>";
    }
    html += "</tr>";
  }
  html += "</table></body></html>\n";
  return html;
}

std::string RenderCompareText(const EngineComparison& c, const EngineReport& a,
                              const EngineReport& b) {
  std::string out;
  out += Fmt("A = %s: profiled %.4f ms, %.0f qps, conversions %.4f ms, Tensor Core %.0f%%\n",
             c.a_label.c_str(), c.a_ms, c.a_qps, c.a_conversion_ms, 100 * a.TensorCoreCoverage());
  out += Fmt("B = %s: profiled %.4f ms, %.0f qps, conversions %.4f ms, Tensor Core %.0f%%\n",
             c.b_label.c_str(), c.b_ms, c.b_qps, c.b_conversion_ms, 100 * b.TensorCoreCoverage());
  out += Fmt("B/A time %.3f (%s); pairing by %s\n\n", c.a_ms > 0 ? c.b_ms / c.a_ms : 0.0,
             c.b_ms > c.a_ms ? "B is slower" : "B is faster", c.pairing.c_str());
  out += Fmt("  %-40s %3s %3s %9s %9s %6s\n", "pair (ONNX anchors)", "#A", "#B", "A ms", "B ms",
             "B/A");
  for (const LayerPair& p : c.pairs) {
    out += Fmt("  %-40s %3zu %3zu %9.4f %9.4f %6.2f%s\n", Short(p.title, 40).c_str(),
               p.a_layers.size(), p.b_layers.size(), p.a_ms, p.b_ms,
               p.a_ms > 0 ? p.b_ms / p.a_ms : 0.0, p.did_not_pay ? "  did not pay" : "");
    for (const Cause& cause : p.causes)
      out += Fmt("      %-34s %.4f ms: %s\n", CauseName(cause.kind), cause.ms,
                 Short(cause.detail, 200).c_str());
  }
  out += "\nwhere B did not pay (B time per cause over those pairs; a layer can have several)\n";
  for (const auto& [kind, ms] : c.cause_ms)
    out += Fmt("  %-34s %.4f ms in %d pair(s)\n", CauseName(kind), ms, c.cause_layers.at(kind));
  out += Fmt("conversion layers (reformat + Q/DQ): A %.4f ms, B %.4f ms (%+.4f ms)\n",
             c.a_conversion_ms, c.b_conversion_ms, c.b_conversion_ms - c.a_conversion_ms);
  return out;
}

std::string RenderCompareJson(const EngineComparison& c, const EngineReport& a,
                              const EngineReport& b) {
  nlohmann::json j;
  j["a"] = {{"engine", c.a_label},
            {"total_ms", c.a_ms},
            {"qps", c.a_qps},
            {"conversion_ms", c.a_conversion_ms},
            {"tensor_core_coverage", a.TensorCoreCoverage()}};
  j["b"] = {{"engine", c.b_label},
            {"total_ms", c.b_ms},
            {"qps", c.b_qps},
            {"conversion_ms", c.b_conversion_ms},
            {"tensor_core_coverage", b.TensorCoreCoverage()}};
  j["pairing"] = c.pairing;
  nlohmann::json pairs = nlohmann::json::array();
  for (const LayerPair& p : c.pairs) {
    nlohmann::json pj;
    pj["title"] = p.title;
    pj["a_ms"] = p.a_ms;
    pj["b_ms"] = p.b_ms;
    pj["did_not_pay"] = p.did_not_pay;
    nlohmann::json al = nlohmann::json::array(), bl = nlohmann::json::array();
    for (size_t i : p.a_layers) al.push_back(a.layers[i].layer->name);
    for (size_t i : p.b_layers) bl.push_back(b.layers[i].layer->name);
    pj["a_layers"] = al;
    pj["b_layers"] = bl;
    nlohmann::json causes = nlohmann::json::array();
    for (const Cause& cause : p.causes)
      causes.push_back(
          {{"cause", CauseKey(cause.kind)}, {"ms", cause.ms}, {"detail", cause.detail}});
    pj["causes"] = causes;
    pairs.push_back(pj);
  }
  j["pairs"] = pairs;
  nlohmann::json totals;
  for (const auto& [kind, ms] : c.cause_ms) totals[CauseKey(kind)] = ms;
  j["cause_ms"] = totals;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace ridge::trt
