#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <numeric>

#include "report/analysis_report.h"
#include "report/pipeline_section.h"

namespace ridge::report {
namespace {

std::string Printf(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  return buf;
}

std::string Truncate(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = avg;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

std::string Si(double v) {
  const char* suffix[] = {"", " k", " M", " G", " T", " P"};
  int i = 0;
  while (std::fabs(v) >= 1000 && i < 5) {
    v /= 1000;
    ++i;
  }
  return Printf(std::fabs(v) >= 100 || i == 0 ? "%.0f%s" : "%.2f%s", v, suffix[i]);
}

std::string Duration(double s) {
  if (s >= 1) return Printf("%.3f s", s);
  if (s >= 1e-3) return Printf("%.3f ms", s * 1e3);
  return Printf("%.1f us", s * 1e6);
}

std::string RenderTextSummary(const analysis::Analysis& a, int top_n) {
  const auto& t = a.costs.totals;
  const auto& pred = a.prediction;
  std::string s;
  s += "Model " + a.model_name + " on " + a.device.display_name + " (" + a.device.name + "), " +
       std::string(PrecisionName(a.precision())) + "\n\n";
  s += Printf("  nodes          %zu (%zu kernels after fusion, %d free)\n", a.costs.nodes.size(),
              a.grouping.groups.size(), a.grouping.num_free_nodes);
  s += "  params         " + Si(t.params) + "\n";
  s += Printf("  FLOPs          %.3f GFLOPs (%.3f GMACs in conv/gemm)\n", t.flops / 1e9,
              t.macs / 1e9);
  s += "  bytes          " + Si(t.total_bytes()) + "B unfused (" + Si(t.weight_bytes) +
       "B weights)\n";
  s += "  predicted      " + Duration(pred.total_s) + " (" + Duration(pred.launch_s) + " of it " +
       std::to_string(pred.num_launches) + " launches)\n\n";

  s += "  kind            nodes   FLOPs share   time share\n";
  for (const auto& k : analysis::SharesByKind(a)) {
    if (k.num_nodes == 0) continue;
    s += Printf("  %-14s %6d   %10.1f%%   %9.1f%%\n", std::string(ops::OpKindName(k.kind)).c_str(),
                k.num_nodes, t.flops > 0 ? 100 * k.flops / t.flops : 0.0,
                pred.total_s > 0 ? 100 * k.time_s / pred.total_s : 0.0);
  }

  std::vector<size_t> order(a.grouping.groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return pred.groups[x].time_s > pred.groups[y].time_s;
  });
  size_t n = std::min(order.size(), static_cast<size_t>(std::max(top_n, 0)));
  s += Printf("\n  top %zu kernels by predicted time\n", n);
  s += "  #   kernel                          ops                         GFLOPs      MB"
       "  FLOP/B      time  bound\n";
  for (size_t i = 0; i < n; ++i) {
    const auto& g = a.grouping.groups[order[i]];
    const auto& p = pred.groups[order[i]];
    s += Printf("  %-3zu %-31s %-27s %6.3f %7.2f %7.1f %9s  %s\n", i + 1,
                Truncate(g.name, 31).c_str(), Truncate(g.label, 27).c_str(), g.flops / 1e9,
                g.total_bytes() / 1e6, g.intensity_flops_per_byte(), Duration(p.time_s).c_str(),
                std::string(analysis::BoundName(p.bound)).c_str());
  }
  s += "\n  lints (" + std::to_string(a.lints.size()) + ")\n";
  for (const auto& l : a.lints) {
    s += "  [" + l.severity + "] " + l.id + ": " + l.message + "\n      advice: " + l.advice + "\n";
  }
  if (a.lints.empty()) s += "  none\n";
  return s;
}

std::string RenderTextSummary(const analysis::Analysis& a, int top_n,
                              const PipelineSection& pipeline) {
  return RenderTextSummary(a, top_n) + RenderPipelineText(a, pipeline);
}

double SpearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return 0;
  auto ra = Ranks(a), rb = Ranks(b);
  double n = static_cast<double>(a.size());
  double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    cov += (ra[i] - ma) * (rb[i] - mb);
    va += (ra[i] - ma) * (ra[i] - ma);
    vb += (rb[i] - mb) * (rb[i] - mb);
  }
  return va > 0 && vb > 0 ? cov / std::sqrt(va * vb) : 0;
}

std::string RenderCompareTable(const std::vector<CompareRow>& rows, const std::string& device,
                               const std::string& precision) {
  std::vector<double> flops, time;
  for (const auto& r : rows) {
    flops.push_back(r.flops);
    time.push_back(r.predicted_s);
  }
  auto rank_f = Ranks(flops), rank_t = Ranks(time);
  std::string s = "Models on " + device + " at " + precision +
                  ", ranked by FLOPs and by predicted latency (1 = least)\n\n";
  s += "  model                     GFLOPs  FLOPs rank   predicted  latency rank\n";
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return flops[x] < flops[y]; });
  for (size_t i : order) {
    s += Printf("  %-24s %8.3f  %10.1f  %10s  %12.1f\n", Truncate(rows[i].model, 24).c_str(),
                rows[i].flops / 1e9, rank_f[i], Duration(rows[i].predicted_s).c_str(), rank_t[i]);
  }
  s += Printf("\n  Spearman correlation between the FLOPs and latency rankings: %.3f\n",
              SpearmanCorrelation(flops, time));
  return s;
}

}  // namespace ridge::report
