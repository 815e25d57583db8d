// Each CUDA engine step against the op's CPU reference kernel, on one-node graphs with odd
// sizes, channel counts that are not multiples of 8, batch 1 and larger; fp32 and fp16; with
// guard bytes after every arena buffer (Run fails if a kernel writes past its output).
#include <gtest/gtest.h>

#include <cmath>

#include "backends/cuda/engine.h"
#include "ops/nn_test_util.h"

namespace ridge::cuda {
namespace {

using namespace ridge::ops::nn_test;  // NOLINT

Tensor RandTensor(std::vector<int64_t> dims, uint32_t seed) {
  Tensor t(DType::kFloat32, dims);
  auto v = Rand(static_cast<size_t>(t.num_elements()), seed);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// Runs op on the GPU (activations given, constants baked in) and on the reference kernel.
void Check(const std::string& op, std::vector<Tensor> acts, std::vector<Tensor> consts, Attrs attrs,
           Precision precision, double atol, double rtol, int pointwise = 0) {
  std::string why;
  if (!DeviceAvailable(&why)) GTEST_SKIP() << "no CUDA device (" << why << "): GPU test skipped";
  std::vector<Input> ins;
  std::vector<std::optional<Tensor>> ref_ins;
  for (auto& t : acts) {
    ins.push_back(Act(Shape::FromInts(t.dims())));
    ref_ins.push_back(t);
  }
  for (auto& t : consts) {
    ins.push_back(Const(t));
    ref_ins.push_back(t);
  }
  OneNode g = Build(op, ins, attrs);
  ASSERT_TRUE(Infer(g).ok());
  auto want = RunRef(op, ref_ins, attrs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  EngineOptions options;
  options.precision = precision;
  options.guard_bytes = 64;
  options.pointwise_conv_backend = pointwise;
  auto engine = Engine::Build(g.graph, options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  std::map<std::string, Tensor> feed;
  for (size_t i = 0; i < acts.size(); ++i) feed["in" + std::to_string(i)] = acts[i];
  auto got = (*engine)->Run(feed);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const Tensor &w = (*want)[0], &o = (*got)[0];
  ASSERT_EQ(o.dims(), w.dims());
  int64_t bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < o.num_elements(); ++i) {
    double a = o.GetAsDouble(i), b = w.GetAsDouble(i), err = std::abs(a - b);
    worst = std::max(worst, err);
    if (!(err <= atol + rtol * std::abs(b))) ++bad;
  }
  EXPECT_EQ(bad, 0) << op << ": " << bad << " of " << o.num_elements()
                    << " elements off, worst abs error " << worst;
}

struct P {
  Precision p;
  double atol, rtol;
};
class CudaKernel : public ::testing::TestWithParam<P> {};

TEST_P(CudaKernel, ConvOddChannelsPadsStrides) {
  Attrs a{{"pads", AInts({1, 1, 1, 1})}, {"strides", AInts({2, 2})}};
  Check("Conv", {RandTensor({3, 5, 13, 11}, 1)}, {RandTensor({7, 5, 3, 3}, 2), RandTensor({7}, 3)},
        a, GetParam().p, GetParam().atol * 5, GetParam().rtol * 5);
}

TEST_P(CudaKernel, PointwiseConvBothBackends) {
  for (int backend : {1, 2}) {
    SCOPED_TRACE(backend == 1 ? "cuDNN" : "cuBLASLt");
    Check("Conv", {RandTensor({3, 13, 7, 5}, 32)},
          {RandTensor({11, 13, 1, 1}, 33), RandTensor({11}, 34)}, {}, GetParam().p,
          GetParam().atol * 5, GetParam().rtol * 5, backend);
  }
}

TEST_P(CudaKernel, DepthwiseConv) {
  Attrs a{{"pads", AInts({1, 1, 1, 1})}, {"group", AInt(12)}};
  Check("Conv", {RandTensor({2, 12, 9, 7}, 4)}, {RandTensor({12, 1, 3, 3}, 5)}, a, GetParam().p,
        GetParam().atol * 5, GetParam().rtol * 5);
}

TEST_P(CudaKernel, Gemm) {
  Attrs a{{"transB", AInt(1)}};
  Check("Gemm", {RandTensor({3, 37}, 6)}, {RandTensor({19, 37}, 7), RandTensor({19}, 8)}, a,
        GetParam().p, GetParam().atol * 5, GetParam().rtol * 5);
}

TEST_P(CudaKernel, MatMulBatched) {
  Check("MatMul", {RandTensor({2, 5, 24}, 9)}, {RandTensor({24, 13}, 10)}, {}, GetParam().p,
        GetParam().atol * 5, GetParam().rtol * 5);
}

TEST_P(CudaKernel, MaxPool) {
  Attrs a{
      {"kernel_shape", AInts({3, 3})}, {"strides", AInts({2, 2})}, {"pads", AInts({1, 1, 1, 1})}};
  Check("MaxPool", {RandTensor({2, 3, 11, 9}, 11)}, {}, a, GetParam().p, GetParam().atol,
        GetParam().rtol);
}

TEST_P(CudaKernel, AveragePoolCountIncludePad) {
  Attrs a{{"kernel_shape", AInts({3, 3})},
          {"pads", AInts({1, 1, 1, 1})},
          {"count_include_pad", AInt(1)}};
  Check("AveragePool", {RandTensor({1, 5, 7, 6}, 12)}, {}, a, GetParam().p, GetParam().atol,
        GetParam().rtol);
}

TEST_P(CudaKernel, GlobalAveragePool) {
  Check("GlobalAveragePool", {RandTensor({3, 13, 7, 5}, 13)}, {}, {}, GetParam().p, GetParam().atol,
        GetParam().rtol);
}

TEST_P(CudaKernel, GlobalAveragePoolLargeMapFewChannels) {
  Check("GlobalAveragePool", {RandTensor({2, 37, 61, 67}, 35)}, {}, {}, GetParam().p,
        GetParam().atol, GetParam().rtol);
}

TEST_P(CudaKernel, AddBroadcastConstant) {
  Check("Add", {RandTensor({2, 3, 5, 7}, 14)}, {RandTensor({3, 1, 1}, 15)}, {}, GetParam().p,
        GetParam().atol, GetParam().rtol);
}

TEST_P(CudaKernel, MulTwoActivations) {
  Check("Mul", {RandTensor({1, 3, 5, 7}, 16), RandTensor({1, 3, 5, 7}, 17)}, {}, {}, GetParam().p,
        GetParam().atol, GetParam().rtol);
}

TEST_P(CudaKernel, Unary) {
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Erf", "Abs", "Neg"}) {
    SCOPED_TRACE(op);
    Check(op, {RandTensor({3, 17, 5}, 18)}, {}, {}, GetParam().p, GetParam().atol, GetParam().rtol);
  }
}

TEST_P(CudaKernel, Softmax) {
  Check("Softmax", {RandTensor({3, 4, 1001}, 19)}, {}, {}, GetParam().p, GetParam().atol,
        GetParam().rtol);
}

TEST_P(CudaKernel, SoftmaxMiddleAxis) {
  Check("Softmax", {RandTensor({2, 16, 4, 37}, 31)}, {}, {{"axis", AInt(1)}}, GetParam().p,
        GetParam().atol, GetParam().rtol);
}

TEST_P(CudaKernel, Transpose) {
  Attrs a{{"perm", AInts({0, 2, 3, 1})}};
  Check("Transpose", {RandTensor({2, 3, 5, 7}, 20)}, {}, a, GetParam().p, GetParam().atol,
        GetParam().rtol);
}

TEST_P(CudaKernel, LayerNormalizationLastAxis) {
  Attrs a{{"axis", AInt(-1)}, {"epsilon", AFloat(1e-6f)}};
  Check("LayerNormalization", {RandTensor({2, 5, 7, 45}, 21)},
        {RandTensor({45}, 22), RandTensor({45}, 23)}, a, GetParam().p, GetParam().atol * 5,
        GetParam().rtol * 5);
}

// Depthwise Conv (group == C) on NCHW x: covers the vectorized path (C a multiple of 8 for
// fp16, 4 for fp32; templated 3x3/5x5/7x7 windows; the run-time window for dilation and other
// kernel sizes) and the general fallback (C = 10, and C = 20 in fp16).
void CheckDepthwise(std::vector<int64_t> x_dims, int64_t kh, int64_t kw, std::vector<int64_t> pads,
                    std::vector<int64_t> strides, std::vector<int64_t> dil, bool bias, P prm,
                    uint32_t seed) {
  const int64_t c = x_dims[1];
  Attrs a{{"pads", AInts(pads)},
          {"strides", AInts(strides)},
          {"dilations", AInts(dil)},
          {"group", AInt(c)}};
  std::vector<Tensor> consts{RandTensor({c, 1, kh, kw}, seed + 1)};
  if (bias) consts.push_back(RandTensor({c}, seed + 2));
  Check("Conv", {RandTensor(x_dims, seed)}, consts, a, prm.p, prm.atol * 5, prm.rtol * 5);
}

TEST_P(CudaKernel, DepthwiseVec3x3Stride1OddWidthBatch1) {
  CheckDepthwise({1, 16, 9, 13}, 3, 3, {1, 1, 1, 1}, {1, 1}, {1, 1}, true, GetParam(), 40);
}

TEST_P(CudaKernel, DepthwiseVec3x3Stride2Batch4) {
  CheckDepthwise({4, 24, 11, 15}, 3, 3, {1, 1, 1, 1}, {2, 2}, {1, 1}, true, GetParam(), 43);
}

TEST_P(CudaKernel, DepthwiseVec3x3Stride2NoPadEvenWidth) {
  CheckDepthwise({2, 8, 10, 12}, 3, 3, {0, 0, 0, 0}, {2, 2}, {1, 1}, false, GetParam(), 46);
}

TEST_P(CudaKernel, DepthwiseVec7x7) {
  CheckDepthwise({2, 32, 10, 11}, 7, 7, {3, 3, 3, 3}, {1, 1}, {1, 1}, true, GetParam(), 49);
}

TEST_P(CudaKernel, DepthwiseVec5x5Stride2) {
  CheckDepthwise({2, 40, 13, 9}, 5, 5, {2, 2, 2, 2}, {2, 2}, {1, 1}, true, GetParam(), 52);
}

TEST_P(CudaKernel, DepthwiseVecDilated) {
  CheckDepthwise({2, 16, 12, 13}, 3, 3, {2, 2, 2, 2}, {1, 1}, {2, 2}, true, GetParam(), 55);
}

TEST_P(CudaKernel, DepthwiseVecKernel3x1) {
  CheckDepthwise({1, 16, 11, 7}, 3, 1, {3, 0, 3, 0}, {1, 1}, {3, 3}, true, GetParam(), 58);
}

TEST_P(CudaKernel, DepthwiseFallbackChannels) {
  for (int64_t c : {10, 20}) {
    SCOPED_TRACE(c);
    CheckDepthwise({2, c, 7, 9}, 3, 3, {1, 1, 1, 1}, {2, 2}, {1, 1}, true, GetParam(), 61);
  }
}

// LayerNorm over the last axis: 8, 16 and 32 lanes per row, a partly filled last chunk round
// (cols 1000), rows not a multiple of the rows per block, no bias, and the general fallback for
// cols > 1024 and cols not a multiple of the vector width.
TEST_P(CudaKernel, LayerNormalizationRowsFastAndFallback) {
  Attrs a{{"axis", AInt(-1)}, {"epsilon", AFloat(1e-6f)}};
  for (int64_t cols : {96, 100, 384, 768, 1000, 1100, 36}) {
    SCOPED_TRACE(cols);
    Check("LayerNormalization", {RandTensor({2, 35, cols}, 64)},
          {RandTensor({cols}, 65), RandTensor({cols}, 66)}, a, GetParam().p, GetParam().atol * 5,
          GetParam().rtol * 5);
  }
  Check("LayerNormalization", {RandTensor({1, 37, 96}, 67)}, {RandTensor({96}, 68)}, a,
        GetParam().p, GetParam().atol * 5, GetParam().rtol * 5);
}

TEST_P(CudaKernel, ConvWithReluFused) {
  // Conv -> Relu, only the Relu output visible: the engine fuses both into one cuDNN call.
  std::string why;
  if (!DeviceAvailable(&why)) GTEST_SKIP() << "no CUDA device (" << why << "): GPU test skipped";
  const Tensor x = RandTensor({2, 6, 9, 9}, 26), w = RandTensor({10, 6, 3, 3}, 24),
               b = RandTensor({10}, 25);
  ir::Graph g;
  g.opset_version = 17;
  auto add = [&](const std::string& name, const Tensor* c, std::vector<int64_t> dims) {
    ir::ValueId id = g.AddValue(name);
    g.value(id).dtype = DType::kFloat32;
    g.value(id).shape = Shape::FromInts(dims);
    if (c) {
      g.value(id).constant = *c;
      g.value(id).is_initializer = true;
    }
    return id;
  };
  ir::ValueId in = add("in0", nullptr, x.dims()), wv = add("w", &w, w.dims()),
              bv = add("b", &b, b.dims()), mid = add("mid", nullptr, {2, 10, 9, 9}),
              out = add("out", nullptr, {2, 10, 9, 9});
  g.value(in).is_graph_input = true;
  g.AddInput(in);
  ir::Node conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {in, wv, bv};
  conv.outputs = {mid};
  conv.attributes["pads"] = AInts({1, 1, 1, 1});
  g.AddNode(conv);
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {mid};
  relu.outputs = {out};
  g.AddNode(relu);
  g.value(out).is_graph_output = true;
  g.AddOutput(out);
  EngineOptions options;
  options.precision = GetParam().p;
  options.guard_bytes = 64;
  auto engine = Engine::Build(g, options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  EXPECT_EQ((*engine)->stats().step_kinds.count("cudnn_conv_bias_relu"), 1u);
  auto got = (*engine)->Run({{"in0", x}});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  auto want = RunRef("Conv", {x, w, b}, {{"pads", AInts({1, 1, 1, 1})}});
  ASSERT_TRUE(want.ok());
  const double atol = GetParam().atol * 5, rtol = GetParam().rtol * 5;
  for (int64_t i = 0; i < (*want)[0].num_elements(); ++i) {
    const double r = std::max(0.0, (*want)[0].GetAsDouble(i));
    ASSERT_NEAR((*got)[0].GetAsDouble(i), r, atol + rtol * r) << "element " << i;
  }
}

TEST_P(CudaKernel, SliceStepsNegativeStart) {
  Check("Slice", {RandTensor({2, 7, 5, 6}, 27)},
        {I64({2}, {1, -4}), I64({2}, {6, 100}), I64({2}, {1, 3}), I64({2}, {2, 1})}, {},
        GetParam().p, GetParam().atol, GetParam().rtol);
}

TEST_P(CudaKernel, ConcatChannels) {
  Check("Concat", {RandTensor({2, 3, 4, 5}, 28), RandTensor({2, 5, 4, 5}, 29)}, {},
        {{"axis", AInt(1)}}, GetParam().p, GetParam().atol, GetParam().rtol);
}

TEST_P(CudaKernel, ResizeNearestAsymmetric) {
  Attrs a{{"mode", AStr("nearest")},
          {"coordinate_transformation_mode", AStr("asymmetric")},
          {"nearest_mode", AStr("floor")}};
  Check("Resize", {RandTensor({2, 3, 4, 5}, 30)}, {F32({0}, {}), F32({4}, {1, 1, 2, 2})}, a,
        GetParam().p, GetParam().atol, GetParam().rtol);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaKernel,
                         ::testing::Values(P{Precision::kFp32, 1e-5, 1e-5},
                                           P{Precision::kFp16, 2e-3, 2e-3}),
                         [](const auto& info) {
                           return info.param.p == Precision::kFp16 ? "fp16" : "fp32";
                         });

// Runs without a GPU too: the unsupported-node list is made before any device call.
TEST(CudaEngine, UnsupportedNodesAreAllNamed) {
  OneNode g = Build("Floor", {Act(Shape{1, 3, 4, 4})});
  ASSERT_TRUE(Infer(g).ok());
  auto engine = Engine::Build(g.graph, {});
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("Floor"), std::string::npos)
      << engine.status().ToString();
}

}  // namespace
}  // namespace ridge::cuda
