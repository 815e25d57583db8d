// Hand-built graphs run on the CUDA engine and the CPU executor, outputs compared: shared by
// the chain-fusion and layout/channel-padding tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

#include "../analysis/graph_builder.h"
#include "backends/cpu/executor.h"
#include "backends/cuda/engine.h"
#include "gpu_skip.h"

namespace ridge::cuda::graph_test {

using Dims = std::vector<int64_t>;

struct ChainBuilder : ridge::testing::GraphBuilder {
  std::mt19937 rng{7};
  Tensor Random(const Dims& dims, float lo = -1.f, float hi = 1.f) {
    Tensor t(DType::kFloat32, dims);
    std::uniform_real_distribution<float> d(lo, hi);
    for (float& v : t.span<float>()) v = d(rng);
    return t;
  }
  ir::ValueId Const(const std::string& name, const Dims& dims, float lo = -1.f, float hi = 1.f) {
    ir::ValueId v = Weight(name, dims);
    g.value(v).constant = Random(dims, lo, hi);
    return v;
  }
  ir::ValueId Scalar(const std::string& name, float value) {
    ir::ValueId v = Weight(name, {});
    g.value(v).constant->data<float>()[0] = value;
    return v;
  }
  // y = op(a, b) with y's dims given.
  ir::ValueId Node(const std::string& op, std::vector<ir::ValueId> in, const Dims& dims) {
    ir::ValueId y = Act(op + std::to_string(g.num_nodes()), dims);
    Op(op, op + "_" + std::to_string(g.num_nodes()), std::move(in), {y});
    return y;
  }
  // A conv with random weights: kernel x kernel, stride, symmetric pad; y's dims given.
  ir::ValueId ConvK(ir::ValueId x, int64_t cin, int64_t cout, int64_t kernel, int64_t stride,
                    int64_t pad, const Dims& out) {
    ir::ValueId y = Act("conv" + std::to_string(g.num_nodes()), out);
    ir::ValueId w = Weight("w" + std::to_string(g.num_nodes()), {cout, cin, kernel, kernel});
    g.value(w).constant = Random({cout, cin, kernel, kernel}, -0.5f, 0.5f);
    ir::NodeId n = Op("Conv", "conv_" + std::to_string(g.num_nodes()), {x, w}, {y});
    Ints(n, "kernel_shape", {kernel, kernel});
    Ints(n, "pads", {pad, pad, pad, pad});
    Ints(n, "strides", {stride, stride});
    return y;
  }
  ir::ValueId Conv1x1(ir::ValueId x, int64_t cin, int64_t cout, const Dims& out) {
    ir::ValueId y = Act("conv" + std::to_string(g.num_nodes()), out);
    const std::string name = "conv_" + std::to_string(g.num_nodes());
    Conv(name, x, y, cin, cout, 1);
    g.value(g.node(g.num_nodes() - 1).inputs[1]).constant = Random({cout, cin, 1, 1}, -0.5f, 0.5f);
    return y;
  }
};

// Builds the graph on both backends, feeds seeded inputs, compares every output within
// atol + rtol * |expected| and returns the engine's step counts by kind (empty when it failed).
inline std::map<std::string, int32_t> RunAndCompare(ChainBuilder& b, EngineOptions eo, double atol,
                                                    double rtol) {
  std::string why;
  if (!DeviceAvailable(&why)) return {};
  std::map<std::string, Tensor> feed;
  for (ir::ValueId v : b.g.inputs())
    feed[b.g.value(v).name] = b.Random(*b.g.value(v).shape->ToInts());
  cpu::ExecutorOptions co;
  co.num_threads = 1;
  auto exec = cpu::Executor::Create(b.g, co);
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  if (!exec.ok()) return {};
  auto want = (*exec)->Run(feed);
  EXPECT_TRUE(want.ok()) << want.status().ToString();
  eo.guard_bytes = 64;
  auto engine = Engine::Build(b.g, eo);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok() || !want.ok()) return {};
  auto got = (*engine)->Run(feed);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok()) return {};
  EXPECT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size() && o < want->size(); ++o) {
    const Tensor &g = (*got)[o], &w = (*want)[o];
    EXPECT_EQ(g.dims(), w.dims());
    int64_t bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < g.num_elements() && g.dims() == w.dims(); ++i) {
      const double a = g.data<float>()[i], e = w.data<float>()[i], err = std::abs(a - e);
      worst = std::max(worst, err);
      if (!(err <= atol + rtol * std::abs(e))) ++bad;
    }
    EXPECT_EQ(bad, 0) << "output " << o << ": " << bad << " elements off, worst " << worst;
  }
  return (*engine)->stats().step_kinds;
}

}  // namespace ridge::cuda::graph_test
