// ridge_preprocess_bench: CPU preprocessing of synthetic 1920x1080 BGR frames into a 640x640
// letterboxed, RGB, 1/255-scaled NCHW tensor (the YOLO input), one thread, by three
// implementations: PreprocessReference, PreprocessHalide and OpenCV (vision/opencv_peer.h:
// resize INTER_LINEAR + copyMakeBorder + blobFromImage's steps, the usual deployment code; the
// same code `ridge pipeline --naive` runs).
//
//   ridge_preprocess_bench [--reps 15] [--batches 1,32] [--threads 1] [--src 1920x1080]
//                          [--json out.json]
//
// Each repetition preprocesses `batch` frames in a loop into one batch tensor; the figure is the
// median over rounds of (repetition time / batch), as wall time and as this thread's CPU time
// (the fairer figure on a loaded machine: it leaves out time spent preempted). Eight distinct
// frames are cycled so the source does not sit in cache between frames, as with a real stream.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "vision/opencv_peer.h"
#include "vision/preprocess.h"
#include "vision/preprocess_halide.h"

namespace {

using ridge::vision::Image;
using ridge::vision::PreprocessSpec;

Image SyntheticFrame(int w, int h, uint32_t seed) {
  // Smooth gradients plus noise: the resize sees real texture, not a constant.
  Image im;
  im.width = w;
  im.height = h;
  im.channels = 3;
  im.stride = size_t(w) * 3;
  im.order = ridge::vision::ChannelOrder::kBgr;
  im.data.resize(im.stride * h);
  uint32_t s = seed * 2654435761u + 1;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        s = s * 1664525u + 1013904223u;
        int v = (x * (c + 1) / 8 + y / (c + 2) + int(s >> 28)) & 255;
        im.data[size_t(y) * im.stride + x * 3 + c] = uint8_t(v);
      }
    }
  }
  return im;
}

struct Row {
  std::string impl, type;
  int batch = 0;
  double median_ms = 0, min_ms = 0;
  double cpu_median_ms = 0;  // this thread's CPU time per frame, median
};

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15, threads = 1, src_w = 1920, src_h = 1080;
  std::vector<int> batches = {1, 32};
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--reps") {
      reps = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--threads") {
      threads = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--src") {
      std::string v = next();
      if (std::sscanf(v.c_str(), "%dx%d", &src_w, &src_h) != 2 || src_w < 1 || src_h < 1 ||
          src_w > 8192 || src_h > 8192) {
        std::fprintf(stderr, "--src is WxH, 1..8192 each\n");
        return 2;
      }
    } else if (a == "--json") {
      json_path = next();
    } else if (a == "--batches") {
      batches.clear();
      std::string list = next();
      for (size_t p = 0; p < list.size();) {
        size_t q = list.find(',', p);
        int b = std::atoi(list.substr(p, q - p).c_str());
        if (b < 1 || b > 256) {
          std::fprintf(stderr, "batch sizes are 1..256\n");
          return 2;
        }
        batches.push_back(b);
        p = q == std::string::npos ? list.size() : q + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: ridge_preprocess_bench [--reps N] [--batches 1,32] [--threads N] "
                   "[--json FILE]\n");
      return 2;
    }
  }
  const int cv_threads = ridge::vision::SetOpenCvThreads(threads);
  if (ridge::vision::HalidePreprocessAvailable()) {
    (void)ridge::vision::SetHalidePreprocessThreads(threads);
  }

  std::vector<Image> frames;
  for (int i = 0; i < 8; ++i) frames.push_back(SyntheticFrame(src_w, src_h, i + 1));
  auto spec32 = ridge::vision::ParsePreprocessSpec("letterbox=640,pad=114,bgr2rgb,scale=1/255");
  if (!spec32.ok()) return 1;
  PreprocessSpec spec16 = spec32.value();
  spec16.type = ridge::vision::OutputType::kFloat16;
  const int max_batch = *std::max_element(batches.begin(), batches.end());
  std::vector<float> tensor(size_t(max_batch) * spec32.value().OutputElements());
  ridge::vision::OpenCvPreprocessor opencv;

  struct Impl {
    std::string name;
    bool fp16;
    std::function<bool(const Image&, void*)> run;
  };
  std::vector<Impl> impls;
  for (bool fp16 : {false, true}) {
    const PreprocessSpec& spec = fp16 ? spec16 : spec32.value();
    impls.push_back({"reference", fp16, [&spec](const Image& im, void* out) {
                       return ridge::vision::PreprocessReference(im, spec, out).ok();
                     }});
    if (ridge::vision::HalidePreprocessAvailable()) {
      impls.push_back({"halide", fp16, [&spec](const Image& im, void* out) {
                         return ridge::vision::PreprocessHalide(im, spec, out).ok();
                       }});
    }
    impls.push_back({"opencv", fp16, [&opencv, &spec](const Image& im, void* out) {
                       return opencv.Run(im, spec, out).ok();
                     }});
  }

  // Rounds alternate the implementations (rep-major) so load from other processes falls on all
  // of them alike. Each repetition records wall time and this thread's CPU time
  // (CLOCK_THREAD_CPUTIME_ID), which leaves out time spent preempted on a loaded machine.
  std::vector<Row> rows;
  for (int batch : batches) {
    std::vector<std::vector<double>> wall(impls.size()), cpu(impls.size());
    for (int r = -2; r < reps; ++r) {  // two warm-up rounds
      for (size_t i = 0; i < impls.size(); ++i) {
        const Impl& impl = impls[i];
        const size_t frame_bytes = (impl.fp16 ? spec16 : spec32.value()).OutputBytes();
        const double c0 = ThreadCpuMs();
        const auto t0 = std::chrono::steady_clock::now();
        for (int b = 0; b < batch; ++b) {
          void* out = reinterpret_cast<char*>(tensor.data()) + b * frame_bytes;
          if (!impl.run(frames[b % frames.size()], out)) {
            std::fprintf(stderr, "%s failed\n", impl.name.c_str());
            return 1;
          }
        }
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        const double cpu_ms = ThreadCpuMs() - c0;
        if (r >= 0) {
          wall[i].push_back(ms / batch);
          cpu[i].push_back(cpu_ms / batch);
        }
      }
    }
    for (size_t i = 0; i < impls.size(); ++i) {
      rows.push_back({impls[i].name, impls[i].fp16 ? "fp16" : "fp32", batch, Median(wall[i]),
                      *std::min_element(wall[i].begin(), wall[i].end()), Median(cpu[i])});
    }
  }

  std::printf(
      "%dx%d BGR -> letterbox 640x640, bgr2rgb, scale 1/255, NCHW; %d thread(s), "
      "median of %d rounds (OpenCV %s, cv::getNumThreads %d)\n",
      src_w, src_h, threads, reps, ridge::vision::OpenCvVersion(), cv_threads);
  std::printf("%-10s %-5s %5s %11s %9s %10s %9s %10s %10s\n", "impl", "type", "batch",
              "median ms/f", "min ms/f", "cpu ms/f", "frames/s", "vs opencv", "cpu vs cv");
  for (const Row& r : rows) {
    double cv_ms = 0, cv_cpu_ms = 0;
    for (const Row& o : rows) {
      if (o.impl == "opencv" && o.type == r.type && o.batch == r.batch) {
        cv_ms = o.median_ms;
        cv_cpu_ms = o.cpu_median_ms;
      }
    }
    std::printf("%-10s %-5s %5d %11.3f %9.3f %10.3f %9.1f %9.2fx %9.2fx\n", r.impl.c_str(),
                r.type.c_str(), r.batch, r.median_ms, r.min_ms, r.cpu_median_ms,
                1000.0 / r.median_ms, cv_ms / r.median_ms, cv_cpu_ms / r.cpu_median_ms);
  }
  if (!json_path.empty()) {
    FILE* f = std::fopen(json_path.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", json_path.c_str());
      return 1;
    }
    std::fprintf(f,
                 "{\"source\": \"%dx%d\", \"threads\": %d, \"reps\": %d, \"opencv\": \"%s\", "
                 "\"rows\": [",
                 src_w, src_h, threads, reps, ridge::vision::OpenCvVersion());
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::fprintf(f,
                   "%s\n  {\"impl\": \"%s\", \"type\": \"%s\", \"batch\": %d, "
                   "\"median_ms_per_frame\": %.4f, \"min_ms_per_frame\": %.4f, "
                   "\"cpu_median_ms_per_frame\": %.4f}",
                   i ? "," : "", r.impl.c_str(), r.type.c_str(), r.batch, r.median_ms, r.min_ms,
                   r.cpu_median_ms);
    }
    std::fprintf(f, "\n]}\n");
    std::fclose(f);
  }
  return 0;
}
