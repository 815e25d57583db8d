// The CUDA tests' guard: without a usable CUDA device (CI, this project's build machine) a GPU
// test stops at SKIP_WITHOUT_GPU() with a visible message saying why.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "backends/cuda/engine.h"

#define SKIP_WITHOUT_GPU()                                                 \
  do {                                                                     \
    std::string why_;                                                      \
    if (!::ridge::cuda::DeviceAvailable(&why_))                            \
      GTEST_SKIP() << "no CUDA device (" << why_ << "): GPU test skipped"; \
  } while (0)
