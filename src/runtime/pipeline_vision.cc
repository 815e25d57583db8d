// The vision pipeline's shared pieces and its CPU device path. See pipeline_vision.h.
#include "runtime/pipeline_vision.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "runtime/pipeline_vision_internal.h"
#include "runtime/session.h"

namespace ridge::runtime {

std::string DefaultPreprocessSpec(const std::string& task, int64_t width, int64_t height) {
  const std::string w = std::to_string(width), h = std::to_string(height);
  if (task == "detect") return "letterbox=" + w + "x" + h + ",bgr2rgb,scale=1/255";
  // Classifiers: ImageNet's resize-256-crop-224 ratio (8/7) for any crop size.
  const std::string crop = width == height ? w : w + "x" + h;
  return "centercrop=" + crop + "@" + std::to_string(std::min(width, height) * 8 / 7) +
         ",bgr2rgb,scale=1/255,mean=0.485/0.456/0.406,std=0.229/0.224/0.225";
}

Result<std::string> TaskFromOutputDims(const std::vector<int64_t>& dims) {
  if (dims.size() == 3 && dims[1] >= 5 && dims[2] >= 1) return std::string("detect");
  if (dims.size() == 2 && dims[1] >= 1) return std::string("classify");
  std::string text;
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? "x" : "") + std::to_string(dims[i]);
  return Unsupported("cannot tell the task from the output shape [" + text +
                     "]: expected [N, 4+classes, anchors] (detect) or [N, classes] (classify); "
                     "pass --task");
}

namespace internal {

Result<ModelIo> ResolveModelIo(const VisionPipelineOptions& options, std::string input_name,
                               std::vector<int64_t> input_dims, std::vector<int64_t> output_dims) {
  ModelIo io;
  io.input_name = std::move(input_name);
  io.input_dims = std::move(input_dims);
  io.output_dims = std::move(output_dims);
  const auto& in = io.input_dims;
  if (in.size() != 4 || in[0] != options.batch || in[1] != 3 || in[2] < 1 || in[3] < 1)
    return Unsupported("the model input '" + io.input_name +
                       "' must be [batch, 3, H, W] with the batch bound to --batch");
  if (io.output_dims.empty() || io.output_dims[0] != options.batch)
    return Unsupported("the model's first output must have the batch as its first dim");
  if (options.task.empty()) {
    RIDGE_ASSIGN_OR_RETURN(io.task, TaskFromOutputDims(io.output_dims));
  } else if (options.task == "detect" || options.task == "classify") {
    io.task = options.task;
    RIDGE_ASSIGN_OR_RETURN(std::string shape_task, TaskFromOutputDims(io.output_dims));
    if (shape_task != io.task)
      return InvalidArgument("--task " + io.task + " does not fit the model's output shape");
  } else {
    return InvalidArgument("--task must be detect or classify");
  }
  const std::string text = options.preprocess.empty() ? DefaultPreprocessSpec(io.task, in[3], in[2])
                                                      : options.preprocess;
  RIDGE_ASSIGN_OR_RETURN(io.spec, vision::ParsePreprocessSpec(text));
  if (io.spec.out_width != in[3] || io.spec.out_height != in[2])
    return InvalidArgument("--preprocess output " + std::to_string(io.spec.out_width) + "x" +
                           std::to_string(io.spec.out_height) + " does not match the model input " +
                           std::to_string(in[3]) + "x" + std::to_string(in[2]));
  if (io.spec.layout != vision::PlaneLayout::kNchw)
    return Unsupported("--preprocess: the model takes NCHW input");
  return io;
}

Status PostprocessCpu(const ModelIo& io, const VisionPipelineOptions& options, const float* output,
                      DecodedBatch* batch) {
  int64_t per_image = 1;
  for (size_t i = 1; i < io.output_dims.size(); ++i) per_image *= io.output_dims[i];
  size_t v = 0;  // index among valid frames = position in the batch
  for (FrameResult& r : batch->results) {
    if (r.bad) continue;
    const float* out = output + static_cast<int64_t>(v) * per_image;
    if (io.task == "detect") {
      RIDGE_ASSIGN_OR_RETURN(r.detections,
                             vision::DecodeYoloV8(out, static_cast<int>(io.output_dims[1]),
                                                  static_cast<int>(io.output_dims[2]), options.yolo,
                                                  &batch->geometry[v], r.width, r.height));
    } else {
      RIDGE_ASSIGN_OR_RETURN(
          r.top, vision::SoftmaxTopK(out, static_cast<int>(io.output_dims[1]), options.top_k));
    }
    ++v;
  }
  return Status::Ok();
}

void CollectResults(DecodedBatch* batch, VisionPipelineRun* run) {
  for (FrameResult& r : batch->results) run->frames.push_back(std::move(r));
  batch->results.clear();
}

}  // namespace internal

namespace {

struct CpuSlot {
  internal::DecodedBatch batch;
  Tensor input;  // [batch, 3, H, W] fp32
  std::vector<Tensor> outputs;
};

Result<VisionPipelineRun> RunCpu(const VisionPipelineOptions& options, vision::FrameSource& source,
                                 int64_t num_frames) {
  if (options.pre != "cpu" || options.post != "cpu")
    return InvalidArgument("--device cpu runs --pre cpu and --post cpu only");
  SessionOptions so;
  so.batch = options.batch;
  so.cpu.num_threads = options.threads > 0
                           ? options.threads
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  RIDGE_ASSIGN_OR_RETURN(auto session, CpuSession::Open(options.model_path, so));
  const ir::Graph& g = session->graph();
  if (g.inputs().size() != 1 || g.outputs().empty())
    return Unsupported("the pipeline runs models with one image input");
  auto dims_of = [&](ir::ValueId v) {
    std::vector<int64_t> d;
    const ir::Value& val = g.value(v);
    if (val.shape)
      for (const auto& dim : val.shape->dims()) d.push_back(dim.value);
    return d;
  };
  RIDGE_ASSIGN_OR_RETURN(internal::ModelIo io,
                         internal::ResolveModelIo(options, g.value(g.inputs()[0]).name,
                                                  dims_of(g.inputs()[0]), dims_of(g.outputs()[0])));
  if (io.spec.type != vision::OutputType::kFloat32)
    return Unsupported("--device cpu takes fp32 input: drop fp16 from --preprocess");

  const internal::CpuPreprocess pre = internal::ChooseCpuPreprocess(options);
  VisionPipelineRun run;
  run.task = io.task;
  run.spec = io.spec;
  if (options.naive) run.naive_pre = pre.name;
  run.description = std::string("device cpu (") + std::to_string(so.cpu.num_threads) +
                    " threads), pre cpu (" + pre.name + "), post cpu" +
                    (options.naive ? ", naive sequential" : "");

  const int slots = options.naive ? 1 : options.inflight;
  std::vector<CpuSlot> slot(static_cast<size_t>(std::max(1, slots)));
  for (CpuSlot& s : slot) s.input = Tensor(DType::kFloat32, io.input_dims);
  std::atomic<int64_t> bad{0};
  const int64_t elems = io.spec.OutputElements();
  internal::DecodePool pool(options.naive ? 1 : internal::DecodeThreads(options.batch));

  std::vector<StageDef> stages;
  stages.push_back({Stage::kDecode, [&](PipelineItem& item) {
                      return internal::DecodeItem(
                          source, item, options.batch, num_frames, options.skip_bad, &pool, {},
                          &slot[static_cast<size_t>(item.slot)].batch, &bad);
                    }});
  stages.push_back(
      {Stage::kPre, [&](PipelineItem& item) -> Status {
         CpuSlot& s = slot[static_cast<size_t>(item.slot)];
         float* dst = s.input.data<float>();
         for (int i = 0; i < s.batch.num_valid; ++i) {
           const vision::Image& im = s.batch.frames[static_cast<size_t>(i)].image;
           RIDGE_ASSIGN_OR_RETURN(auto geo, vision::ComputeGeometry(im.width, im.height, io.spec));
           s.batch.geometry.push_back(geo);
           RIDGE_RETURN_IF_ERROR(pre.run(im, io.spec, dst + int64_t{i} * elems)
                                     .WithContext("frame " + std::to_string(s.batch.frames[i].id)));
         }
         // A short last batch: the unused rows are zeros, not a stale frame.
         const size_t used = static_cast<size_t>(s.batch.num_valid) * static_cast<size_t>(elems);
         std::fill(dst + used, dst + s.input.num_elements(), 0.0f);
         return Status::Ok();
       }});
  stages.push_back({Stage::kInfer, [&](PipelineItem& item) -> Status {
                      CpuSlot& s = slot[static_cast<size_t>(item.slot)];
                      RIDGE_ASSIGN_OR_RETURN(s.outputs, session->Run({{io.input_name, s.input}}));
                      return Status::Ok();
                    }});
  stages.push_back({Stage::kPost, [&](PipelineItem& item) -> Status {
                      CpuSlot& s = slot[static_cast<size_t>(item.slot)];
                      if (s.outputs.empty() || s.outputs[0].dtype() != DType::kFloat32 ||
                          s.outputs[0].dims() != io.output_dims)
                        return Internal("the model's output is not the fp32 tensor expected");
                      return internal::PostprocessCpu(io, options, s.outputs[0].data<float>(),
                                                      &s.batch);
                    }});
  PipelineOptions po;
  po.inflight = slots;
  po.sequential = options.naive;
  po.frames_per_item = options.batch;
  po.num_frames = num_frames;
  po.num_items = (num_frames + options.batch - 1) / options.batch;
  RIDGE_ASSIGN_OR_RETURN(run.timing, RunPipeline(po, stages, [&](const PipelineItem& item) {
                           internal::CollectResults(&slot[static_cast<size_t>(item.slot)].batch,
                                                    &run);
                           return Status::Ok();
                         }));
  run.bad_frames = bad.load();
  run.timing.frames = 0;  // frames that ran (the scheduler counted bad ones in partial batches)
  for (const FrameResult& r : run.frames) run.timing.frames += r.bad ? 0 : 1;
  run.timing.throughput_fps =
      run.timing.wall_ms > 0 ? static_cast<double>(run.timing.frames) * 1e3 / run.timing.wall_ms
                             : 0;
  return run;
}

}  // namespace

Result<VisionPipelineRun> RunVisionPipeline(const VisionPipelineOptions& options,
                                            vision::FrameSource& source) {
  if (options.batch < 1 || options.batch > 256) return InvalidArgument("--batch must be 1..256");
  if (options.inflight < 1 || options.inflight > 64)
    return InvalidArgument("--inflight must be 1..64");
  if (options.top_k < 1) return InvalidArgument("top-k must be >= 1");
  const int64_t num_frames =
      options.max_frames >= 0 ? std::min(options.max_frames, source.size()) : source.size();
  if (options.device == "cpu") return RunCpu(options, source, num_frames);
#ifdef RIDGE_HAVE_CUDA
  if (options.device == "cuda") return internal::RunVisionPipelineCuda(options, source, num_frames);
  return InvalidArgument("--device must be cpu or cuda");
#else
  return Unsupported("--device " + options.device + ": this build runs the pipeline on cpu only");
#endif
}

}  // namespace ridge::runtime
