// Latency statistics in the vocabulary deployment engineers read (trtexec's): min, median,
// mean, p90, p99, max, throughput and coefficient of variation. Definitions: docs/metrics.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace ridge::profiler {

struct LatencyStats {
  int64_t num_samples = 0;
  double min_ms = 0, median_ms = 0, mean_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  double stddev_ms = 0;
  double cv = 0;                // stddev / mean
  double throughput_per_s = 0;  // items (batch * runs) per second of summed latency
  bool unstable = false;        // cv > kUnstableCv
};

inline constexpr double kUnstableCv = 0.10;

// Percentiles use linear interpolation between closest ranks (numpy's default).
// `items_per_sample` is the batch size. Empty input gives all zeros.
LatencyStats ComputeStats(std::vector<double> samples_ms, int64_t items_per_sample);

// Percentile q in [0, 100] of sorted samples.
double Percentile(const std::vector<double>& sorted, double q);

// A monotonic wall-clock stopwatch.
class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()) {}
  void Reset() { start_ = std::chrono::steady_clock::now(); }
  double ElapsedMs() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ridge::profiler
