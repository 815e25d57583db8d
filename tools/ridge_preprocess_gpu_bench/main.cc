// ridge_preprocess_gpu_bench: times the fused GPU preprocessing kernel on 1920x1080 BGR uint8
// frames already on the device -> 640x640 letterbox (pad 114), RGB, /255, NCHW, fp16 and fp32,
// at each --batch. Per launch: CUDA events around one Enqueue, median / p90 over --runs after
// --warmup; per frame = median / batch. Also the H2D time of one 1080p frame from pinned memory
// and the kernel's effective bandwidth (bytes written + source rows it samples, per second).
//   ridge_preprocess_gpu_bench --batch 1 --batch 32 --runs 500 --json out.json
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <vector>

#include "vision/cuda/preprocess_cuda.h"

namespace {

namespace rv = ridge::vision;

constexpr int kWidth = 1920, kHeight = 1080;

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

bool Check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  std::fprintf(stderr, "ridge_preprocess_gpu_bench: %s: %s\n", what, cudaGetErrorString(e));
  return false;
}
#define CHECK_CUDA(expr) \
  if (!Check((expr), #expr)) return 1

// Source rows the bilinear taps read (every row in [lo, hi] of each output row), times the row.
int64_t SampledSourceBytes(const rv::ResizeGeometry& g, const rv::PreprocessSpec& spec) {
  std::set<int> rows;
  for (int y = g.content_y0; y < g.content_y1; ++y) {
    float s = (static_cast<float>(y) + 0.5f - g.offset_y) / g.scale_y - 0.5f;
    s = std::clamp(s, 0.0f, static_cast<float>(kHeight - 1));
    int lo = static_cast<int>(s);
    rows.insert(lo);
    rows.insert(std::min(lo + 1, kHeight - 1));
  }
  return static_cast<int64_t>(rows.size()) * kWidth * 3;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time the fused GPU preprocessing kernel (1080p BGR -> 640 letterbox)"};
  std::vector<int> batches;
  int runs = 500, warmup = 50;
  std::string json_path;
  app.add_option("--batch", batches, "batch sizes (repeat the flag); default 1 and 32")
      ->check(CLI::Range(1, rv::cuda::GpuPreprocessor::kMaxBatch));
  app.add_option("--runs", runs, "timed launches per case")->check(CLI::Range(10, 1000000));
  app.add_option("--warmup", warmup, "untimed launches first")->check(CLI::Range(0, 1000000));
  app.add_option("--json", json_path, "write the figures to this JSON file");
  CLI11_PARSE(app, argc, argv);
  if (batches.empty()) batches = {1, 32};
  const int max_batch = *std::max_element(batches.begin(), batches.end());

  // Distinct random frames, so the batch does not read one frame from L2 32 times.
  const size_t frame_bytes = size_t{kWidth} * kHeight * 3;
  std::vector<uint8_t> host(frame_bytes);
  std::mt19937 rng(1);
  for (auto& b : host) b = static_cast<uint8_t>(rng());
  uint8_t* src = nullptr;
  CHECK_CUDA(cudaMalloc(&src, frame_bytes * max_batch));
  for (int i = 0; i < max_batch; ++i) {
    std::rotate(host.begin(), host.begin() + 4099, host.end());
    CHECK_CUDA(cudaMemcpy(src + i * frame_bytes, host.data(), frame_bytes, cudaMemcpyHostToDevice));
  }
  std::vector<rv::cuda::DeviceImage> frames;
  for (int i = 0; i < max_batch; ++i) {
    frames.push_back({src + i * frame_bytes, kWidth, kHeight, int64_t{kWidth} * 3});
  }
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));

  nlohmann::json results = nlohmann::json::array();
  std::printf("device: %s\n", prop.name);
  for (const char* type : {"fp16", "fp32"}) {
    auto spec = rv::ParsePreprocessSpec(std::string("letterbox=640,pad=114,bgr2rgb,scale=1/255,"
                                                    "nchw,") +
                                        type);
    auto pre = rv::cuda::GpuPreprocessor::Create(*spec, max_batch);
    if (!pre.ok()) {
      std::fprintf(stderr, "ridge_preprocess_gpu_bench: %s\n", pre.status().ToString().c_str());
      return 1;
    }
    void* out = nullptr;
    CHECK_CUDA(cudaMalloc(&out, spec->OutputBytes() * max_batch));
    auto geometry = rv::ComputeGeometry(kWidth, kHeight, *spec);
    const int64_t bytes_per_frame = spec->OutputBytes() + SampledSourceBytes(*geometry, *spec);
    for (int batch : batches) {
      for (int i = 0; i < warmup; ++i) {
        if (auto s = (*pre)->Enqueue(frames.data(), batch, out, stream); !s.ok()) {
          std::fprintf(stderr, "ridge_preprocess_gpu_bench: %s\n", s.ToString().c_str());
          return 1;
        }
      }
      std::vector<double> us;
      for (int i = 0; i < runs; ++i) {
        CHECK_CUDA(cudaEventRecord(start, stream));
        (void)(*pre)->Enqueue(frames.data(), batch, out, stream);
        CHECK_CUDA(cudaEventRecord(stop, stream));
        CHECK_CUDA(cudaEventSynchronize(stop));
        float ms = 0;
        CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
        us.push_back(ms * 1000.0);
      }
      CHECK_CUDA(cudaGetLastError());
      const double median = Percentile(us, 0.5), p90 = Percentile(us, 0.9);
      const double gbps = static_cast<double>(bytes_per_frame) * batch / (median * 1e3);
      std::printf(
          "%s batch %2d: %8.2f us per launch (p90 %.2f), %6.2f us per frame, %6.0f GB/s "
          "effective\n",
          type, batch, median, p90, median / batch, gbps);
      results.push_back({{"case", "preprocess"},
                         {"type", type},
                         {"batch", batch},
                         {"launch_median_us", median},
                         {"launch_p90_us", p90},
                         {"per_frame_us", median / batch},
                         {"bytes_per_frame", bytes_per_frame},
                         {"effective_gb_per_s", gbps}});
    }
    CHECK_CUDA(cudaFree(out));
  }

  // H2D of one 1080p frame from pinned memory.
  uint8_t* pinned = nullptr;
  CHECK_CUDA(cudaMallocHost(&pinned, frame_bytes));
  std::copy(host.begin(), host.end(), pinned);
  std::vector<double> h2d;
  for (int i = 0; i < warmup + runs / 5; ++i) {
    CHECK_CUDA(cudaEventRecord(start, stream));
    CHECK_CUDA(cudaMemcpyAsync(src, pinned, frame_bytes, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaEventRecord(stop, stream));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    if (i >= warmup) h2d.push_back(ms * 1000.0);
  }
  const double h2d_us = Percentile(h2d, 0.5);
  std::printf("H2D one 1080p BGR frame (%zu bytes, pinned): %.1f us (%.1f GB/s)\n", frame_bytes,
              h2d_us, static_cast<double>(frame_bytes) / (h2d_us * 1e3));
  results.push_back({{"case", "h2d_1080p_pinned"},
                     {"bytes", frame_bytes},
                     {"median_us", h2d_us},
                     {"gb_per_s", static_cast<double>(frame_bytes) / (h2d_us * 1e3)}});
  CHECK_CUDA(cudaFreeHost(pinned));
  CHECK_CUDA(cudaFree(src));

  if (!json_path.empty()) {
    nlohmann::json doc = {{"device", prop.name}, {"runs", runs}, {"results", results}};
    std::ofstream(json_path) << doc.dump(2) << "\n";
  }
  return 0;
}
