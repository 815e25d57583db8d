// Ridgeline's reference kernels against PyTorch's own kernels on the same inputs
// (tests/ops/data/torch_golden.txt, written by tests/ops/gen_torch_golden.py). PyTorch is an
// implementation independent of ours; each case maps a torch call to the equivalent ONNX node.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "ops/nn_test_util.h"

namespace ridge::ops {
namespace {
using namespace nn_test;

using Case = std::map<std::string, Tensor>;

std::map<std::string, Case> LoadGolden() {
  std::map<std::string, Case> cases;
  std::ifstream in(std::string(RIDGE_SOURCE_DIR) + "/tests/ops/data/torch_golden.txt");
  std::string line, current;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string kind;
    ss >> kind;
    if (kind == "case") {
      ss >> current;
    } else if (kind == "tensor") {
      std::string name;
      size_t rank;
      ss >> name >> rank;
      std::vector<int64_t> dims(rank);
      for (auto& d : dims) ss >> d;
      Tensor t(DType::kFloat32, dims);
      for (int64_t i = 0; i < t.num_elements(); ++i) ss >> t.data<float>()[i];
      cases[current].emplace(name, std::move(t));
    }
  }
  return cases;
}

const std::map<std::string, Case>& Golden() {
  static const auto* cases = new std::map<std::string, Case>(LoadGolden());
  return *cases;
}

void Check(const std::string& name, const std::string& op, std::vector<std::string> inputs,
           Attrs attrs, float tol = 1e-5f, std::vector<std::optional<Tensor>> extra = {}) {
  auto it = Golden().find(name);
  ASSERT_NE(it, Golden().end()) << "golden case " << name << " missing";
  const Case& c = it->second;
  std::vector<std::optional<Tensor>> ins;
  for (const auto& i : inputs) ins.push_back(c.at(i));
  for (auto& e : extra) ins.push_back(std::move(e));
  auto out = RunRef(op, ins, std::move(attrs));
  ASSERT_TRUE(out.ok()) << name << ": " << out.status().message();
  const Tensor& want = c.at("y");
  ASSERT_EQ((*out)[0].dims(), want.dims()) << name;
  ExpectNear(Floats((*out)[0]), Floats(want), tol);
}

Tensor Sizes(const Case& c, int64_t h, int64_t w) {
  return I64({4}, {c.at("x").dims()[0], c.at("x").dims()[1], h, w});
}

TEST(TorchGolden, Conv) {
  Check("conv", "Conv", {"x", "w", "b"},
        {{"group", AInt(2)},
         {"strides", AInts({2, 1})},
         {"pads", AInts({1, 1, 1, 1})},
         {"dilations", AInts({1, 2})}},
        1e-5f);
  Check("conv_transpose", "ConvTranspose", {"x", "w", "b"},
        {{"group", AInt(2)},
         {"strides", AInts({2, 2})},
         {"pads", AInts({1, 1, 1, 1})},
         {"output_padding", AInts({1, 1})}});
}

TEST(TorchGolden, Pools) {
  Attrs a = {{"kernel_shape", AInts({3, 3})},
             {"strides", AInts({2, 2})},
             {"pads", AInts({1, 1, 1, 1})},
             {"ceil_mode", AInt(1)}};
  Check("maxpool_ceil", "MaxPool", {"x"}, a);
  Check("avgpool_ceil_excl", "AveragePool", {"x"}, a);
  a["count_include_pad"] = AInt(1);
  Check("avgpool_ceil_incl", "AveragePool", {"x"}, a);
}

TEST(TorchGolden, Resize) {
  const Case& c = Golden().at("bilinear");
  Attrs lin = {{"mode", AStr("linear")},
               {"coordinate_transformation_mode", AStr("pytorch_half_pixel")}};
  Check("bilinear", "Resize", {"x"}, lin, 1e-5f, {std::nullopt, std::nullopt, Sizes(c, 8, 7)});
  lin["coordinate_transformation_mode"] = AStr("half_pixel");
  Check("bilinear", "Resize", {"x"}, lin, 1e-5f, {std::nullopt, std::nullopt, Sizes(c, 8, 7)});
  Check("bilinear_down", "Resize", {"x"}, lin, 1e-5f,
        {std::nullopt, std::nullopt, Sizes(Golden().at("bilinear_down"), 4, 4)});
  lin["coordinate_transformation_mode"] = AStr("align_corners");
  Check("bilinear_ac", "Resize", {"x"}, lin, 1e-5f, {std::nullopt, std::nullopt, Sizes(c, 8, 7)});
  Check("bicubic", "Resize", {"x"}, {{"mode", AStr("cubic")}}, 1e-5f,
        {std::nullopt, std::nullopt, Sizes(c, 8, 7)});
  Check("nearest", "Resize", {"x"},
        {{"coordinate_transformation_mode", AStr("asymmetric")}, {"nearest_mode", AStr("floor")}},
        0, {std::nullopt, std::nullopt, Sizes(c, 8, 7)});
}

TEST(TorchGolden, NormsAndSoftmax) {
  Check("layernorm", "LayerNormalization", {"x", "w", "b"}, {{"axis", AInt(1)}}, 1e-5f);
  Check("instancenorm", "InstanceNormalization", {"x", "w", "b"}, {}, 1e-5f);
  Check("softmax", "Softmax", {"x"}, {{"axis", AInt(1)}}, 1e-6f);
}

}  // namespace
}  // namespace ridge::ops
