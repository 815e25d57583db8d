#include "runtime/engine_runner.h"

#include <cstdio>
#include <random>

#include "backends/cpu/executor.h"
#include "ops/shape_inference.h"
#include "runtime/engine_runner_internal.h"
#include "runtime/preprocessed_engine.h"
#include "runtime/session.h"
#include "vision/preprocess_halide.h"

namespace ridge::runtime {
namespace internal {

Status PrepareLoadedGraph(LoadedEngine& engine, const std::string& path) {
  // Input shapes were bound at build time: inference needs no options.
  RIDGE_RETURN_IF_ERROR_CTX(ops::InferShapes(engine.graph, {}), path);
  return Status::Ok();
}

void FillGraphIo(const ir::Graph& graph, std::vector<TensorSpec>* inputs,
                 std::vector<std::string>* outputs) {
  for (ir::ValueId v : graph.inputs()) {
    const ir::Value& val = graph.value(v);
    if (val.constant) continue;
    TensorSpec s{val.name, val.dtype, {}};
    if (val.shape && val.shape->fully_known()) s.dims = *val.shape->ToInts();
    inputs->push_back(std::move(s));
  }
  for (ir::ValueId v : graph.outputs()) outputs->push_back(graph.value(v).name);
}

Result<std::optional<PreprocessConfig>> LoadedPreprocess(const LoadedEngine& engine,
                                                         const std::vector<TensorSpec>& inputs,
                                                         const std::string& path) {
  if (engine.preprocess_json.empty()) return std::optional<PreprocessConfig>();
  if (inputs.size() != 1) {
    return InvalidModel(path +
                        ": a preprocess section needs a model with one input, this one has " +
                        std::to_string(inputs.size()));
  }
  auto c = ParsePreprocessJson(engine.preprocess_json, inputs[0].dims, inputs[0].dtype);
  if (!c.ok()) return Status(c.status().code(), path + ": " + c.status().message());
  return std::optional<PreprocessConfig>(std::move(*c));
}

}  // namespace internal

namespace {

// A cpu engine file: the graph compiled by the CPU executor, optionally behind CPU
// preprocessing of uint8 frames.
class CpuRunner : public EngineRunner {
 public:
  static Result<std::unique_ptr<EngineRunner>> Open(const std::string& path,
                                                    const EngineRunnerOptions& options) {
    RIDGE_ASSIGN_OR_RETURN(LoadedEngine engine, LoadEngineFile(path, EnvironmentInfo::Cpu()));
    RIDGE_RETURN_IF_ERROR(internal::PrepareLoadedGraph(engine, path));
    auto r = std::unique_ptr<CpuRunner>(new CpuRunner());
    r->header_ = engine.header;
    internal::FillGraphIo(engine.graph, &r->graph_inputs_, &r->output_names_);
    RIDGE_ASSIGN_OR_RETURN(r->pre_, internal::LoadedPreprocess(engine, r->graph_inputs_, path));
    r->graph_ = std::make_unique<ir::Graph>(std::move(engine.graph));
    RIDGE_RETURN_IF_ERROR_CTX(cpu::CheckSupported(*r->graph_), path);
    cpu::ExecutorOptions eo;
    eo.num_threads = options.cpu_threads;
    RIDGE_ASSIGN_OR_RETURN(r->executor_, cpu::Executor::Create(*r->graph_, eo));
    r->description_ = "device cpu, precision " + r->header_.precision;
    if (r->pre_) {
      r->halide_ = options.use_halide && vision::HalidePreprocessAvailable();
      if (r->halide_) {
        // One Halide thread: the executor's OpenMP workers spin between parallel regions, and
        // Halide's pool on the same cores then waits for them (yolov8n with 1080p frames on the
        // shared 2-core box: median 1029 ms per run with Halide's default pool, 273 ms with one
        // thread, 262 ms for the plain engine). Restored when the runner goes.
        auto previous = vision::SetHalidePreprocessThreads(1);
        if (previous.ok()) r->halide_threads_before_ = *previous;
      }
      const TensorSpec& g = r->graph_inputs_[0];
      r->inputs_ = {{g.name, DType::kUInt8, r->pre_->FrameDims(g.dims[0])}};
      r->description_ += ", preprocess '" + r->pre_->spec.ToString() + "' on cpu (" +
                         (r->halide_ ? "halide" : "reference") + ")";
    } else {
      r->inputs_ = r->graph_inputs_;
    }
    return std::unique_ptr<EngineRunner>(std::move(r));
  }

  ~CpuRunner() override {
    if (halide_threads_before_ >= 0)
      (void)vision::SetHalidePreprocessThreads(halide_threads_before_);
  }

  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs) override {
    if (!pre_) return executor_->Run(inputs);
    const TensorSpec& in = inputs_[0];
    auto it = inputs.find(in.name);
    if (it == inputs.end() || inputs.size() != 1)
      return InvalidArgument("the engine takes one input, '" + in.name + "' (uint8 frames)");
    RIDGE_RETURN_IF_ERROR(CheckFrames(it->second, *pre_, in.dims[0]));
    std::map<std::string, Tensor> feed;
    RIDGE_RETURN_IF_ERROR(PreprocessFramesCpu(it->second, *pre_, halide_, &feed[in.name]));
    return executor_->Run(feed);
  }

 private:
  std::unique_ptr<ir::Graph> graph_;  // outlives the executor compiled from it
  std::unique_ptr<cpu::Executor> executor_;
  std::vector<TensorSpec> graph_inputs_;
  bool halide_ = false;
  int halide_threads_before_ = -1;  // Halide's thread setting before this runner, to restore
};

}  // namespace

Result<EngineFileSummary> InspectEngineFile(const std::string& path) {
  EngineFileSummary s;
  RIDGE_ASSIGN_OR_RETURN(EngineContainer info, ReadEngineContainer(path));
  s.header = info.header;
  for (const SectionEntry& e : info.sections) {
    if (e.type == static_cast<uint32_t>(SectionType::kPreprocess)) s.has_preprocess = true;
    if (e.type == static_cast<uint32_t>(SectionType::kTactics)) s.has_tactics = true;
  }
  return s;
}

Result<std::unique_ptr<EngineRunner>> OpenEngineRunner(const std::string& path,
                                                       const EngineRunnerOptions& options) {
  RIDGE_ASSIGN_OR_RETURN(EngineFileSummary summary, InspectEngineFile(path));
  if (summary.header.backend == "cpu") return CpuRunner::Open(path, options);
  if (summary.header.backend == "cuda") return internal::OpenCudaRunner(path);
  return Unsupported(path + ": backend '" + summary.header.backend +
                     "' is not one this Ridgeline runs (cpu, cuda)");
}

Result<std::map<std::string, Tensor>> RandomRunnerInputs(const EngineRunner& runner,
                                                         uint64_t seed) {
  std::map<std::string, Tensor> out;
  std::mt19937_64 rng(seed);
  ir::Graph g;  // RandomInputs fills from a graph: describe the inputs as one
  for (const TensorSpec& s : runner.inputs()) {
    if (s.dtype == DType::kUInt8) {  // frames: every byte value, like a real image
      RIDGE_ASSIGN_OR_RETURN(Tensor t, Tensor::MakeChecked(s.dtype, s.dims, int64_t{1} << 32));
      auto* p = reinterpret_cast<uint8_t*>(t.raw_data());
      for (int64_t i = 0; i < t.num_elements(); ++i) p[i] = static_cast<uint8_t>(rng() >> 56);
      out[s.name] = std::move(t);
      continue;
    }
    ir::ValueId id = g.AddValue(s.name);
    g.value(id).dtype = s.dtype;
    g.value(id).shape = Shape::FromInts(s.dims);
    g.value(id).is_graph_input = true;
    g.AddInput(id);
  }
  RIDGE_ASSIGN_OR_RETURN(auto rest, RandomInputs(g, seed));
  for (auto& [name, t] : rest) out[name] = std::move(t);
  return out;
}

std::string CpuFallbackLine(const CpuFallbackReport& r) {
  if (r.nodes <= 0) return "";
  constexpr size_t kMaxNames = 8;
  std::string names;
  for (size_t i = 0; i < r.node_names.size() && i < kMaxNames; ++i)
    names += (i ? ", " : "") + r.node_names[i];
  if (r.node_names.size() > kMaxNames)
    names += ", +" + std::to_string(r.node_names.size() - kMaxNames) + " more";
  char bytes[48];
  const double b = static_cast<double>(r.bytes_per_run);
  if (b < 1e3)
    std::snprintf(bytes, sizeof(bytes), "%lld B", static_cast<long long>(r.bytes_per_run));
  else if (b < 1e6)
    std::snprintf(bytes, sizeof(bytes), "%.1f KB", b / 1e3);
  else
    std::snprintf(bytes, sizeof(bytes), "%.2f MB", b / 1e6);
  return "CPU fallback: " + std::to_string(r.nodes) + (r.nodes == 1 ? " node (" : " nodes (") +
         names + "), " + bytes + " copied per run, " + std::to_string(r.host_syncs_per_run) +
         (r.host_syncs_per_run == 1 ? " host sync" : " host syncs") + " per run";
}

#ifndef RIDGE_HAVE_CUDA
namespace internal {
Result<std::unique_ptr<EngineRunner>> OpenCudaRunner(const std::string& path) {
  return Unsupported(path + ": a cuda engine, and this Ridgeline was built without CUDA");
}
}  // namespace internal
Result<EnvironmentInfo> LiveCudaEnvironment() {
  return Unsupported("this Ridgeline was built without CUDA");
}
Result<CudaBuildReport> BuildCudaEngineReport(const ir::Graph&, Precision, bool) {
  return Unsupported("--device cuda: this Ridgeline was built without CUDA");
}
#endif

}  // namespace ridge::runtime
