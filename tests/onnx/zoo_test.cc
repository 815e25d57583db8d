// Every model of the zoo (scripts/export_zoo.py -> models/*.onnx) loads and looks like a
// vision model: weights present, one float image input NCHW with 3 channels.
#include <gtest/gtest.h>

#include <filesystem>

#include "onnx/loader.h"

namespace ridge::onnx {
namespace {

TEST(OnnxZoo, EveryModelLoads) {
  namespace fs = std::filesystem;
  std::vector<fs::path> models;
  if (fs::is_directory(RIDGE_MODEL_DIR)) {
    for (const auto& e : fs::directory_iterator(RIDGE_MODEL_DIR))
      if (e.path().extension() == ".onnx") models.push_back(e.path());
  }
  if (models.empty()) {
    GTEST_SKIP() << "no models in " << RIDGE_MODEL_DIR << " (run scripts/export_zoo.py)";
  }
  for (const auto& path : models) {
    SCOPED_TRACE(path.string());
    auto r = LoadModel(path.string());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_GT(r->num_nodes(), 0u);
    int initializers = 0;
    for (const auto& v : r->values()) initializers += v.is_initializer ? 1 : 0;
    EXPECT_GT(initializers, 0);
    ASSERT_EQ(r->inputs().size(), 1u);
    const ir::Value& in = r->value(r->inputs()[0]);
    EXPECT_FALSE(in.is_initializer);
    EXPECT_EQ(in.dtype, DType::kFloat32);
    ASSERT_TRUE(in.shape.has_value());
    ASSERT_EQ(in.shape->rank(), 4u);
    EXPECT_EQ((*in.shape)[1].value, 3);
    EXPECT_GE(r->outputs().size(), 1u);
    EXPECT_GE(r->opset_version, 13);
  }
}

}  // namespace
}  // namespace ridge::onnx
