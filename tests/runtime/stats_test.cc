#include "profiler/stats.h"

#include <gtest/gtest.h>

namespace ridge::profiler {
namespace {

TEST(Stats, PercentilesAndCv) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  auto s = ComputeStats(v, 2);
  EXPECT_EQ(s.num_samples, 100);
  EXPECT_DOUBLE_EQ(s.min_ms, 1);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_DOUBLE_EQ(s.median_ms, 50.5);
  EXPECT_NEAR(s.p90_ms, 90.1, 1e-9);  // numpy.percentile(1..100, 90)
  EXPECT_NEAR(s.p99_ms, 99.01, 1e-9);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
  EXPECT_NEAR(s.cv, 28.866 / 50.5, 1e-3);
  EXPECT_TRUE(s.unstable);
  EXPECT_NEAR(s.throughput_per_s, 2 * 100 / 5.050, 1e-9);
}

TEST(Stats, StableAndEmpty) {
  auto s = ComputeStats({10, 10.1, 9.9, 10}, 1);
  EXPECT_FALSE(s.unstable);
  EXPECT_LT(s.cv, 0.01);
  auto e = ComputeStats({}, 1);
  EXPECT_EQ(e.num_samples, 0);
  EXPECT_EQ(e.mean_ms, 0);
}

}  // namespace
}  // namespace ridge::profiler
