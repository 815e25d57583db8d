#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/checked_math.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"

namespace ridge {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  RIDGE_ASSIGN_OR_RETURN(*out, Half(x));
  return Status::Ok();
}

TEST(Status, ContextIsPrefixed) {
  Status s = InvalidModel("bad dim").WithContext("node 'a' (Conv)").WithContext("m.onnx");
  EXPECT_EQ(s.message(), "m.onnx: node 'a' (Conv): bad dim");
  EXPECT_EQ(s.ToString(), "InvalidModel: m.onnx: node 'a' (Conv): bad dim");
}

TEST(Status, AssignOrReturnPropagates) {
  int v = 0;
  EXPECT_TRUE(UseHalf(4, &v).ok());
  EXPECT_EQ(v, 2);
  Status s = UseHalf(3, &v);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(CheckedMath, ProductOverflowAndNegative) {
  std::vector<int64_t> ok{2, 3, 4};
  EXPECT_EQ(CheckedProduct(ok), 24);
  std::vector<int64_t> neg{2, -1};
  EXPECT_FALSE(CheckedProduct(neg).has_value());
  std::vector<int64_t> big{int64_t{1} << 40, int64_t{1} << 40};
  EXPECT_FALSE(CheckedProduct(big).has_value());
}

TEST(Shape, ToStringShowsSymbols) {
  Shape s({Dim::Symbolic("batch"), Dim(3), Dim(), Dim(224)});
  EXPECT_EQ(s.ToString(), "batchx3x?x224");
  EXPECT_FALSE(s.fully_known());
  EXPECT_FALSE(s.NumElements().has_value());
  EXPECT_EQ(Shape({1, 3, 2}).NumElements(), 6);
  EXPECT_EQ(Shape().ToString(), "scalar");
}

TEST(Tensor, MakeCheckedRefusesHugeAndNegative) {
  EXPECT_EQ(Tensor::MakeChecked(DType::kFloat32, {1 << 20, 1 << 20}, 1 << 30).status().code(),
            StatusCode::kLimitExceeded);
  EXPECT_EQ(Tensor::MakeChecked(DType::kFloat32, {-1, 4}, 1 << 30).status().code(),
            StatusCode::kInvalidArgument);
  auto t = Tensor::MakeChecked(DType::kInt64, {2, 3}, 1 << 30);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size_bytes(), 48u);
}

TEST(Tensor, HalfRoundTrip) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f}) {
    EXPECT_EQ(HalfToFloat(FloatToHalf(f)), f) << f;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(1e6f))));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
}

}  // namespace
}  // namespace ridge
