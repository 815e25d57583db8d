// The cuda half of engine_runner.h: the live environment, building an engine for `ridge build
// --device cuda`, and running cuda engine files (plain, or with GPU preprocessing of uint8
// frames written into the engine's input buffer on the runner's stream before Enqueue).
#include "runtime/engine_runner_cuda.h"

#include <cuda_runtime.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/engine.h"
#include "backends/cuda/environment.h"
#include "ops/shape_inference.h"
#include "profiler/stats.h"
#include "runtime/engine_runner.h"
#include "runtime/engine_runner_internal.h"
#include "runtime/session.h"
#include "vision/cuda/preprocess_cuda.h"

namespace ridge::runtime {
namespace {

Result<Precision> CudaPrecision(const std::string& text, const std::string& path) {
  if (text == "fp16") return Precision::kFp16;
  if (text == "fp32") return Precision::kFp32;
  return Unsupported(path + ": precision '" + text + "': the cuda backend builds fp16 or fp32");
}

// Build options kept in the build-json section (options.allow_cpu_fallback, written by `ridge
// build`), so that the engine is rebuilt as it was built. Absent or unreadable: off (files
// written before the option existed; the header and checksums were verified already).
bool AllowCpuFallback(const std::string& build_json) {
  if (build_json.empty()) return false;
  auto j = nlohmann::json::parse(build_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto opt = j.find("options");
  if (opt == j.end() || !opt->is_object()) return false;
  auto v = opt->find("allow_cpu_fallback");
  return v != opt->end() && v->is_boolean() && v->get<bool>();
}

// A cuda engine; with a preprocess section, uint8 frames go up to a device staging buffer and
// vision's fused kernel writes the engine input (in its storage dtype) on stream_, then the
// engine runs on the same stream, then the outputs come back on it.
class CudaRunner : public EngineRunner {
 public:
  ~CudaRunner() override {
    if (stream_) cudaStreamSynchronize(stream_);
    if (dev_frames_) cudaFree(dev_frames_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  static Result<std::unique_ptr<EngineRunner>> Open(const std::string& path) {
    RIDGE_ASSIGN_OR_RETURN(LoadedCudaEngine loaded, LoadCudaEngineFile(path));
    auto r = std::unique_ptr<CudaRunner>(new CudaRunner());
    r->header_ = loaded.header;
    r->engine_ = std::move(loaded.engine);
    std::vector<TensorSpec> graph_inputs;
    internal::FillGraphIo(loaded.graph, &graph_inputs, &r->output_names_);
    r->inputs_ = graph_inputs;
    r->description_ = "device cuda (" + r->header_.device_name + ", sm_" +
                      std::to_string(r->header_.sm_version) + "), precision " +
                      r->header_.precision + ", CUDA graph";
    if (const int32_t n = r->engine_->stats().cpu_fallback_nodes; n > 0)
      r->description_ += ", " + std::to_string(n) + " node(s) on the CPU (fallback)";
    if (loaded.preprocess_json.empty()) return std::unique_ptr<EngineRunner>(std::move(r));

    LoadedEngine view;  // LoadedPreprocess reads only the section text
    view.preprocess_json = std::move(loaded.preprocess_json);
    RIDGE_ASSIGN_OR_RETURN(auto pre, internal::LoadedPreprocess(view, graph_inputs, path));
    r->pre_ = std::move(*pre);
    const auto buffers = r->engine_->InputBuffers();
    if (buffers.size() != 1) return Internal(path + ": expected one engine input buffer");
    r->engine_input_ = buffers[0];
    const int64_t batch = graph_inputs[0].dims[0];
    if (batch > vision::cuda::GpuPreprocessor::kMaxBatch) {
      return Unsupported(path + ": GPU preprocessing takes at most " +
                         std::to_string(vision::cuda::GpuPreprocessor::kMaxBatch) +
                         " frames per run; the engine's batch is " + std::to_string(batch));
    }
    // The kernel writes the engine's storage dtype (fp16 engines take fp16 input buffers).
    vision::PreprocessSpec spec = r->pre_->spec;
    spec.type = r->engine_input_.dtype == DType::kFloat16 ? vision::OutputType::kFloat16
                                                          : vision::OutputType::kFloat32;
    RIDGE_ASSIGN_OR_RETURN(r->gpu_pre_,
                           vision::cuda::GpuPreprocessor::Create(spec, static_cast<int>(batch)));
    r->frame_bytes_ = size_t{3} * r->pre_->frame_width * r->pre_->frame_height;
    RIDGE_CUDA(cudaStreamCreateWithFlags(&r->stream_, cudaStreamNonBlocking));
    RIDGE_CUDA(cudaMalloc(&r->dev_frames_, r->frame_bytes_ * static_cast<size_t>(batch)));
    r->inputs_ = {{graph_inputs[0].name, DType::kUInt8, r->pre_->FrameDims(batch)}};
    r->description_ += ", preprocess '" + r->pre_->spec.ToString() + "' on gpu";
    return std::unique_ptr<EngineRunner>(std::move(r));
  }

  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs) override {
    if (!pre_) return engine_->Run(inputs);
    const TensorSpec& in = inputs_[0];
    auto it = inputs.find(in.name);
    if (it == inputs.end() || inputs.size() != 1)
      return InvalidArgument("the engine takes one input, '" + in.name + "' (uint8 frames)");
    const int64_t batch = in.dims[0];
    RIDGE_RETURN_IF_ERROR(CheckFrames(it->second, *pre_, batch));
    RIDGE_CUDA(cudaMemcpyAsync(dev_frames_, it->second.raw_data(),
                               frame_bytes_ * static_cast<size_t>(batch), cudaMemcpyHostToDevice,
                               stream_));
    std::vector<vision::cuda::DeviceImage> frames;
    for (int64_t i = 0; i < batch; ++i) {
      frames.push_back({static_cast<const uint8_t*>(dev_frames_) + i * frame_bytes_,
                        pre_->frame_width, pre_->frame_height, int64_t{3} * pre_->frame_width});
    }
    RIDGE_RETURN_IF_ERROR(
        gpu_pre_->Enqueue(frames.data(), static_cast<int>(batch), engine_input_.data, stream_));
    RIDGE_RETURN_IF_ERROR(engine_->Enqueue(stream_));
    std::vector<Tensor> outputs;
    std::vector<std::vector<uint16_t>> halves;
    const auto buffers = engine_->OutputBuffers();
    for (const auto& b : buffers) {
      Tensor t(DType::kFloat32, b.dims);
      const size_t n = static_cast<size_t>(t.num_elements());
      if (b.dtype == DType::kFloat16) {
        halves.emplace_back(n);
        RIDGE_CUDA(
            cudaMemcpyAsync(halves.back().data(), b.data, n * 2, cudaMemcpyDeviceToHost, stream_));
      } else {
        RIDGE_CUDA(cudaMemcpyAsync(t.raw_data(), b.data, n * 4, cudaMemcpyDeviceToHost, stream_));
      }
      outputs.push_back(std::move(t));
    }
    RIDGE_CUDA(cudaStreamSynchronize(stream_));
    size_t h = 0;
    for (size_t i = 0; i < buffers.size(); ++i) {
      if (buffers[i].dtype != DType::kFloat16) continue;
      float* dst = outputs[i].data<float>();
      for (size_t k = 0; k < halves[h].size(); ++k) dst[k] = HalfToFloat(halves[h][k]);
      ++h;
    }
    return outputs;
  }

 private:
  std::unique_ptr<cuda::Engine> engine_;
  cuda::Engine::DeviceTensor engine_input_;
  std::unique_ptr<vision::cuda::GpuPreprocessor> gpu_pre_;
  cudaStream_t stream_ = nullptr;
  void* dev_frames_ = nullptr;  // batch frames of frame_bytes_, dense
  size_t frame_bytes_ = 0;
};

}  // namespace

namespace internal {
Result<std::unique_ptr<EngineRunner>> OpenCudaRunner(const std::string& path) {
  return CudaRunner::Open(path);
}
}  // namespace internal

Result<EnvironmentInfo> LiveCudaEnvironment() {
  RIDGE_ASSIGN_OR_RETURN(cuda::CudaEnvironment live, cuda::QueryEnvironment());
  EnvironmentInfo env;
  env.backend = "cuda";
  env.ridge_version = RIDGE_VERSION;
  env.device_name = live.device_name;
  env.sm_version = live.sm_version;
  env.cuda_version = live.cuda_version;
  env.cudnn_version = live.cudnn_version;
  env.cublas_version = live.cublas_version;
  return env;
}

Result<LoadedCudaEngine> LoadCudaEngineFile(const std::string& path) {
  RIDGE_ASSIGN_OR_RETURN(EnvironmentInfo env, LiveCudaEnvironment());
  RIDGE_ASSIGN_OR_RETURN(LoadedEngine file, LoadEngineFile(path, env));
  RIDGE_ASSIGN_OR_RETURN(Precision precision, CudaPrecision(file.header.precision, path));
  RIDGE_RETURN_IF_ERROR(internal::PrepareLoadedGraph(file, path));
  LoadedCudaEngine out;
  cuda::EngineOptions options;
  options.precision = precision;
  options.allow_cpu_fallback = AllowCpuFallback(file.build_json);
  // The tactics the build chose (the timing cache it filled): reused here without timing. The
  // engine drops entries measured in another environment (CheckCompatible already refused one).
  cuda::TacticCache tactics;
  if (!file.tactics_json.empty()) {
    Status st = tactics.Parse(file.tactics_json);
    if (!st.ok()) return InvalidModel(path + ": the tactics section: " + st.message());
    options.tactic_cache = &tactics;
  }
  RIDGE_ASSIGN_OR_RETURN(out.engine, cuda::Engine::Build(file.graph, options));
  out.header = file.header;
  out.graph = std::move(file.graph);
  out.preprocess_json = std::move(file.preprocess_json);
  return out;
}

Result<CudaBuildReport> BuildCudaEngineReport(const ir::Graph& graph, Precision precision,
                                              bool allow_cpu_fallback) {
  if (precision != Precision::kFp16 && precision != Precision::kFp32)
    return Unsupported("--precision: the cuda backend builds fp16 or fp32");
  cuda::EngineOptions options;
  options.precision = precision;
  options.allow_cpu_fallback = allow_cpu_fallback;
  cuda::TacticCache tactics;  // a fresh cache: what this build chooses goes into the file
  options.tactic_cache = &tactics;
  profiler::Timer t;
  RIDGE_ASSIGN_OR_RETURN(auto engine, cuda::Engine::Build(graph, options));
  CudaBuildReport r;
  r.build_ms = t.ElapsedMs();
  // One run proves the engine executes on this GPU before it is written.
  RIDGE_ASSIGN_OR_RETURN(auto inputs, RandomInputs(graph, 0));
  RIDGE_RETURN_IF_ERROR(engine->Run(inputs).status());
  const cuda::EngineStats& s = engine->stats();
  r.steps = s.steps;
  r.fused_nodes = s.fused_nodes;
  r.layout_changes = s.layout_changes;
  r.arena_bytes = s.arena_bytes;
  r.arena_naive_bytes = s.arena_naive_bytes;
  r.weight_bytes = s.weight_bytes;
  r.workspace_bytes = s.workspace_bytes;
  r.step_kinds = s.step_kinds;
  r.tactic_layers_timed = s.tactic_layers_timed;
  r.tactic_layers_cached = s.tactic_layers_cached;
  r.tactics_json = tactics.ToJson();
  r.cpu_fallback = {s.cpu_fallback_nodes, s.cpu_fallback_node_names, s.cpu_fallback_bytes_per_run,
                    s.cpu_fallback_host_syncs};
  return r;
}

}  // namespace ridge::runtime
