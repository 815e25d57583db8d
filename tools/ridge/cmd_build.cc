// `ridge build MODEL -o model.ridge [--device cpu|cuda] [--precision fp32|fp16] [--batch N]
// [--shapes ...] [--preprocess SPEC [--frame-size WxH]] [--allow-cpu-fallback]`: loads a model,
// binds the batch, infers shapes, checks the backend builds it (cuda: builds and runs the engine on
// this GPU), and writes a versioned, checksummed engine file (docs/engine_file.md), then reads it
// back to verify. With --preprocess the engine takes uint8 frames [N, H, W, 3]
// (runtime/preprocessed_engine.h).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "backends/cpu/executor.h"
#include "commands.h"
#include "onnx/loader.h"
#include "onnx/writer.h"
#include "ops/shape_inference.h"
#include "profiler/stats.h"
#include "runtime/engine_file.h"
#include "runtime/engine_runner.h"
#include "runtime/preprocessed_engine.h"

namespace ridge::cli {
namespace {

struct BuildFlags {
  std::string model;
  std::string output;
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string shapes;
  int64_t batch = 0;
  std::string preprocess;  // vision::PreprocessSpec text; empty: float input as the model's
  std::string frame_size;  // WxH of the uint8 frames (--preprocess only), default 1920x1080
  bool allow_cpu_fallback = false;  // cuda: nodes without a GPU kernel run on the host
};

nlohmann::json ValueJson(const ir::Value& v) {
  nlohmann::json dims = nlohmann::json::array();
  if (v.shape) {
    for (const Dim& d : v.shape->dims()) {
      if (d.known()) {
        dims.push_back(d.value);
      } else {
        dims.push_back(d.symbol.empty() ? "?" : d.symbol);
      }
    }
  }
  return {{"name", v.name}, {"dtype", std::string(DTypeName(v.dtype))}, {"dims", dims}};
}

// One line of the build log: the step, its time, what it produced.
void Log(const char* step, double ms, const std::string& what) {
  std::printf("  %-10s %9.1f ms  %s\n", step, ms, what.c_str());
}

std::string MiB(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f MiB", bytes / 1048576.0);
  return buf;
}

Status Build(const BuildFlags& f) {
  const bool cuda = f.device == "cuda";
  if (f.device != "cpu" && !cuda) {
    return InvalidArgument("--device " + f.device + ": expected cpu or cuda");
  }
  Precision precision;
  if (!ParsePrecision(f.precision, &precision)) {
    return InvalidArgument("--precision " + f.precision + ": expected fp32, tf32, fp16 or int8");
  }
  if (!cuda && precision != Precision::kFp32) {
    return Unsupported("--precision " + f.precision + ": the cpu backend builds fp32 only");
  }
  if (cuda && precision != Precision::kFp32 && precision != Precision::kFp16) {
    return Unsupported("--precision " + f.precision + ": the cuda backend builds fp16 or fp32");
  }
  if (!cuda && f.allow_cpu_fallback) {
    return InvalidArgument(
        "--allow-cpu-fallback applies to --device cuda (the cpu backend runs "
        "every node it supports already)");
  }
  if (f.batch < 0 || f.batch > runtime::kEngineMaxBatch) {
    return InvalidArgument("--batch must be in [1, " + std::to_string(runtime::kEngineMaxBatch) +
                           "]");
  }
  int frame_width = 1920, frame_height = 1080;
  if (!f.frame_size.empty()) {
    if (f.preprocess.empty()) return InvalidArgument("--frame-size needs --preprocess");
    RIDGE_RETURN_IF_ERROR(runtime::ParseFrameSize(f.frame_size, &frame_width, &frame_height));
  }
  // A cuda engine is for this GPU and these libraries: no GPU, no engine (fails before loading).
  runtime::EnvironmentInfo env = runtime::EnvironmentInfo::Cpu();
  if (cuda) {
    RIDGE_ASSIGN_OR_RETURN(env, runtime::LiveCudaEnvironment());
  }
  std::string output = f.output;
  if (output.empty()) output = std::filesystem::path(f.model).replace_extension(".ridge").string();
  if (output == f.model) return InvalidArgument("-o must differ from the model file");
  std::printf("ridge build: %s -> %s (device %s, precision %s)\n", f.model.c_str(), output.c_str(),
              cuda ? ("cuda: " + env.device_name).c_str() : "cpu", f.precision.c_str());
  profiler::Timer total;

  profiler::Timer t;
  RIDGE_ASSIGN_OR_RETURN(ir::Graph graph, onnx::LoadModel(f.model));
  std::error_code ec;
  auto model_bytes = std::filesystem::file_size(f.model, ec);
  Log("load", t.ElapsedMs(),
      std::to_string(graph.num_nodes()) + " nodes, " + MiB(static_cast<double>(model_bytes)));

  t.Reset();
  RIDGE_ASSIGN_OR_RETURN(runtime::Sha256Digest model_sha, runtime::Sha256OfFile(f.model));
  Log("hash", t.ElapsedMs(), "sha256 " + runtime::DigestHex(model_sha));

  t.Reset();
  ops::InferOptions infer;
  if (!f.shapes.empty()) RIDGE_RETURN_IF_ERROR(ops::ParseShapesFlag(f.shapes, &infer));
  infer.batch = f.batch > 0 ? f.batch : 1;  // binds only a dynamic dim 0, as `ridge analyze`
  RIDGE_RETURN_IF_ERROR(ops::InferShapes(graph, infer));  // names the file itself
  int64_t batch = 0;
  std::string input_text;
  for (ir::ValueId id : graph.inputs()) {
    const ir::Value& v = graph.value(id);
    if (!v.shape || !v.shape->fully_known()) {
      return InvalidArgument(f.model + ": input '" + v.name +
                             "' still has a dynamic shape; give it with --shapes");
    }
    if (batch == 0 && v.shape->rank() > 0) batch = v.shape->dims()[0].value;
    input_text += (input_text.empty() ? "" : ", ") + v.name + " " + v.shape->ToString();
  }
  if (batch > runtime::kEngineMaxBatch) return InvalidArgument("batch over the engine's cap");
  Log("shapes", t.ElapsedMs(), "batch " + std::to_string(batch) + "; " + input_text);

  std::optional<runtime::PreprocessConfig> pre;
  if (!f.preprocess.empty()) {
    std::vector<const ir::Value*> fed;
    for (ir::ValueId id : graph.inputs())
      if (!graph.value(id).constant) fed.push_back(&graph.value(id));
    if (fed.size() != 1) {
      return Unsupported("--preprocess: the model must have one input, it has " +
                         std::to_string(fed.size()));
    }
    RIDGE_ASSIGN_OR_RETURN(pre,
                           runtime::MakePreprocessConfig(f.preprocess, frame_width, frame_height,
                                                         *fed[0]->shape->ToInts(), fed[0]->dtype));
    Log("preprocess", 0,
        "'" + pre->spec.ToString() + "' from uint8 frames " + std::to_string(frame_width) + "x" +
            std::to_string(frame_height) + " (" + (cuda ? "gpu kernel" : "cpu") + ")");
  }

  t.Reset();
  nlohmann::json backend_json;
  std::string tactics_json;
  if (cuda) {
    RIDGE_ASSIGN_OR_RETURN(runtime::CudaBuildReport r,
                           runtime::BuildCudaEngineReport(graph, precision, f.allow_cpu_fallback));
    Log("compile", t.ElapsedMs(),
        std::to_string(r.steps) + " cuda steps, " + std::to_string(r.fused_nodes) +
            " fused nodes, " + std::to_string(r.layout_changes) + " layout changes; peak " +
            "activations " + MiB(static_cast<double>(r.arena_bytes)) + " (arena) vs " +
            MiB(static_cast<double>(r.arena_naive_bytes)) + " (naive sum); built in " +
            std::to_string(static_cast<int64_t>(r.build_ms)) + " ms; tactics " +
            std::to_string(r.tactic_layers_timed) + " layers timed, " +
            std::to_string(r.tactic_layers_cached) + " reused");
    if (r.cpu_fallback.nodes > 0)
      std::printf("  %-10s %12s  %s\n", "fallback", "",
                  runtime::CpuFallbackLine(r.cpu_fallback).c_str());
    tactics_json = std::move(r.tactics_json);
    backend_json = {{"steps", r.steps},
                    {"fused_nodes", r.fused_nodes},
                    {"layout_changes", r.layout_changes},
                    {"arena_bytes", r.arena_bytes},
                    {"arena_naive_bytes", r.arena_naive_bytes},
                    {"weight_bytes", r.weight_bytes},
                    {"workspace_bytes", r.workspace_bytes},
                    {"step_kinds", r.step_kinds},
                    {"build_ms", r.build_ms},
                    {"tactic_layers_timed", r.tactic_layers_timed},
                    {"tactic_layers_cached", r.tactic_layers_cached},
                    {"cpu_fallback",
                     {{"nodes", r.cpu_fallback.nodes},
                      {"node_names", r.cpu_fallback.node_names},
                      {"bytes_per_run", r.cpu_fallback.bytes_per_run},
                      {"host_syncs_per_run", r.cpu_fallback.host_syncs_per_run}}},
                    {"environment",
                     {{"device_name", env.device_name},
                      {"sm_version", env.sm_version},
                      {"cuda_version", env.cuda_version},
                      {"cudnn_version", env.cudnn_version},
                      {"cublas_version", env.cublas_version}}}};
  } else {
    RIDGE_RETURN_IF_ERROR_CTX(cpu::CheckSupported(graph), f.model);
    RIDGE_ASSIGN_OR_RETURN(auto executor, cpu::Executor::Create(graph, {}));
    const auto& mem = executor->memory_stats();
    Log("compile", t.ElapsedMs(),
        std::to_string(executor->num_kernels()) + " cpu kernels, activations " +
            MiB(static_cast<double>(mem.planned_bytes)) + " planned");
    backend_json = {{"kernels", executor->KernelCounts()},
                    {"planned_activation_bytes", mem.planned_bytes},
                    {"unplanned_activation_bytes", mem.naive_bytes}};
  }

  t.Reset();
  RIDGE_ASSIGN_OR_RETURN(std::string onnx_bytes, onnx::SaveModelToBytes(graph));
  int64_t num_initializers = 0, initializer_bytes = 0;
  for (const ir::Value& v : graph.values()) {
    if (v.is_initializer && v.constant) {
      ++num_initializers;
      initializer_bytes += static_cast<int64_t>(v.constant->size_bytes());
    }
  }
  nlohmann::json meta = {
      {"format", "ridge-build-metadata/1"},
      {"ridge_version", RIDGE_VERSION},
      {"source_model",
       {{"file", std::filesystem::path(f.model).filename().string()},
        {"bytes", model_bytes},
        {"sha256", runtime::DigestHex(model_sha)}}},
      {"options",
       {{"device", f.device},
        {"precision", f.precision},
        {"batch", f.batch},
        {"shapes", f.shapes},
        {"preprocess", pre ? pre->spec.ToString() : ""},
        {"allow_cpu_fallback", f.allow_cpu_fallback},
        {"frame_size",
         pre ? std::to_string(frame_width) + "x" + std::to_string(frame_height) : ""}}},
      {"graph",
       {{"nodes", graph.num_nodes()},
        {"initializers", num_initializers},
        {"initializer_bytes", initializer_bytes},
        {"opset", graph.opset_version}}},
      {f.device, backend_json},
  };
  meta["inputs"] = nlohmann::json::array();
  for (ir::ValueId id : graph.inputs()) meta["inputs"].push_back(ValueJson(graph.value(id)));
  meta["outputs"] = nlohmann::json::array();
  for (ir::ValueId id : graph.outputs()) meta["outputs"].push_back(ValueJson(graph.value(id)));

  runtime::EngineHeader header;
  header.ridge_version = RIDGE_VERSION;
  header.backend = env.backend;
  header.device_name = cuda ? env.device_name : "cpu";
  header.sm_version = env.sm_version;
  header.cuda_version = env.cuda_version;
  header.cudnn_version = env.cudnn_version;
  header.cublas_version = env.cublas_version;
  header.precision = f.precision;
  header.batch = batch;
  header.model_sha256 = model_sha;
  std::vector<runtime::EngineSection> sections(2);
  sections[0].type = static_cast<uint32_t>(runtime::SectionType::kOnnxGraph);
  sections[0].flags = runtime::kSectionRequired;
  sections[0].bytes = std::move(onnx_bytes);
  sections[1].type = static_cast<uint32_t>(runtime::SectionType::kBuildJson);
  sections[1].bytes = meta.dump(2);
  if (pre) {
    // Required: a reader that skipped it would feed the frames to the model as floats.
    sections.push_back({static_cast<uint32_t>(runtime::SectionType::kPreprocess),
                        runtime::kSectionRequired, pre->ToJson()});
  }
  if (!tactics_json.empty()) {
    // Optional: a reader that skips it times the tactics again when it builds the engine.
    sections.push_back(
        {static_cast<uint32_t>(runtime::SectionType::kTactics), 0, std::move(tactics_json)});
  }
  size_t graph_size = sections[0].bytes.size(), json_size = sections[1].bytes.size();
  RIDGE_RETURN_IF_ERROR(runtime::WriteEngineFile(output, header, sections));
  auto engine_bytes = std::filesystem::file_size(output, ec);
  Log("write", t.ElapsedMs(),
      MiB(static_cast<double>(engine_bytes)) + " (onnx-graph " +
          MiB(static_cast<double>(graph_size)) + ", build-json " + std::to_string(json_size) +
          " B)");

  t.Reset();
  RIDGE_ASSIGN_OR_RETURN(auto loaded, runtime::LoadEngineFile(output, env));
  if (loaded.graph.num_nodes() != graph.num_nodes()) {
    return Internal(output + ": read back " + std::to_string(loaded.graph.num_nodes()) +
                    " nodes, wrote " + std::to_string(graph.num_nodes()));
  }
  std::string ran;
  if (pre) {
    // The frames path is new code on both backends: open the file as `ridge run` would and run
    // one synthetic frame batch through preprocessing and the model.
    RIDGE_ASSIGN_OR_RETURN(auto runner, runtime::OpenEngineRunner(output));
    RIDGE_ASSIGN_OR_RETURN(auto frames, runtime::RandomRunnerInputs(*runner, 0));
    RIDGE_RETURN_IF_ERROR_CTX(runner->Run(frames).status(), output);
    ran = "; opened and ran one frame batch";
  }
  Log("verify", t.ElapsedMs(),
      "read back: checksums ok, " + std::to_string(loaded.graph.num_nodes()) + " nodes" + ran);
  std::printf("built %s in %.1f ms\n", output.c_str(), total.ElapsedMs());
  return Status::Ok();
}

}  // namespace

Command RegisterBuild(CLI::App& parent) {
  auto flags = std::make_shared<BuildFlags>();
  CLI::App* app = parent.add_subcommand(
      "build", "Build a versioned, checksummed engine file (model.ridge) from an ONNX model");
  app->add_option("model", flags->model, "ONNX model file")->required();
  app->add_option("-o,--output", flags->output, "Engine file to write (default: MODEL.ridge)");
  app->add_option("--device", flags->device, "Target backend: cpu (default) or cuda (this GPU)");
  app->add_option("--precision", flags->precision, "fp32 (cpu, cuda) or fp16 (cuda)");
  app->add_option("--batch", flags->batch, "Bind a dynamic dim 0 of every input (default 1)");
  app->add_option("--shapes", flags->shapes, "Input shapes: name:1x3x224x224[,name2:...]");
  app->add_option("--preprocess", flags->preprocess,
                  "Bake preprocessing in: the engine takes uint8 frames [N,H,W,3], e.g. "
                  "\"letterbox=640,bgr2rgb,scale=1/255\"");
  app->add_option("--frame-size", flags->frame_size,
                  "WxH of the frames for --preprocess (default 1920x1080)");
  app->add_flag("--allow-cpu-fallback", flags->allow_cpu_fallback,
                "--device cuda: run nodes without a GPU kernel on the CPU (copies and host "
                "syncs per run, reported; stored in the file)");
  return {app, [flags] {
            Status st = Build(*flags);
            return st.ok() ? 0 : ReportError("build", st);
          }};
}

}  // namespace ridge::cli
