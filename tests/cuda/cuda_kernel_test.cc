// Each CUDA engine step against the op's CPU reference kernel, on one-node graphs with odd
// sizes, channel counts that are not multiples of 8, batch 1 and larger; fp32 and fp16; with
// guard bytes after every arena buffer (Run fails if a kernel writes past its output).
#include <gtest/gtest.h>

#include <cmath>

#include "backends/cuda/engine.h"
#include "gpu_skip.h"
#include "ops/nn_test_util.h"
#include "ops/shape_inference.h"

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
  SKIP_WITHOUT_GPU();
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
  SKIP_WITHOUT_GPU();
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

// ---- Vectorized pool and strided-copy paths (kernels/pool.cu, strided_copy.cu) ----

// MaxPool / AveragePool with C a multiple of 8 (vector path in fp16 and fp32), of 4 but not 8
// (vector in fp32, scalar in fp16) and odd (scalar); odd spatial sizes, batch 1 and 3.
TEST_P(CudaKernel, PoolVectorAndScalarChannels) {
  const Attrs max3{
      {"kernel_shape", AInts({3, 3})}, {"strides", AInts({2, 2})}, {"pads", AInts({1, 1, 1, 1})}};
  const Attrs max2{{"kernel_shape", AInts({2, 2})}, {"strides", AInts({2, 2})}};
  const Attrs avg_pad{{"kernel_shape", AInts({3, 3})},
                      {"pads", AInts({1, 1, 1, 1})},
                      {"count_include_pad", AInt(1)}};
  const Attrs avg_s2{
      {"kernel_shape", AInts({3, 3})}, {"strides", AInts({2, 2})}, {"pads", AInts({1, 1, 1, 1})}};
  uint32_t seed = 80;
  for (int64_t c : {16, 64, 12, 5}) {
    for (int64_t n : {1, 3}) {
      SCOPED_TRACE("C " + std::to_string(c) + " N " + std::to_string(n));
      const Tensor x = RandTensor({n, c, 13, 11}, ++seed);
      Check("MaxPool", {x}, {}, max3, GetParam().p, GetParam().atol, GetParam().rtol);
      Check("MaxPool", {x}, {}, max2, GetParam().p, GetParam().atol, GetParam().rtol);
      Check("AveragePool", {x}, {}, avg_pad, GetParam().p, GetParam().atol, GetParam().rtol);
      Check("AveragePool", {x}, {}, avg_s2, GetParam().p, GetParam().atol, GetParam().rtol);
    }
  }
}

// GlobalAveragePool: one chunk (H*W <= 256: the single-pass vector kernel), several chunks, and
// channel counts that take the scalar kernel in fp16 (20, 12) or in both precisions (13).
TEST_P(CudaKernel, GlobalAveragePoolVectorAndScalar) {
  const std::vector<std::vector<int64_t>> shapes = {{2, 16, 7, 9},   {1, 8, 1, 1},  {3, 24, 23, 19},
                                                    {2, 32, 61, 67}, {1, 20, 9, 7}, {2, 12, 17, 17},
                                                    {2, 13, 5, 5}};
  uint32_t seed = 100;
  for (const auto& dims : shapes) {
    SCOPED_TRACE("C " + std::to_string(dims[1]) + " HW " + std::to_string(dims[2] * dims[3]));
    Check("GlobalAveragePool", {RandTensor(dims, ++seed)}, {}, {}, GetParam().p, GetParam().atol,
          GetParam().rtol);
  }
}

// Runs `op` on channels-last activations: every activation input goes through an identity
// MaxPool (1x1 kernel), whose output the engine keeps NHWC, so Concat / Slice / Split along the
// channel axis copy runs of C_i contiguous elements per pixel. Compares every output with the
// op's reference kernel on the raw inputs.
void CheckChannelsLast(const std::string& op, const std::vector<Tensor>& acts,
                       const std::vector<Tensor>& consts, const Attrs& attrs, size_t num_outputs,
                       const P& prm) {
  SKIP_WITHOUT_GPU();
  ir::Graph g;
  g.opset_version = 17;
  ir::Node node;
  node.name = "op";
  node.op_type = op;
  node.attributes = attrs;
  std::vector<std::optional<Tensor>> ref_ins;
  std::map<std::string, Tensor> feed;
  for (size_t i = 0; i < acts.size(); ++i) {
    const std::string name = "in" + std::to_string(i);
    const ir::ValueId in = g.AddValue(name), mid = g.AddValue("mid" + std::to_string(i));
    g.value(in).dtype = DType::kFloat32;
    g.value(in).shape = Shape::FromInts(acts[i].dims());
    g.value(in).is_graph_input = true;
    g.AddInput(in);
    ir::Node pool;
    pool.name = "identity_pool" + std::to_string(i);
    pool.op_type = "MaxPool";
    pool.inputs = {in};
    pool.outputs = {mid};
    pool.attributes["kernel_shape"] = AInts({1, 1});
    g.AddNode(pool);
    node.inputs.push_back(mid);
    feed[name] = acts[i];
    ref_ins.push_back(acts[i]);
  }
  for (size_t i = 0; i < consts.size(); ++i) {
    const ir::ValueId v = g.AddValue("const" + std::to_string(i));
    g.value(v).dtype = consts[i].dtype();
    g.value(v).shape = Shape::FromInts(consts[i].dims());
    g.value(v).constant = consts[i];
    g.value(v).is_initializer = true;
    node.inputs.push_back(v);
    ref_ins.push_back(consts[i]);
  }
  for (size_t i = 0; i < num_outputs; ++i)
    node.outputs.push_back(g.AddValue("out" + std::to_string(i)));
  const std::vector<ir::ValueId> outs = node.outputs;
  g.AddNode(std::move(node));
  for (ir::ValueId v : outs) g.AddOutput(v);
  ASSERT_TRUE(ops::InferShapes(g, {}).ok());
  auto want = RunRef(op, ref_ins, attrs, num_outputs);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  EngineOptions options;
  options.precision = prm.p;
  options.guard_bytes = 64;
  auto engine = Engine::Build(g, options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto got = (*engine)->Run(feed);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), num_outputs);
  for (size_t k = 0; k < num_outputs; ++k) {
    const Tensor &w = (*want)[k], &o = (*got)[k];
    ASSERT_EQ(o.dims(), w.dims()) << "output " << k;
    int64_t bad = 0;
    for (int64_t i = 0; i < o.num_elements(); ++i) {
      const double a = o.GetAsDouble(i), b = w.GetAsDouble(i);
      if (!(std::abs(a - b) <= prm.atol + prm.rtol * std::abs(b))) ++bad;
    }
    EXPECT_EQ(bad, 0) << op << " output " << k << ": " << bad << " of " << o.num_elements()
                      << " elements off";
  }
}

// Channel concat: runs of 8/16/24 channels (16-byte units in fp16 and fp32), 3 and 5 channels
// (2- or 4-byte units), mixed; batch 1 and 2, odd spatial sizes.
TEST_P(CudaKernel, ConcatChannelsLastVectorAndNarrow) {
  const std::vector<std::vector<int64_t>> channel_sets = {{8, 16, 24}, {3, 5}, {16, 3, 8}, {4, 12}};
  uint32_t seed = 120;
  for (const auto& cs : channel_sets) {
    for (int64_t n : {1, 2}) {
      std::vector<Tensor> xs;
      for (int64_t c : cs) xs.push_back(RandTensor({n, c, 7, 9}, ++seed));
      SCOPED_TRACE("first C " + std::to_string(cs[0]) + " N " + std::to_string(n));
      CheckChannelsLast("Concat", xs, {}, {{"axis", AInt(1)}}, 1, GetParam());
    }
  }
  // Along H (runs of W * C elements) and along W.
  CheckChannelsLast("Concat", {RandTensor({2, 16, 3, 5}, 130), RandTensor({2, 16, 4, 5}, 131)}, {},
                    {{"axis", AInt(2)}}, 1, GetParam());
  CheckChannelsLast("Concat", {RandTensor({2, 8, 3, 5}, 132), RandTensor({2, 8, 3, 2}, 133)}, {},
                    {{"axis", AInt(3)}}, 1, GetParam());
}

// Channel slices: an aligned start (16-byte units), odd starts (the base is not 16-byte aligned:
// narrow units), a step of 2 and a negative step (element by element).
TEST_P(CudaKernel, SliceChannelsLastAlignedAndOddOffsets) {
  const Tensor x = RandTensor({2, 32, 5, 7}, 140);
  struct S {
    int64_t start, end, step;
  };
  for (const S& s : {S{8, 24, 1}, S{3, 11, 1}, S{1, 32, 1}, S{5, 30, 2}, S{30, 2, -1}}) {
    SCOPED_TRACE("start " + std::to_string(s.start) + " step " + std::to_string(s.step));
    CheckChannelsLast("Slice", {x},
                      {I64({1}, {s.start}), I64({1}, {s.end}), I64({1}, {1}), I64({1}, {s.step})},
                      {}, 1, GetParam());
  }
  // A spatial window (rows 1..4, columns 2..6): runs of C elements with an aligned base.
  CheckChannelsLast("Slice", {x}, {I64({2}, {1, 2}), I64({2}, {4, 6}), I64({2}, {2, 3})}, {}, 1,
                    GetParam());
}

// Channel splits into equal and unequal parts (16, 8 + 24, 3 + 5 + 24 channels).
TEST_P(CudaKernel, SplitChannelsLast) {
  const Tensor x = RandTensor({2, 32, 5, 7}, 150);
  CheckChannelsLast("Split", {x}, {}, {{"axis", AInt(1)}}, 2, GetParam());
  CheckChannelsLast("Split", {x}, {I64({2}, {8, 24})}, {{"axis", AInt(1)}}, 2, GetParam());
  CheckChannelsLast("Split", {x}, {I64({3}, {3, 5, 24})}, {{"axis", AInt(1)}}, 3, GetParam());
}

// Slice and Concat on plain (NCHW) tensors whose sizes give 16-byte runs after merging dims.
TEST_P(CudaKernel, ConcatSlicePlainLayout) {
  Check("Concat", {RandTensor({2, 8, 4, 4}, 160), RandTensor({2, 8, 4, 4}, 161)}, {},
        {{"axis", AInt(1)}}, GetParam().p, GetParam().atol, GetParam().rtol);
  Check("Slice", {RandTensor({3, 4, 16}, 162)}, {I64({1}, {1}), I64({1}, {3}), I64({1}, {1})}, {},
        GetParam().p, GetParam().atol, GetParam().rtol);
}

// ---- The strided-copy plan on the host (runs without a GPU) ----

}  // namespace
}  // namespace ridge::cuda
