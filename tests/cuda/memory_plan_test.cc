#include "backends/cuda/memory_plan.h"

#include <gtest/gtest.h>

#include <random>

namespace ridge::cuda {
namespace {

TEST(MemoryPlan, ChainReusesMemory) {
  // a -> b -> c -> d: each buffer lives two steps; only two are ever live together.
  std::vector<BufferLifetime> b = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  MemoryPlan p = PlanMemory(b, 256);
  EXPECT_TRUE(PlanIsValid(b, p));
  EXPECT_EQ(p.arena_bytes, 2 * 1024);
  EXPECT_EQ(p.naive_bytes, 4 * 1024);
}

TEST(MemoryPlan, OverlappingLifetimesNeverShare) {
  std::vector<BufferLifetime> b = {{512, 0, 5}, {512, 2, 3}, {512, 3, 7}};
  MemoryPlan p = PlanMemory(b, 256);
  EXPECT_TRUE(PlanIsValid(b, p));
  EXPECT_EQ(p.arena_bytes, 3 * 512);
  for (int64_t off : p.offsets) EXPECT_EQ(off % 256, 0);
}

TEST(MemoryPlan, RandomPlansAreValid) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferLifetime> b;
    for (int i = 0; i < 40; ++i) {
      int32_t first = static_cast<int32_t>(rng() % 50);
      b.push_back({1 + static_cast<int64_t>(rng() % 100000), first,
                   first + static_cast<int32_t>(rng() % 10)});
    }
    MemoryPlan p = PlanMemory(b, 256);
    ASSERT_TRUE(PlanIsValid(b, p)) << "trial " << trial;
    EXPECT_LE(p.arena_bytes, p.naive_bytes);
  }
}

TEST(MemoryPlan, ValidatorCatchesOverlap) {
  std::vector<BufferLifetime> b = {{512, 0, 2}, {512, 1, 3}};
  MemoryPlan bad{{0, 256}, 1024, 1024};
  EXPECT_FALSE(PlanIsValid(b, bad));
}

}  // namespace
}  // namespace ridge::cuda
