// `ridge run MODEL [--input name=file.npy ...] [--output DIR] [--batch N] [--threads N]`:
// runs a model once on the CPU backend and writes every output as .npy. An engine file
// (`ridge build`) runs on the backend it names (cpu or cuda); one with preprocessing baked in
// takes `--input frame.npy` (uint8 [N, H, W, 3]) or `--input image.jpg|png` (the frame size).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "commands.h"
#include "profiler/stats.h"
#include "runtime/engine_runner.h"
#include "runtime/npy.h"
#include "runtime/session.h"
#include "vision/image_decode.h"

namespace ridge::cli {
namespace {

struct RunFlags {
  std::string model;
  std::vector<std::string> inputs;
  std::string output_dir;
  std::string shapes;
  int64_t batch = 0;
  int threads = 0;
  uint64_t seed = 0;
  std::string device;  // "" = cpu, or the backend an engine file names
};

std::string DimsText(const std::vector<int64_t>& dims) {
  std::string s;
  for (int64_t d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

Status PrintOutputs(const std::vector<Tensor>& outputs, const std::vector<std::string>& names,
                    const std::string& output_dir) {
  if (!output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(output_dir, ec);
    if (ec) return IoError("cannot create '" + output_dir + "': " + ec.message());
  }
  for (size_t i = 0; i < outputs.size() && i < names.size(); ++i) {
    const Tensor& t = outputs[i];
    std::string stats;
    if (t.dtype() == DType::kFloat32 && t.num_elements() > 0) {
      double lo = INFINITY, hi = -INFINITY, sum = 0;
      for (float v : t.span<float>()) {
        lo = std::min<double>(lo, v);
        hi = std::max<double>(hi, v);
        sum += v;
      }
      char buf[128];
      std::snprintf(buf, sizeof(buf), "  min %.4g max %.4g mean %.4g", lo, hi,
                    sum / static_cast<double>(t.num_elements()));
      stats = buf;
    }
    std::printf("output %-24s %-8s %s%s\n", names[i].c_str(),
                std::string(DTypeName(t.dtype())).c_str(), DimsText(t.dims()).c_str(),
                stats.c_str());
    if (!output_dir.empty()) {
      std::string path = output_dir + "/" + runtime::SafeFileName(names[i]) + ".npy";
      RIDGE_RETURN_IF_ERROR(runtime::WriteNpy(path, t));
      std::printf("       wrote %s\n", path.c_str());
    }
  }
  return Status::Ok();
}

// --input for a preprocessed engine: "[name=]frames.npy" (uint8 [N, H, W, 3]) or
// "[name=]image.jpg|png" of the frame size, repeated over the batch.
Result<Tensor> ReadFrames(const std::string& flag, const runtime::EngineRunner& runner) {
  const runtime::PreprocessConfig& pre = *runner.preprocess();
  const runtime::TensorSpec& in = runner.inputs()[0];
  std::string path = flag;
  const size_t eq = flag.find('=');
  if (eq != std::string::npos) {
    if (flag.substr(0, eq) != in.name)
      return InvalidArgument("--input '" + flag + "': the engine's input is '" + in.name + "'");
    path = flag.substr(eq + 1);
  }
  if (std::filesystem::path(path).extension() == ".npy") return runtime::ReadNpy(path);
  vision::DecodeOptions options;
  options.order = pre.spec.input_order;  // frames hold the order the spec reads
  RIDGE_ASSIGN_OR_RETURN(vision::Image image, vision::DecodeImageFile(path, options));
  if (image.width != pre.frame_width || image.height != pre.frame_height) {
    return InvalidArgument(path + ": the image is " + std::to_string(image.width) + "x" +
                           std::to_string(image.height) + " but the engine takes frames of " +
                           std::to_string(pre.frame_width) + "x" +
                           std::to_string(pre.frame_height) + "; rebuild it with --frame-size " +
                           std::to_string(image.width) + "x" + std::to_string(image.height));
  }
  Tensor frames(DType::kUInt8, in.dims);
  const size_t bytes = image.data.size();
  for (int64_t i = 0; i < in.dims[0]; ++i)
    std::memcpy(reinterpret_cast<char*>(frames.raw_data()) + i * bytes, image.data.data(), bytes);
  return frames;
}

// An engine file that is not a plain cpu engine: runs through runtime::EngineRunner.
Status RunEngine(const RunFlags& f) {
  if (!f.shapes.empty())
    return InvalidArgument("--shapes: an engine's shapes are fixed by ridge build");
  runtime::EngineRunnerOptions options;
  options.cpu_threads = f.threads;
  RIDGE_ASSIGN_OR_RETURN(auto runner, runtime::OpenEngineRunner(f.model, options));
  if (f.batch > 0 && f.batch != runner->header().batch) {
    return InvalidArgument(f.model + ": the engine was built for batch " +
                           std::to_string(runner->header().batch) + "; rebuild it with --batch " +
                           std::to_string(f.batch));
  }
  std::printf("engine %s: %s\n", f.model.c_str(), runner->description().c_str());
  RIDGE_ASSIGN_OR_RETURN(auto inputs, runtime::RandomRunnerInputs(*runner, f.seed));
  std::set<std::string> given;
  if (runner->preprocess()) {
    if (f.inputs.size() > 1) return InvalidArgument("--input: the engine takes one frame input");
    if (!f.inputs.empty()) {
      RIDGE_ASSIGN_OR_RETURN(inputs[runner->inputs()[0].name], ReadFrames(f.inputs[0], *runner));
      given.insert(runner->inputs()[0].name);
    }
  } else {
    RIDGE_ASSIGN_OR_RETURN(auto read, runtime::ReadInputFlags(f.inputs));
    for (auto& [name, t] : read) {
      if (!inputs.count(name))
        return InvalidArgument("--input: the engine has no input '" + name + "'");
      inputs[name] = std::move(t);
      given.insert(name);
    }
  }
  for (const auto& [name, t] : inputs) {
    std::printf("input  %-24s %-8s %s%s\n", name.c_str(), std::string(DTypeName(t.dtype())).c_str(),
                DimsText(t.dims()).c_str(), given.count(name) ? "" : "  (random, seeded)");
  }
  profiler::Timer timer;
  RIDGE_ASSIGN_OR_RETURN(auto outputs, runner->Run(inputs));
  const double ms = timer.ElapsedMs();
  RIDGE_RETURN_IF_ERROR(PrintOutputs(outputs, runner->output_names(), f.output_dir));
  std::printf("ran in %.3f ms (first run, includes warm-up%s)\n", ms,
              runner->preprocess() ? " and preprocessing" : "");
  return Status::Ok();
}

Status RunModel(const RunFlags& f) {
  if (f.batch < 0) return InvalidArgument("--batch must be positive");
  if (f.threads < 0) return InvalidArgument("--threads must be positive");
  if (runtime::IsEngineFile(f.model)) {
    RIDGE_ASSIGN_OR_RETURN(auto summary, runtime::InspectEngineFile(f.model));
    if (!f.device.empty() && f.device != summary.header.backend) {
      return InvalidArgument("--device " + f.device + ": " + f.model + " is a " +
                             summary.header.backend + " engine (the file says which backend)");
    }
    if (summary.header.backend != "cpu" || summary.has_preprocess) return RunEngine(f);
  } else if (!f.device.empty() && f.device != "cpu") {
    return Unsupported("--device " + f.device +
                       ": an .onnx model runs on cpu; for cuda, ridge build --device cuda first");
  }
  RIDGE_ASSIGN_OR_RETURN(auto given, runtime::ReadInputFlags(f.inputs));
  runtime::SessionOptions options;
  if (f.batch > 0) options.batch = f.batch;
  options.shapes = f.shapes;
  options.cpu.num_threads = f.threads;
  for (const auto& [name, t] : given) options.input_shapes[name] = t.dims();
  RIDGE_ASSIGN_OR_RETURN(auto session, runtime::CpuSession::Open(f.model, options));
  RIDGE_ASSIGN_OR_RETURN(auto inputs, runtime::RandomInputs(session->graph(), f.seed));
  for (auto& [name, t] : given) inputs[name] = t;
  for (const auto& [name, t] : inputs) {
    std::printf("input  %-24s %-8s %s%s\n", name.c_str(), std::string(DTypeName(t.dtype())).c_str(),
                DimsText(t.dims()).c_str(), given.count(name) ? "" : "  (random, seeded)");
  }
  profiler::Timer timer;
  RIDGE_ASSIGN_OR_RETURN(auto outputs, session->Run(inputs));
  double ms = timer.ElapsedMs();
  RIDGE_RETURN_IF_ERROR(PrintOutputs(outputs, session->OutputNames(), f.output_dir));
  const auto& mem = session->executor().memory_stats();
  std::printf(
      "ran in %.3f ms (first run, includes warm-up); activations %.2f MiB planned vs "
      "%.2f MiB unplanned\n",
      ms, mem.planned_bytes / 1048576.0, mem.naive_bytes / 1048576.0);
  return Status::Ok();
}

}  // namespace

Command RegisterRun(CLI::App& parent) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* app =
      parent.add_subcommand("run", "Run a model or engine file once; write outputs as .npy");
  app->add_option("model", flags->model, "ONNX model or engine file (ridge build)")->required();
  app->add_option("--input", flags->inputs,
                  "name=file.npy for a graph input (repeatable); others get seeded random data. "
                  "Preprocessed engines: frames.npy (uint8 NHWC) or an image of the frame size");
  app->add_option("--output", flags->output_dir, "Folder for the outputs (<name>.npy)");
  app->add_option("--batch", flags->batch, "Bind dim 0 of every input with a dynamic batch");
  app->add_option("--shapes", flags->shapes, "Input shapes: name:1x3x224x224[,name2:...]");
  app->add_option("--threads", flags->threads, "Intra-op threads (default: all cores)");
  app->add_option("--seed", flags->seed, "Seed of the random inputs");
  app->add_option("--device", flags->device,
                  "cpu (.onnx); engine files run on the backend they name (checked if given)");
  return {app, [flags] {
            Status st = RunModel(*flags);
            return st.ok() ? 0 : ReportError("run", st);
          }};
}

}  // namespace ridge::cli
