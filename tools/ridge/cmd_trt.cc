// `ridge trt report|compare`: explains what TensorRT built, from trtexec's own exports (layer
// info, profile, run metadata). No TensorRT and no GPU are needed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "analysis/analyzer.h"
#include "analysis/device_profile.h"
#include "commands.h"
#include "onnx/loader.h"
#include "trt/engine_analysis.h"
#include "trt/engine_compare.h"
#include "trt/engine_data.h"
#include "trt/engine_render.h"
#include "trt/onnx_join.h"

namespace ridge::cli {
namespace {

struct TrtOptions {
  std::string layers, profile, meta, device, json_path, html_path, onnx;
  std::string a, b;
  int top = 10;
};

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return IoError("cannot write '" + path + "'");
  out << text;
  if (!out) return IoError("write failed for '" + path + "'");
  return Status::Ok();
}

// Loads one engine: located siblings, with explicit --profile/--meta taking precedence.
Result<trt::EngineData> Load(const std::string& path, const std::string& profile,
                             const std::string& meta) {
  RIDGE_ASSIGN_OR_RETURN(trt::EngineFiles files, trt::LocateEngineFiles(path));
  if (!profile.empty()) files.profile = profile;
  if (!meta.empty()) files.run_meta = meta;
  return trt::LoadEngine(files);
}

// The device: --device, else guessed from trtexec's device name. A missing profile is reported
// and the analysis goes on without rooflines, unless the user named the device explicitly.
Result<std::optional<analysis::DeviceProfile>> Device(const std::string& requested,
                                                      const trt::EngineData& e) {
  std::string name = requested.empty() ? trt::GuessDeviceProfile(e.summary.device_name) : requested;
  if (name.empty()) return std::optional<analysis::DeviceProfile>();
  auto d = analysis::LoadDeviceProfile(name, DataDir());
  if (!d.ok()) {
    if (!requested.empty()) return d.status();
    std::fprintf(stderr, "ridge trt: note: no device profile for '%s' (%s); rooflines skipped\n",
                 e.summary.device_name.c_str(), d.status().ToString().c_str());
    return std::optional<analysis::DeviceProfile>();
  }
  return std::optional<analysis::DeviceProfile>(std::move(d).value());
}

// --onnx: the model the engine was built from, shape-inferred at the engine's batch and analyzed
// on the engine's device at the engine's dominant precision, joined layer by layer.
Result<trt::OnnxJoin> JoinModel(const std::string& path, const trt::EngineData& e,
                                const trt::EngineReport& r, const analysis::DeviceProfile* device) {
  if (!device)
    return InvalidArgument("--onnx needs a device profile for the prediction: pass --device");
  RIDGE_ASSIGN_OR_RETURN(ir::Graph graph, onnx::LoadModel(path));
  const int64_t batch = trt::EngineBatch(e);
  Status s = trt::PrepareModelForEngine(graph, batch);
  if (!s.ok()) return Status(s.code(), path + ": " + s.message());
  const std::string name = std::filesystem::path(path).stem().string();
  RIDGE_ASSIGN_OR_RETURN(analysis::Analysis a,
                         analysis::Analyze(graph, *device, trt::EnginePrecision(r), name));
  return trt::JoinOnnx(r, graph, a, batch);
}

Status RunReport(const TrtOptions& o) {
  RIDGE_ASSIGN_OR_RETURN(trt::EngineData e, Load(o.layers, o.profile, o.meta));
  RIDGE_ASSIGN_OR_RETURN(auto device, Device(o.device, e));
  const analysis::DeviceProfile* dev = device ? &*device : nullptr;
  trt::EngineReport r = trt::AnalyzeEngine(e, dev);
  std::optional<trt::OnnxJoin> join;
  if (!o.onnx.empty()) {
    RIDGE_ASSIGN_OR_RETURN(trt::OnnxJoin j, JoinModel(o.onnx, e, r, dev));
    join = std::move(j);
  }
  const trt::OnnxJoin* jp = join ? &*join : nullptr;
  std::fputs(trt::RenderEngineText(r, o.top, jp).c_str(), stdout);
  if (!o.json_path.empty())
    RIDGE_RETURN_IF_ERROR(WriteFile(o.json_path, trt::RenderEngineJson(r, jp)));
  if (!o.html_path.empty())
    RIDGE_RETURN_IF_ERROR(WriteFile(o.html_path, trt::RenderEngineHtml(r, dev, jp)));
  return Status::Ok();
}

Status RunCompare(const TrtOptions& o) {
  RIDGE_ASSIGN_OR_RETURN(trt::EngineData ea, Load(o.a, "", ""));
  RIDGE_ASSIGN_OR_RETURN(trt::EngineData eb, Load(o.b, "", ""));
  if (!ea.has_profile || !eb.has_profile)
    return InvalidArgument("compare needs a profile (*.profile.json) beside both engines");
  RIDGE_ASSIGN_OR_RETURN(auto da, Device(o.device, ea));
  RIDGE_ASSIGN_OR_RETURN(auto db, Device(o.device, eb));
  trt::EngineReport ra = trt::AnalyzeEngine(ea, da ? &*da : nullptr);
  trt::EngineReport rb = trt::AnalyzeEngine(eb, db ? &*db : nullptr);
  trt::EngineComparison c = trt::CompareEngines(ra, rb);
  std::fputs(trt::RenderCompareText(c, ra, rb).c_str(), stdout);
  if (!o.json_path.empty())
    RIDGE_RETURN_IF_ERROR(WriteFile(o.json_path, trt::RenderCompareJson(c, ra, rb)));
  return Status::Ok();
}

}  // namespace

Command RegisterTrt(CLI::App& parent) {
  auto opts = std::make_shared<TrtOptions>();
  CLI::App* app = parent.add_subcommand(
      "trt",
      "Explain a TensorRT engine from trtexec's exports (--exportLayerInfo/--exportProfile)");
  app->require_subcommand(1);
  CLI::App* report = app->add_subcommand("report", "Per-layer cost, roofline and conversions");
  report
      ->add_option("layers", opts->layers,
                   "Layer info (*.graph.json), its stem, or a folder with one engine's files")
      ->required();
  report->add_option("--profile", opts->profile, "Per-layer profile (--exportProfile JSON)");
  report->add_option("--meta", opts->meta, "Run summary (*.profile.metadata.json)");
  report->add_option("--device", opts->device, "Device profile name or JSON (default: guessed)");
  report->add_option("--json", opts->json_path, "Write the report as JSON");
  report->add_option("--html", opts->html_path, "Write a self-contained HTML report");
  report->add_option("--onnx", opts->onnx,
                     "The ONNX model the engine was built from: adds its FLOPs and predicted time "
                     "beside each layer");
  report->add_option("--top", opts->top, "Layers in the top list")->check(CLI::Range(1, 10000));
  CLI::App* compare = app->add_subcommand("compare", "Pair two engines' layers; explain the gap");
  compare->add_option("a", opts->a, "Engine A (baseline, e.g. FP16)")->required();
  compare->add_option("b", opts->b, "Engine B (e.g. INT8)")->required();
  compare->add_option("--device", opts->device, "Device profile name or JSON (default: guessed)");
  compare->add_option("--json", opts->json_path, "Write the comparison as JSON");
  return {app, [opts, report, compare] {
            if (report->parsed()) {
              Status s = RunReport(*opts);
              return s.ok() ? 0 : ReportError("trt report", s);
            }
            if (compare->parsed()) {
              Status s = RunCompare(*opts);
              return s.ok() ? 0 : ReportError("trt compare", s);
            }
            return 2;
          }};
}

}  // namespace ridge::cli
