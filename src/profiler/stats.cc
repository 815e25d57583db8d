#include "profiler/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ridge::profiler {

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double rank = std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(rank));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

LatencyStats ComputeStats(std::vector<double> samples_ms, int64_t items_per_sample) {
  LatencyStats s;
  if (samples_ms.empty()) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  s.num_samples = static_cast<int64_t>(samples_ms.size());
  s.min_ms = samples_ms.front();
  s.max_ms = samples_ms.back();
  s.median_ms = Percentile(samples_ms, 50);
  s.p90_ms = Percentile(samples_ms, 90);
  s.p99_ms = Percentile(samples_ms, 99);
  double sum = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0);
  s.mean_ms = sum / static_cast<double>(samples_ms.size());
  double sq = 0;
  for (double v : samples_ms) sq += (v - s.mean_ms) * (v - s.mean_ms);
  s.stddev_ms = std::sqrt(sq / static_cast<double>(samples_ms.size()));
  s.cv = s.mean_ms > 0 ? s.stddev_ms / s.mean_ms : 0;
  s.unstable = s.cv > kUnstableCv;
  s.throughput_per_s =
      sum > 0 ? static_cast<double>(items_per_sample) * s.num_samples / (sum / 1000.0) : 0;
  return s;
}

}  // namespace ridge::profiler
