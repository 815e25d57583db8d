// Renderings of an analysis::Analysis: a terminal summary, a JSON document of every node's
// figures (schema: docs/metrics.md), and a self-contained HTML page (inline CSS, a small
// inline sorting script, the SVG roofline; no network references).
#pragma once

#include <string>
#include <vector>

#include "analysis/analyzer.h"

namespace ridge::report {

inline constexpr int kAnalysisSchemaVersion = 1;

struct PipelineSection;  // report/pipeline_section.h

std::string RenderTextSummary(const analysis::Analysis& a, int top_n = 10);
std::string RenderJson(const analysis::Analysis& a);
std::string RenderHtml(const analysis::Analysis& a);
// The same with the "End to end (measured)" section of `ridge analyze --pipeline` (adds the
// JSON's "pipeline" object; every other key is unchanged).
std::string RenderTextSummary(const analysis::Analysis& a, int top_n,
                              const PipelineSection& pipeline);
std::string RenderJson(const analysis::Analysis& a, const PipelineSection& pipeline);
std::string RenderHtml(const analysis::Analysis& a, const PipelineSection& pipeline);

// One row per model of `ridge analyze --compare`.
struct CompareRow {
  std::string model;
  double flops = 0;
  double predicted_s = 0;
};
// Spearman rank correlation of two equally long series (average ranks for ties); 0 when fewer
// than two items or a series is constant.
double SpearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b);
std::string RenderCompareTable(const std::vector<CompareRow>& rows, const std::string& device,
                               const std::string& precision);

// "4.09 G", "312 M": compact SI figures for tables.
std::string Si(double v);
// "1.234 ms", "56.7 us".
std::string Duration(double seconds);

}  // namespace ridge::report
