// Shared by the cpu and gpu tests of engines with preprocessing baked in: a small conv model,
// the CLI runner, the reference path (PreprocessReference, then the plain model on the CPU).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "ir/graph.h"
#include "onnx/writer.h"
#include "ops/shape_inference.h"
#include "runtime/preprocessed_engine.h"
#include "vision/preprocess.h"

namespace ridge::runtime::testing {

// x[N,3,H,W] -> Conv(4x3x3x3, pads 1, bias) -> Relu -> y, seeded weights in [-1, 1).
inline ir::Graph ConvModel(int64_t h, int64_t w, float* max_abs_weight_sum) {
  ir::Graph g;
  g.name = "conv_model";
  g.opset_version = 17;
  std::mt19937 rng(11);
  auto act = [&](const std::string& name) {
    ir::ValueId id = g.AddValue(name);
    g.value(id).dtype = DType::kFloat32;
    return id;
  };
  auto weight = [&](const std::string& name, std::vector<int64_t> dims) {
    ir::ValueId id = act(name);
    Tensor t(DType::kFloat32, dims);
    for (float& v : t.span<float>()) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    g.value(id).shape = Shape::FromInts(dims);
    g.value(id).constant = t;
    g.value(id).is_initializer = true;
    return id;
  };
  ir::ValueId x = act("images");
  g.value(x).shape = Shape(std::vector<Dim>{Dim::Symbolic("N"), Dim(3), Dim(h), Dim(w)});
  g.value(x).is_graph_input = true;
  g.AddInput(x);
  ir::ValueId wv = weight("conv.w", {4, 3, 3, 3});
  ir::ValueId b = weight("conv.b", {4});
  // Sum of |w| over one output channel's 27 taps, largest over channels: bounds how far the
  // output moves when every input moves by at most 1 (tolerances below).
  float worst = 0;
  const float* wd = g.value(wv).constant->data<float>();
  for (int oc = 0; oc < 4; ++oc) {
    float sum = 0;
    for (int k = 0; k < 27; ++k) sum += std::fabs(wd[oc * 27 + k]);
    worst = std::max(worst, sum);
  }
  if (max_abs_weight_sum) *max_abs_weight_sum = worst;
  ir::ValueId c = act("c"), y = act("y");
  ir::Node conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {x, wv, b};
  conv.outputs = {c};
  ir::Attribute pads;
  pads.kind = ir::Attribute::Kind::kInts;
  pads.ints = {1, 1, 1, 1};
  conv.attributes["pads"] = pads;
  g.AddNode(conv);
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {c};
  relu.outputs = {y};
  g.AddNode(relu);
  g.value(y).is_graph_output = true;
  g.AddOutput(y);
  return g;
}

inline int RunCli(const std::string& args, std::string* output = nullptr) {
  const std::string log = std::string(RIDGE_TEST_DATA_DIR) + "/ridge_cli_last.log";
  std::string cmd = std::string(RIDGE_CLI_PATH) + " " + args + " > " + log + " 2>&1";
  int rc = std::system(cmd.c_str());
  if (output) {
    FILE* f = std::fopen(log.c_str(), "rb");
    output->clear();
    if (f) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) output->append(buf, n);
      std::fclose(f);
    }
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// The reference path: every frame through PreprocessReference, then the plain model (batch
// bound to the frames' N) on the CPU executor.
inline std::vector<Tensor> ReferenceOutputs(const ir::Graph& model, const Tensor& frames,
                                            const vision::PreprocessSpec& spec) {
  const int64_t n = frames.dims()[0], fh = frames.dims()[1], fw = frames.dims()[2];
  Tensor input(DType::kFloat32, {n, 3, spec.out_height, spec.out_width});
  vision::Image im;
  im.width = static_cast<int>(fw);
  im.height = static_cast<int>(fh);
  im.channels = 3;
  im.stride = static_cast<size_t>(fw) * 3;
  im.order = spec.input_order;
  const size_t frame_bytes = im.stride * static_cast<size_t>(fh);
  for (int64_t i = 0; i < n; ++i) {
    const auto* src = reinterpret_cast<const uint8_t*>(frames.raw_data()) + i * frame_bytes;
    im.data.assign(src, src + frame_bytes);
    Status st = vision::PreprocessReference(
        im, spec, reinterpret_cast<char*>(input.raw_data()) + i * spec.OutputBytes());
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  ir::Graph g = model;
  ops::InferOptions infer;
  infer.batch = n;
  EXPECT_TRUE(ops::InferShapes(g, infer).ok());
  auto exec = cpu::Executor::Create(g, {});
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  if (!exec.ok()) return {};
  auto out = (*exec)->Run({{"images", input}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : std::vector<Tensor>{};
}

inline double MaxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.dims(), b.dims());
  if (a.dims() != b.dims()) return INFINITY;
  double m = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i)
    m = std::max(m, std::fabs(double{a.data<float>()[i]} - double{b.data<float>()[i]}));
  return m;
}

}  // namespace ridge::runtime::testing
