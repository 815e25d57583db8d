// The strided-copy planner (kernels/strided_copy.cu) on the host: fast division, dim merging and
// unit choice, and random boxes copied by an emulation of the kernel against a reference.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "backends/cuda/kernels/strided_copy.cuh"
#include "strided_copy_test_util.h"

namespace ridge::cuda {
namespace {

// Applies a plan with host memcpy, dividing as the kernels do (FastDivU31 when index32).
void EmulatePlan(const kernels::StridedCopyPlan& p, const uint8_t* x, uint8_t* y) {
  kernels::FastDivU31 div[kernels::StridedCopyPlan::kMaxRank];
  for (int d = 0; d < p.rank; ++d)
    div[d] = kernels::FastDivU31::Make(static_cast<uint32_t>(p.dims[d]));
  for (int64_t i = 0; i < p.count; ++i) {
    int64_t rem = i, xo = 0, yo = 0;
    for (int d = p.rank - 1; d > 0; --d) {
      const int64_t q = p.index32 ? div[d].Div(static_cast<uint32_t>(rem)) : rem / p.dims[d];
      xo += (rem - q * p.dims[d]) * p.xs[d];
      yo += (rem - q * p.dims[d]) * p.ys[d];
      rem = q;
    }
    xo += rem * p.xs[0];
    yo += rem * p.ys[0];
    std::memcpy(y + yo * p.width, x + xo * p.width, static_cast<size_t>(p.width));
  }
}

TEST(StridedCopyPlan, FastDivMatchesDivision) {
  std::mt19937 rng(7);
  std::vector<uint32_t> divisors;
  for (uint32_t d = 1; d <= 1100; ++d) divisors.push_back(d);
  for (uint32_t d : {4095u, 4097u, 65535u, 65536u, 65537u, 204800u, 1u << 30, (1u << 30) + 1,
                     3u << 29, (1u << 31) - 1, 1u << 31})
    divisors.push_back(d);
  for (int k = 0; k < 200; ++k) divisors.push_back(1 + rng() % (1u << 31));
  int64_t bad = 0;
  for (uint32_t d : divisors) {
    const kernels::FastDivU31 f = kernels::FastDivU31::Make(d);
    std::vector<uint32_t> ns = {0, 1, d - 1, d, d + 1, 2 * d - 1, (1u << 31) - 1, (1u << 31) - 2};
    for (int k = 0; k < 300; ++k) ns.push_back(rng() % (1u << 31));
    for (int k = 0; k < 50; ++k) {
      const uint64_t m = (uint64_t{rng()} % ((1u << 31) / d + 1)) * d;  // multiples and neighbours
      for (int64_t e : {-1, 0, 1})
        if (int64_t(m) + e >= 0 && int64_t(m) + e < (int64_t{1} << 31))
          ns.push_back(static_cast<uint32_t>(int64_t(m) + e));
    }
    for (uint32_t n : ns)
      if (n < (1u << 31) && f.Div(n) != n / d && ++bad < 5)
        ADD_FAILURE() << n << " / " << d << ": got " << f.Div(n) << ", want " << n / d;
  }
  EXPECT_EQ(bad, 0);
}

TEST(StridedCopyPlan, MergesDimsAndPicksWidestUnit) {
  alignas(256) static uint8_t buf[1024];
  const uint8_t* x = buf;
  uint8_t* y = buf + 512;
  // YOLO-style channel concat: [32,80,80,64] fp16 into channels 64..127 of [32,80,80,192].
  const int64_t dims[4] = {32, 80, 80, 64}, xs[4] = {80 * 80 * 64, 80 * 64, 64, 1},
                ys[4] = {80 * 80 * 192, 80 * 192, 192, 1};
  auto p = kernels::PlanStridedCopy(2, x, y + 128, 4, dims, xs, ys);
  EXPECT_EQ(p.rank, 2);
  EXPECT_EQ(p.width, 16);
  EXPECT_EQ(p.count, 32 * 80 * 80 * 8);
  EXPECT_EQ(p.dims[0], 32 * 80 * 80);
  EXPECT_EQ(p.dims[1], 8);
  EXPECT_EQ(p.xs[0], 8);
  EXPECT_EQ(p.ys[0], 24);
  EXPECT_EQ(p.xs[1], 1);
  EXPECT_EQ(p.ys[1], 1);
  EXPECT_TRUE(p.index32);
  // Same at channel offset 3 (y base 6 bytes past alignment): 2-byte units.
  p = kernels::PlanStridedCopy(2, x, y + 6, 4, dims, xs, ys);
  EXPECT_EQ(p.width, 2);
  EXPECT_EQ(p.dims[1], 64);
  // 3-channel fp16 inputs: 6-byte runs, 2-byte units.
  const int64_t d3[4] = {2, 5, 5, 3}, x3[4] = {75, 15, 3, 1}, y3[4] = {200, 40, 8, 1};
  EXPECT_EQ(kernels::PlanStridedCopy(2, x, y, 4, d3, x3, y3).width, 2);
  // A dense fp32 copy is one run; 4-channel fp32 runs into 8-channel rows: 16-byte units.
  const int64_t dd[2] = {7, 12}, xd[2] = {12, 1};
  p = kernels::PlanStridedCopy(4, x, y, 2, dd, xd, xd);
  EXPECT_EQ(p.rank, 1);
  EXPECT_EQ(p.width, 16);
  EXPECT_EQ(p.count, 7 * 12 * 4 / 16);
  const int64_t d4[2] = {9, 4}, x4[2] = {4, 1}, y4[2] = {8, 1};
  EXPECT_EQ(kernels::PlanStridedCopy(4, x, y, 2, d4, x4, y4).width, 16);
  // Odd element sizes and a scalar (rank 0) still copy their bytes.
  EXPECT_EQ(kernels::PlanStridedCopy(3, x, y, 0, nullptr, nullptr, nullptr).count, 3);
  // Empty boxes and bad arguments copy nothing.
  const int64_t d0[2] = {4, 0};
  EXPECT_EQ(kernels::PlanStridedCopy(2, x, y, 2, d0, xd, xd).count, 0);
  EXPECT_EQ(kernels::PlanStridedCopy(2, x, y, 7, dd, xd, xd).count, 0);
  EXPECT_EQ(kernels::PlanStridedCopy(0, x, y, 2, dd, xd, xd).count, 0);
  // Offsets beyond 2^31 units need 64-bit index math.
  const int64_t big[2] = {3, 8}, xbig[2] = {int64_t{1} << 33, 1}, ybig[2] = {8, 1};
  p = kernels::PlanStridedCopy(2, x, y, 2, big, xbig, ybig);
  EXPECT_FALSE(p.index32);
  EXPECT_EQ(p.width, 16);
}

TEST(StridedCopyPlan, RandomBoxesMatchReferenceOnHost) {
  std::mt19937 rng(11);
  int widths[17] = {};
  for (int t = 0; t < 3000; ++t) {
    const copy_test::CopyCase c = copy_test::RandomCopyCase(rng);
    const size_t eb = static_cast<size_t>(c.elem_bytes);
    std::vector<uint8_t> xbuf(static_cast<size_t>(c.x_elems) * eb + 512),
        want(static_cast<size_t>(c.y_elems) * eb + 512);
    auto aligned = [](std::vector<uint8_t>& v) {
      return v.data() + (256 - reinterpret_cast<uintptr_t>(v.data()) % 256) % 256;
    };
    const auto src = copy_test::Pattern(xbuf.size(), static_cast<uint32_t>(t));
    std::copy(src.begin(), src.end(), xbuf.begin());
    std::fill(want.begin(), want.end(), uint8_t{0xa5});
    std::vector<uint8_t> got = want;
    const uint8_t* x0 = aligned(xbuf) + c.x_shift + c.x_base * c.elem_bytes;
    const int64_t y_off = static_cast<int64_t>(c.y_shift) + c.y_base * c.elem_bytes;
    copy_test::ReferenceCopy(c, x0, aligned(want) + y_off);
    const auto p = kernels::PlanStridedCopy(c.elem_bytes, x0, aligned(got) + y_off, c.rank, c.dims,
                                            c.xs, c.ys);
    ASSERT_GT(p.count, 0);
    ASSERT_TRUE(p.index32);
    ++widths[p.width];
    EmulatePlan(p, x0, aligned(got) + y_off);
    // The pointer differs between `got` and `want`, so alignment matches only modulo 256.
    ASSERT_EQ(got.size(), want.size());
    const size_t a = static_cast<size_t>(aligned(got) - got.data()),
                 b = static_cast<size_t>(aligned(want) - want.data());
    ASSERT_TRUE(
        std::equal(got.begin() + a, got.begin() + a + (want.size() - 512), want.begin() + b))
        << "case " << t << " rank " << c.rank << " elem " << c.elem_bytes << " width " << p.width;
  }
  // The random cases reach every unit width.
  for (int w : {1, 2, 4, 8, 16}) EXPECT_GT(widths[w], 10) << "width " << w;
}

}  // namespace
}  // namespace ridge::cuda
