// `ridge analyze MODEL [--device D] [--precision P] [--batch N] [--shapes ...] [--json F]
// [--html F] [--top N] [--pipeline P.json]` and `ridge analyze --compare a.onnx b.onnx ...`:
// predicts where a model's time goes on a device (cost model + fusion + roofline + lints) and
// reports it.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "analysis/analyzer.h"
#include "commands.h"
#include "onnx/loader.h"
#include "ops/shape_inference.h"
#include "report/analysis_report.h"
#include "report/pipeline_section.h"

namespace ridge::cli {
namespace {

struct AnalyzeFlags {
  std::string model;
  std::vector<std::string> compare;
  std::string device = "h100";
  std::string precision = "fp16";
  int64_t batch = 0;
  std::string shapes;
  std::string json_path;
  std::string html_path;
  std::string pipeline_path;
  int top = 10;
};

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return IoError("cannot open '" + path + "' for writing");
  out << text;
  out.close();
  if (!out) return IoError("failed writing '" + path + "'");
  return Status::Ok();
}

// `batch` (optional) receives dim 0 of the first input after shape inference (0 if unknown).
Result<analysis::Analysis> AnalyzeFile(const std::string& path, const AnalyzeFlags& f,
                                       const analysis::DeviceProfile& device, Precision precision,
                                       int64_t* batch = nullptr) {
  // Weights load too: shape sub-graphs (Reshape targets, Slice bounds) fold from their data.
  auto graph = onnx::LoadModel(path);
  if (!graph.ok()) return graph.status();
  ops::InferOptions infer;
  if (f.batch > 0) {
    infer.batch = f.batch;
  } else {
    // A symbolic batch would leave every size unknown (zero cost): analyze batch 1 unless told.
    for (ir::ValueId in : graph->inputs()) {
      const auto& shape = graph->value(in).shape;
      if (shape && shape->rank() > 0 && !(*shape)[0].known()) infer.batch = 1;
    }
  }
  if (!f.shapes.empty()) RIDGE_RETURN_IF_ERROR(ops::ParseShapesFlag(f.shapes, &infer));
  RIDGE_RETURN_IF_ERROR(ops::InferShapes(*graph, infer));  // names the file itself
  if (batch) {
    *batch = 0;
    if (!graph->inputs().empty()) {
      const auto& shape = graph->value(graph->inputs()[0]).shape;
      if (shape && shape->rank() > 0 && (*shape)[0].known()) *batch = (*shape)[0].value;
    }
  }
  std::string name = std::filesystem::path(path).stem().string();
  return analysis::Analyze(*graph, device, precision, name);
}

Status RunAnalyze(const AnalyzeFlags& f) {
  Precision precision;
  if (!ParsePrecision(f.precision, &precision)) {
    return InvalidArgument("--precision must be fp32, tf32, fp16 or int8, got '" + f.precision +
                           "'");
  }
  if (f.batch < 0) return InvalidArgument("--batch must be a positive integer");
  if (f.top < 0) return InvalidArgument("--top must be >= 0");
  RIDGE_ASSIGN_OR_RETURN(auto device, analysis::LoadDeviceProfile(f.device, DataDir()));

  if (!f.compare.empty()) {
    std::vector<std::string> files = f.compare;
    if (!f.model.empty()) files.insert(files.begin(), f.model);
    if (files.size() < 2) return InvalidArgument("--compare needs at least two models");
    std::vector<report::CompareRow> rows;
    for (const auto& path : files) {
      RIDGE_ASSIGN_OR_RETURN(auto a, AnalyzeFile(path, f, device, precision));
      rows.push_back({a.model_name, a.costs.totals.flops, a.prediction.total_s});
    }
    std::fputs(report::RenderCompareTable(rows, device.name, f.precision).c_str(), stdout);
    return Status::Ok();
  }
  if (f.model.empty()) return InvalidArgument("give a MODEL to analyze (or --compare A B ...)");
  // Read the measurement first: a wrong file fails before the (longer) analysis.
  std::optional<report::PipelineSection> pipeline;
  if (!f.pipeline_path.empty()) {
    RIDGE_ASSIGN_OR_RETURN(pipeline, report::LoadPipelineJson(f.pipeline_path, f.model));
  }
  int64_t batch = 0;
  RIDGE_ASSIGN_OR_RETURN(auto a, AnalyzeFile(f.model, f, device, precision, &batch));
  if (pipeline) report::CheckAgainstAnalysis(a, batch, &*pipeline);
  std::fputs((pipeline ? report::RenderTextSummary(a, f.top, *pipeline)
                       : report::RenderTextSummary(a, f.top))
                 .c_str(),
             stdout);
  if (!f.json_path.empty()) {
    RIDGE_RETURN_IF_ERROR(WriteFile(
        f.json_path, pipeline ? report::RenderJson(a, *pipeline) : report::RenderJson(a)));
    std::printf("\nwrote %s\n", f.json_path.c_str());
  }
  if (!f.html_path.empty()) {
    RIDGE_RETURN_IF_ERROR(WriteFile(
        f.html_path, pipeline ? report::RenderHtml(a, *pipeline) : report::RenderHtml(a)));
    std::printf("wrote %s\n", f.html_path.c_str());
  }
  return Status::Ok();
}

}  // namespace

Command RegisterAnalyze(CLI::App& parent) {
  auto flags = std::make_shared<AnalyzeFlags>();
  CLI::App* app = parent.add_subcommand(
      "analyze",
      "Predict where a model's time goes on a device: FLOPs, bytes, fused kernels, roofline "
      "time per kernel, bound class, and lints with advice (definitions: docs/metrics.md)");
  app->add_option("model", flags->model, "ONNX model file to analyze");
  app->add_option("--compare", flags->compare,
                  "Analyze several models and rank them by FLOPs and by predicted latency side "
                  "by side, with the Spearman correlation of the two rankings")
      ->expected(1, 1000);
  app->add_option("--device", flags->device,
                  "Device profile: a name under data/devices (h100, h100-sxm, h100-pcie, h200, "
                  "a100, a100-pcie, l4, t4, rtx4090, jetson-agx-orin, titan-rtx, cpu) or a "
                  "path to a profile .json")
      ->capture_default_str();
  app->add_option("--precision", flags->precision,
                  "Arithmetic precision: fp32 (CUDA cores), tf32, fp16 or int8 (Tensor Cores); "
                  "sets bytes per element and the compute peak")
      ->capture_default_str();
  app->add_option(
      "--batch", flags->batch,
      "Batch size: sets dim 0 of every input (default: 1 where the model leaves it symbolic)");
  app->add_option("--shapes", flags->shapes,
                  "Input shapes, e.g. input:1x3x224x224[,other:1x10] (override the file)");
  app->add_option("--json", flags->json_path,
                  "Write every node's and kernel's figures as JSON to this file");
  app->add_option("--html", flags->html_path,
                  "Write a self-contained HTML report (roofline chart, sortable kernel table)");
  app->add_option("--pipeline", flags->pipeline_path,
                  "A `ridge pipeline MODEL --json F` file of the same model: adds the measured "
                  "end-to-end stages (decode, pre, copies, infer, post), their shares and the "
                  "measured vs predicted network time to the summary, JSON and HTML");
  app->add_option("--top", flags->top, "How many kernels the top-by-predicted-time table shows")
      ->capture_default_str();
  return {app, [flags] {
            Status s = RunAnalyze(*flags);
            return s.ok() ? 0 : ReportError("analyze", s);
          }};
}

}  // namespace ridge::cli
