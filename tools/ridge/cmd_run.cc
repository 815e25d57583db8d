// `ridge run MODEL [--input name=file.npy ...] [--output DIR] [--batch N] [--threads N]`:
// runs a model once on the CPU backend and writes every output as .npy.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "profiler/stats.h"
#include "runtime/npy.h"
#include "runtime/session.h"

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
  std::string device = "cpu";
};

std::string DimsText(const std::vector<int64_t>& dims) {
  std::string s;
  for (int64_t d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

Status RunModel(const RunFlags& f) {
  if (f.device != "cpu") return Unsupported("--device " + f.device + " (this build runs: cpu)");
  if (f.batch < 0) return InvalidArgument("--batch must be positive");
  if (f.threads < 0) return InvalidArgument("--threads must be positive");
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
  auto names = session->OutputNames();
  if (!f.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(f.output_dir, ec);
    if (ec) return IoError("cannot create '" + f.output_dir + "': " + ec.message());
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
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
    if (!f.output_dir.empty()) {
      std::string path = f.output_dir + "/" + runtime::SafeFileName(names[i]) + ".npy";
      RIDGE_RETURN_IF_ERROR(runtime::WriteNpy(path, t));
      std::printf("       wrote %s\n", path.c_str());
    }
  }
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
      parent.add_subcommand("run", "Run a model once on the CPU; write outputs as .npy");
  app->add_option("model", flags->model, "ONNX model file")->required();
  app->add_option("--input", flags->inputs,
                  "name=file.npy for a graph input (repeatable); others get seeded random data");
  app->add_option("--output", flags->output_dir, "Folder for the outputs (<name>.npy)");
  app->add_option("--batch", flags->batch, "Bind dim 0 of every input with a dynamic batch");
  app->add_option("--shapes", flags->shapes, "Input shapes: name:1x3x224x224[,name2:...]");
  app->add_option("--threads", flags->threads, "Intra-op threads (default: all cores)");
  app->add_option("--seed", flags->seed, "Seed of the random inputs");
  app->add_option("--device", flags->device, "cpu");
  return {app, [flags] {
            Status st = RunModel(*flags);
            return st.ok() ? 0 : ReportError("run", st);
          }};
}

}  // namespace ridge::cli
