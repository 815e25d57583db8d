// Random strided-copy boxes for the strided-copy kernel tests: x and y are windows (steps of 1,
// 2 or -1, axes in any stride order) of larger dense buffers, so every access stays inside the
// buffers, and a host reference copy to compare against. Plain C++ (no GPU needed).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

namespace ridge::cuda::copy_test {

struct CopyCase {
  int elem_bytes = 2;
  int rank = 0;
  int64_t dims[6] = {}, xs[6] = {}, ys[6] = {};  // strides in elements
  int64_t x_base = 0, y_base = 0;                // element offset of coordinate 0 in x / y
  int64_t x_elems = 1, y_elems = 1;              // buffer sizes in elements
  size_t x_shift = 0, y_shift = 0;               // buffer start, bytes past a 256-byte boundary
};

// One side (x or y) of a case: a window of a dense buffer of `big` dims, its strides and base.
struct Side {
  int64_t strides[6] = {}, base = 0, elems = 1;
};

inline Side RandomSide(std::mt19937& rng, int rank, const int64_t* dims, bool allow_steps) {
  Side s;
  int64_t big[6], start[6], step[6];
  for (int d = 0; d < rank; ++d) {
    const int r = static_cast<int>(rng() % 8);
    step[d] = !allow_steps || r < 5 ? 1 : (r < 7 ? 2 : -1);
    const int64_t span = (dims[d] - 1) * (step[d] < 0 ? -step[d] : step[d]) + 1;
    big[d] = span + (rng() % 3 == 0 ? static_cast<int64_t>(rng() % 4) : 0);
    const int64_t lo = step[d] > 0 ? 0 : span - 1;  // a negative step starts at the far end
    start[d] = lo + static_cast<int64_t>(rng() % static_cast<uint32_t>(big[d] - span + 1));
  }
  // Dense strides of `big` in a random axis order (mostly row-major: the engine's case).
  std::vector<int> order(static_cast<size_t>(rank));
  std::iota(order.begin(), order.end(), 0);
  if (rng() % 4 == 0) std::shuffle(order.begin(), order.end(), rng);
  int64_t acc = 1;
  for (int k = rank - 1; k >= 0; --k) {
    const int d = order[static_cast<size_t>(k)];
    s.strides[d] = acc * step[d];
    s.base += start[d] * acc;
    acc *= big[d];
  }
  s.elems = acc;
  return s;
}

inline CopyCase RandomCopyCase(std::mt19937& rng) {
  static const int kElem[] = {2, 2, 2, 4, 4, 1, 8, 3};
  static const int64_t kDim[] = {1, 2, 3, 4, 5, 7, 8, 16, 24};
  static const size_t kShift[] = {0, 0, 0, 0, 2, 4, 8, 6, 1};
  CopyCase c;
  c.elem_bytes = kElem[rng() % 8];
  for (;;) {
    c.rank = static_cast<int>(rng() % 7);
    int64_t n = 1;
    for (int d = 0; d < c.rank; ++d) n *= (c.dims[d] = kDim[rng() % 9]);
    if (n <= 4096) break;
  }
  const Side x = RandomSide(rng, c.rank, c.dims, true), y = RandomSide(rng, c.rank, c.dims, false);
  std::copy(x.strides, x.strides + 6, c.xs);
  std::copy(y.strides, y.strides + 6, c.ys);
  c.x_base = x.base;
  c.y_base = y.base;
  c.x_elems = x.elems;
  c.y_elems = y.elems;
  // Shifts keep elements naturally aligned up to 2 bytes (fp16 data is never at odd addresses).
  c.x_shift = kShift[rng() % 9] * static_cast<size_t>(c.elem_bytes == 1 ? 1 : 2) % 16;
  c.y_shift = kShift[rng() % 9] * static_cast<size_t>(c.elem_bytes == 1 ? 1 : 2) % 16;
  return c;
}

// y[c . ys] = x[c . xs] for every coordinate c, byte by byte; x and y point at coordinate 0.
inline void ReferenceCopy(const CopyCase& c, const uint8_t* x, uint8_t* y) {
  int64_t n = 1;
  for (int d = 0; d < c.rank; ++d) n *= c.dims[d];
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, xo = 0, yo = 0;
    for (int d = c.rank - 1; d >= 0; --d) {
      const int64_t k = rem % c.dims[d];
      rem /= c.dims[d];
      xo += k * c.xs[d];
      yo += k * c.ys[d];
    }
    std::memcpy(y + yo * c.elem_bytes, x + xo * c.elem_bytes, static_cast<size_t>(c.elem_bytes));
  }
}

// Deterministic bytes for a buffer of `n` bytes (`seed` varies the pattern).
inline std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) {
    seed = seed * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(seed >> 24);
  }
  return v;
}

}  // namespace ridge::cuda::copy_test
