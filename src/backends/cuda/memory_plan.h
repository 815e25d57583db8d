// Liveness-based placement of activation buffers in one arena. Pure host code (no CUDA), so
// it is unit-tested on machines without a GPU.
#pragma once

#include <cstdint>
#include <vector>

namespace ridge::cuda {

// A buffer written first at step `first` and read last at step `last` (inclusive).
struct BufferLifetime {
  int64_t bytes = 0;
  int32_t first = 0;
  int32_t last = 0;
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // one per request, aligned
  int64_t arena_bytes = 0;       // the high-water mark
  int64_t naive_bytes = 0;       // sum of all buffers: what no reuse would take
};

// Greedy best-fit by decreasing size: two buffers share bytes only if their step intervals are
// disjoint. Deterministic for a given input.
MemoryPlan PlanMemory(const std::vector<BufferLifetime>& buffers, int64_t alignment = 256);

// True if no two buffers that are live at the same step overlap in the arena (test helper).
bool PlanIsValid(const std::vector<BufferLifetime>& buffers, const MemoryPlan& plan);

}  // namespace ridge::cuda
