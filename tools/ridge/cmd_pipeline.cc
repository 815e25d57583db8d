// `ridge pipeline MODEL --source DIR|synthetic[:N]|raw:FILE:WxH --device cpu|cuda --pre cpu|gpu
// --post cpu|gpu --inflight N [--batch N] [--preprocess SPEC] [--task detect|classify]
// [--frames N] [--trace F] [--json F] [--naive] [--skip-bad]`: runs frames through decode ->
// pre -> H2D -> infer -> D2H -> post with N items in flight and reports throughput, end-to-end
// latency, the per-stage breakdown and the overlap (docs/pipeline.md defines every figure).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "runtime/pipeline_vision.h"
#include "vision/frame_source.h"
#ifdef RIDGE_HAVE_OPENCV_PEER
#include "vision/opencv_peer.h"
#endif

namespace ridge::cli {
namespace {

struct PipelineFlags {
  runtime::VisionPipelineOptions run;
  std::string source = "synthetic:100";
  std::string trace_path, json_path;
  bool quiet = false;
};

nlohmann::json FramesJson(const runtime::VisionPipelineRun& r) {
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : r.frames) {
    nlohmann::json j = {
        {"id", f.frame_id}, {"name", f.name}, {"width", f.width}, {"height", f.height}};
    if (f.bad) j["bad"] = true;
    if (r.task == "detect") {
      nlohmann::json dets = nlohmann::json::array();
      for (const auto& d : f.detections)
        dets.push_back(
            {{"box", {d.x1, d.y1, d.x2, d.y2}}, {"score", d.score}, {"class", d.class_id}});
      j["detections"] = dets;
    } else {
      nlohmann::json top = nlohmann::json::array();
      for (const auto& c : f.top) top.push_back({{"class", c.class_id}, {"p", c.probability}});
      j["top"] = top;
    }
    frames.push_back(j);
  }
  return frames;
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) return IoError("cannot create '" + path + "'");
  out << text << "\n";
  if (!out) return IoError("cannot write '" + path + "'");
  return Status::Ok();
}

Status Pipeline(PipelineFlags& f) {
  if (f.run.naive) {
    f.run.inflight = 1;
    // The baseline preprocesses with OpenCV; a build without it falls back to the
    // reference and says so.
#ifdef RIDGE_HAVE_OPENCV_PEER
    f.run.naive_pre = vision::MakeOpenCvPreprocess();
    f.run.naive_pre_name = "opencv";
#else
    std::fprintf(stderr,
                 "pipeline: built without OpenCV: --naive preprocesses with the reference "
                 "implementation, not OpenCV\n");
#endif
  }
  vision::DecodeOptions decode;
  decode.order = vision::ChannelOrder::kBgr;  // what the specs' bgr2rgb expects
  RIDGE_ASSIGN_OR_RETURN(auto source, vision::OpenFrameSource(f.source, decode));
  RIDGE_ASSIGN_OR_RETURN(runtime::VisionPipelineRun r, runtime::RunVisionPipeline(f.run, *source));
  const runtime::PipelineResult& t = r.timing;

  std::printf("pipeline %s  task %s  source %s\n", f.run.model_path.c_str(), r.task.c_str(),
              source->Describe().c_str());
  std::printf("%s; batch %d, %d in flight; preprocess %s\n", r.description.c_str(), f.run.batch,
              f.run.naive ? 1 : f.run.inflight, r.spec.ToString().c_str());
  if (f.run.naive) {
#ifdef RIDGE_HAVE_OPENCV_PEER
    std::printf("naive pre: %s (OpenCV %s, resize + copyMakeBorder + blobFromImage steps)\n",
                r.naive_pre.c_str(), vision::OpenCvVersion());
#else
    std::printf("naive pre: %s (this build has no OpenCV)\n", r.naive_pre.c_str());
#endif
  }
  std::printf("frames %lld (%lld bad frames skipped) in %.1f ms: throughput %.1f frames/s\n",
              static_cast<long long>(t.frames), static_cast<long long>(r.bad_frames), t.wall_ms,
              t.throughput_fps);
  std::printf("end-to-end latency ms: p50 %.3f  p90 %.3f  p99 %.3f  mean %.3f  max %.3f\n",
              t.latency_p50_ms, t.latency_p90_ms, t.latency_p99_ms, t.latency_mean_ms,
              t.latency_max_ms);
  std::printf("%-8s %8s %10s %10s %10s %7s\n", "stage", "count", "mean ms", "p50 ms", "p99 ms",
              "share");
  for (const auto& s : t.stages) {
    std::printf("%-8s %8lld %10.3f %10.3f %10.3f %6.1f%%\n", runtime::StageName(s.stage),
                static_cast<long long>(s.count), s.mean_ms, s.p50_ms, s.p99_ms, 100 * s.share);
  }
  std::printf("overlap %.2f (stage busy time / wall time; 1.00 = no overlap)\n", t.overlap);
  if (!f.quiet) {
    for (const auto& fr : r.frames) {
      if (fr.bad) {
        std::printf("frame %lld: skipped: %s\n", static_cast<long long>(fr.frame_id),
                    fr.name.c_str());
      } else if (r.task == "detect") {
        std::printf("frame %lld: %zu detections", static_cast<long long>(fr.frame_id),
                    fr.detections.size());
        if (!fr.detections.empty())
          std::printf(" (best: class %d, score %.3g)", fr.detections[0].class_id,
                      fr.detections[0].score);
        std::printf("\n");
      } else {
        std::printf("frame %lld: top", static_cast<long long>(fr.frame_id));
        for (const auto& c : fr.top) std::printf(" %d (%.3f)", c.class_id, c.probability);
        std::printf("\n");
      }
    }
  }
  if (!f.trace_path.empty())
    RIDGE_RETURN_IF_ERROR(WriteFile(f.trace_path, runtime::PipelineTraceJson(t)));
  if (!f.json_path.empty()) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : t.stages)
      stages.push_back({{"stage", runtime::StageName(s.stage)},
                        {"count", s.count},
                        {"mean_ms", s.mean_ms},
                        {"p50_ms", s.p50_ms},
                        {"p99_ms", s.p99_ms},
                        {"total_ms", s.total_ms},
                        {"share", s.share}});
    nlohmann::json j = {{"model", f.run.model_path},
                        {"task", r.task},
                        {"source", source->Describe()},
                        {"device", f.run.device},
                        {"pre", f.run.pre},
                        {"post", f.run.post},
                        {"naive", f.run.naive},
                        {"naive_pre", f.run.naive ? nlohmann::json(r.naive_pre) : nullptr},
                        {"batch", f.run.batch},
                        {"inflight", f.run.naive ? 1 : f.run.inflight},
                        {"preprocess", r.spec.ToString()},
                        {"description", r.description},
                        {"frames", t.frames},
                        {"bad_frames", r.bad_frames},
                        {"wall_ms", t.wall_ms},
                        {"throughput_fps", t.throughput_fps},
                        {"latency_ms",
                         {{"p50", t.latency_p50_ms},
                          {"p90", t.latency_p90_ms},
                          {"p99", t.latency_p99_ms},
                          {"mean", t.latency_mean_ms},
                          {"max", t.latency_max_ms}}},
                        {"stages", stages},
                        {"overlap", t.overlap},
                        {"results", FramesJson(r)}};
    RIDGE_RETURN_IF_ERROR(WriteFile(f.json_path, j.dump(1)));
  }
  return Status::Ok();
}

}  // namespace

Command RegisterPipeline(CLI::App& parent) {
  auto f = std::make_shared<PipelineFlags>();
  CLI::App* app = parent.add_subcommand(
      "pipeline", "Run frames through decode, pre, inference and post with stages overlapped");
  app->add_option("model", f->run.model_path, "ONNX model file")->required();
  app->add_option("--source", f->source,
                  "Image folder, synthetic[:N[:WxH]] (1920x1080 BGR frames already in memory, "
                  "8 distinct) or raw:FILE:WxH[xC] (default synthetic:100)");
  app->add_option("--device", f->run.device, "cpu (default) or cuda");
  app->add_option("--pre", f->run.pre, "Preprocessing on cpu (default) or gpu");
  app->add_option("--post", f->run.post, "Postprocessing on cpu (default) or gpu");
  app->add_option("--inflight", f->run.inflight, "Items (batches) in flight, 1..64 (default 2)");
  app->add_option("--batch", f->run.batch, "Frames per inference (default 1)");
  app->add_option("--preprocess", f->run.preprocess,
                  "PreprocessSpec text (default from the task, see docs/pipeline.md)");
  app->add_option("--task", f->run.task, "detect or classify (default: from the output shape)");
  app->add_option("--frames", f->run.max_frames, "Stop after this many frames of the source");
  app->add_option("--conf", f->run.yolo.conf_threshold, "Detection score threshold (0.25)");
  app->add_option("--iou", f->run.yolo.iou_threshold, "NMS IoU threshold (0.7)");
  app->add_option("--top-k", f->run.top_k, "Classes reported per frame (classify, default 5)");
  app->add_option("--precision", f->run.precision, "fp16 (default) or fp32; --device cuda");
  app->add_option("--threads", f->run.threads, "CPU backend threads (default: all cores)");
  app->add_option("--trace", f->trace_path, "Write a Chrome/Perfetto trace (JSON)");
  app->add_option("--json", f->json_path, "Write the figures and per-frame results as JSON");
  app->add_flag("--naive", f->run.naive,
                "Sequential baseline, one item at a time, nothing overlapped: OpenCV pre (the "
                "reference without OpenCV), inference on --device, CPU post");
  app->add_flag("--skip-bad", f->run.skip_bad, "Skip (and count) frames that fail to decode");
  app->add_flag("--quiet", f->quiet, "Do not print one line per frame");
  return {app, [f] {
            Status st = Pipeline(*f);
            return st.ok() ? 0 : ReportError("pipeline", st);
          }};
}

}  // namespace ridge::cli
