#include "backends/cuda/kernels/spin.cuh"

namespace ridge::cuda::kernels {
namespace {

__global__ void SpinKernel(int64_t nanoseconds) {
  uint64_t start = 0, now = 0;
  // %globaltimer is a nanosecond clock shared by the SMs (PTX ISA, "Special registers").
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    __nanosleep(1000);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < static_cast<uint64_t>(nanoseconds));
}

}  // namespace

void LaunchSpin(int64_t nanoseconds, cudaStream_t s) {
  SpinKernel<<<1, 1, 0, s>>>(nanoseconds > 0 ? nanoseconds : 0);
}

}  // namespace ridge::cuda::kernels
