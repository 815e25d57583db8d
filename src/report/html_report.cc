// Self-contained HTML: inline CSS, the SVG roofline, a sortable per-kernel table (a few lines
// of inline script), lints and the device's sources. No network references: the only URLs are
// the device sources' links, which the reader may follow.
#include <cstdio>

#include "report/analysis_report.h"
#include "report/pipeline_section.h"
#include "report/roofline_svg.h"

namespace ridge::report {
namespace {

constexpr const char* kStyle = R"(<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1300px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f0f0f0;cursor:pointer;user-select:none}
td.l,th.l{text-align:left}.compute{color:#d62728}.memory{color:#1f77b4}.launch{color:#7f7f7f}
.warning{color:#b35900}.info{color:#336}.totals td{font-size:13px}
</style>)";

// Click a header to sort by that column (numbers numerically, via data-v), again to reverse.
constexpr const char* kScript = R"(<script>
document.querySelectorAll('table.sortable th').forEach(function(th, col) {
  th.addEventListener('click', function() {
    var tbody = th.closest('table').tBodies[0];
    var rows = Array.from(tbody.rows);
    var dir = th.dataset.dir === 'asc' ? -1 : 1;
    th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    rows.sort(function(a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      if (x !== undefined && y !== undefined) return dir * (parseFloat(x) - parseFloat(y));
      return dir * a.cells[col].textContent.localeCompare(b.cells[col].textContent);
    });
    rows.forEach(function(r) { tbody.appendChild(r); });
  });
});
</script>)";

std::string Num(double v, const char* format = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string NumCell(double v, const std::string& shown) {
  return "<td data-v=\"" + Num(v, "%.6g") + "\">" + HtmlEscape(shown) + "</td>";
}

std::string Linkify(const std::string& text) {
  // Turns each http(s) URL of a source into a link; everything else is escaped text.
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t at = text.find("http", pos);
    if (at == std::string::npos) {
      out += HtmlEscape(text.substr(pos));
      break;
    }
    size_t end = text.find_first_of(" ;)\"'<>", at);
    if (end == std::string::npos) end = text.size();
    while (end > at && (text[end - 1] == ',' || text[end - 1] == '.')) --end;
    std::string url = text.substr(at, end - at);
    out += HtmlEscape(text.substr(pos, at - pos));
    out += "<a href=\"" + HtmlEscape(url) + "\">" + HtmlEscape(url) + "</a>";
    pos = end;
  }
  return out;
}

// `pipeline` may be null: the page without the "End to end (measured)" section.
std::string RenderHtmlPage(const analysis::Analysis& a, const PipelineSection* pipeline) {
  const auto& t = a.costs.totals;
  const auto& pred = a.prediction;
  const std::string precision(PrecisionName(a.precision()));
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                  HtmlEscape("ridge analyze: " + a.model_name) + "</title>\n" + kStyle +
                  "</head><body>\n";
  h += "<h1>" + HtmlEscape(a.model_name) + " on " + HtmlEscape(a.device.display_name) + ", " +
       precision + "</h1>\n<table class=\"totals\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h += "<tr><td class=\"l\">" + HtmlEscape(k) + "</td><td>" + HtmlEscape(v) + "</td></tr>\n";
  };
  row("nodes", std::to_string(a.costs.nodes.size()) + " (" +
                   std::to_string(a.grouping.groups.size()) + " kernels after fusion)");
  row("params", Si(t.params));
  row("GFLOPs", Num(t.flops / 1e9));
  row("GMACs (conv/gemm)", Num(t.macs / 1e9));
  row("bytes (unfused)", Si(t.total_bytes()) + "B");
  row("predicted latency", Duration(pred.total_s));
  row("launch overhead",
      Duration(pred.launch_s) + " (" + std::to_string(pred.num_launches) + " launches)");
  h += "</table>\n";
  if (pipeline) h += RenderPipelineHtml(a, *pipeline);
  h += "<h2>FLOPs share vs predicted time share by kind</h2>\n<table>"
       "<tr><th class=\"l\">kind</th><th>nodes</th><th>FLOPs share</th><th>time share</th></tr>\n";
  for (const auto& k : analysis::SharesByKind(a)) {
    if (k.num_nodes == 0) continue;
    h += "<tr><td class=\"l\">" + std::string(ops::OpKindName(k.kind)) + "</td><td>" +
         std::to_string(k.num_nodes) + "</td><td>" +
         Num(t.flops > 0 ? 100 * k.flops / t.flops : 0, "%.1f%%") + "</td><td>" +
         Num(pred.total_s > 0 ? 100 * k.time_s / pred.total_s : 0, "%.1f%%") + "</td></tr>\n";
  }
  h += "</table>\n<h2>Roofline</h2>\n";

  RooflineChart chart;
  chart.title =
      a.model_name + " on " + a.device.name + " (" + precision + "): one point per kernel";
  chart.memory_bytes_per_s = a.device.memory_bytes_per_s;
  chart.roofs.push_back(
      {precision + " compute " + Si(a.device.PeakFlopsPerS(a.precision())) + "FLOP/s",
       a.device.PeakFlopsPerS(a.precision())});
  if (a.device.VectorFlopsPerS(a.precision()) < a.device.PeakFlopsPerS(a.precision())) {
    chart.roofs.push_back({"vector " + Si(a.device.VectorFlopsPerS(a.precision())) + "FLOP/s",
                           a.device.VectorFlopsPerS(a.precision())});
  }
  for (size_t i = 0; i < a.grouping.groups.size(); ++i) {
    const auto& g = a.grouping.groups[i];
    const auto& p = pred.groups[i];
    if (g.flops <= 0 || p.time_s <= 0) continue;
    chart.points.push_back({g.name + " (" + g.label + "): " + Duration(p.time_s) + ", " +
                                Num(g.intensity_flops_per_byte()) + " FLOP/B",
                            g.intensity_flops_per_byte(), g.flops / p.time_s,
                            std::string(analysis::BoundName(p.bound))});
  }
  std::string svg = RenderRooflineSvg(chart, 1000, 520);
  // Inline SVG in HTML needs no namespace declaration; dropping it keeps the page free of URLs.
  const std::string ns = " xmlns=\"http://www.w3.org/2000/svg\"";
  if (auto at = svg.find(ns); at != std::string::npos) svg.erase(at, ns.size());
  h += svg;

  h += "<h2>Lints</h2>\n<ul>\n";
  for (const auto& l : a.lints) {
    h += "<li><b class=\"" + HtmlEscape(l.severity) + "\">" + HtmlEscape(l.id) +
         "</b>: " + HtmlEscape(l.message) + "<br><i>advice:</i> " + HtmlEscape(l.advice) +
         "</li>\n";
  }
  if (a.lints.empty()) h += "<li>none</li>\n";
  h += "</ul>\n<h2>Kernels (click a header to sort)</h2>\n<table class=\"sortable\"><thead><tr>"
       "<th>#</th><th class=\"l\">kernel</th><th class=\"l\">ops</th><th class=\"l\">kind</th>"
       "<th>MFLOPs</th><th>KB</th><th>FLOP/B</th><th>time us</th><th>share</th>"
       "<th class=\"l\">bound</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < a.grouping.groups.size(); ++i) {
    const auto& g = a.grouping.groups[i];
    const auto& p = pred.groups[i];
    std::string bound(analysis::BoundName(p.bound));
    h += "<tr>" + NumCell(static_cast<double>(i), std::to_string(i)) + "<td class=\"l\">" +
         HtmlEscape(g.name) + "</td><td class=\"l\">" + HtmlEscape(g.label) +
         "</td><td class=\"l\">" + std::string(ops::OpKindName(g.kind)) + "</td>" +
         NumCell(g.flops, Num(g.flops / 1e6, "%.3f")) +
         NumCell(g.total_bytes(), Num(g.total_bytes() / 1e3, "%.1f")) +
         NumCell(g.intensity_flops_per_byte(), Num(g.intensity_flops_per_byte(), "%.1f")) +
         NumCell(p.time_s, Num(p.time_s * 1e6, "%.2f")) +
         NumCell(p.time_s, Num(pred.total_s > 0 ? 100 * p.time_s / pred.total_s : 0, "%.1f%%")) +
         "<td class=\"l " + bound + "\">" + bound + "</td></tr>\n";
  }
  h += "</tbody></table>\n<h2>Device figures and sources</h2>\n<ul>\n";
  for (const auto& s : a.device.sources) h += "<li>" + Linkify(s) + "</li>\n";
  h += "</ul>\n<p>Definitions of every figure: docs/metrics.md in the Ridgeline sources.</p>\n";
  h += kScript;
  h += "\n</body></html>\n";
  return h;
}

}  // namespace

std::string RenderHtml(const analysis::Analysis& a) { return RenderHtmlPage(a, nullptr); }

std::string RenderHtml(const analysis::Analysis& a, const PipelineSection& pipeline) {
  return RenderHtmlPage(a, &pipeline);
}

}  // namespace ridge::report
