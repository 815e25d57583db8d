// npy reader/writer: round trips, and refusal of malformed or hostile files.
#include "runtime/npy.h"

#include <gtest/gtest.h>

#include <string>

namespace ridge::runtime {
namespace {

std::string Header(const std::string& dict, int version = 1) {
  std::string h = dict;
  size_t pre = version == 1 ? 10 : 12;
  size_t total = pre + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(version));
  out.push_back('\0');
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>(h.size() >> 8));
  if (version != 1) out.append(2, '\0');
  return out + h;
}

TEST(Npy, RoundTripFloat) {
  Tensor t(DType::kFloat32, {2, 3});
  for (int i = 0; i < 6; ++i) t.data<float>()[i] = 0.5f * i - 1;
  auto bytes = SerializeNpy(t);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size() % 64, 24u);  // header padded to 64, then 24 data bytes
  auto back = ParseNpy(*bytes, "t");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dims(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back->dtype(), DType::kFloat32);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back->data<float>()[i], t.data<float>()[i]);
}

TEST(Npy, RoundTripScalarAnd1dAndInt64) {
  Tensor s(DType::kInt64, {});
  s.data<int64_t>()[0] = -7;
  auto b = SerializeNpy(s);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->find("'shape': ()"), std::string::npos);
  auto back = ParseNpy(*b, "s");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->rank(), 0u);
  EXPECT_EQ(back->data<int64_t>()[0], -7);
  Tensor v(DType::kUInt8, {3});
  auto b1 = SerializeNpy(v);
  ASSERT_TRUE(b1.ok());
  EXPECT_NE(b1->find("'shape': (3,)"), std::string::npos);
  EXPECT_TRUE(ParseNpy(*b1, "v").ok());
}

TEST(Npy, ReadsVersion2AndNumpySpacing) {
  std::string f = Header("{'descr':'<f4','fortran_order':False,'shape':(2, 1)}", 2);
  f.append(8, '\0');
  auto t = ParseNpy(f, "v2");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->dims(), (std::vector<int64_t>{2, 1}));
}

TEST(Npy, RefusesBadMagicAndTruncation) {
  EXPECT_EQ(ParseNpy("hello", "x").status().code(), StatusCode::kInvalidArgument);
  std::string f = Header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }");
  f.append(15, '\0');  // 16 needed
  EXPECT_EQ(ParseNpy(f, "x").status().code(), StatusCode::kDataLoss);
  f.append(2, '\0');  // 17: too many
  EXPECT_EQ(ParseNpy(f, "x").status().code(), StatusCode::kDataLoss);
  std::string cut = Header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }");
  cut.resize(20);
  EXPECT_FALSE(ParseNpy(cut, "x").ok());
}

TEST(Npy, RefusesAbsurdShapesWithoutAllocating) {
  std::string f = Header(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, "
      "100000), }");
  auto r = ParseNpy(f, "huge");
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  std::string o = Header(
      "{'descr': '<f4', 'fortran_order': False, 'shape': "
      "(99999999999999999999999,), }");
  EXPECT_EQ(ParseNpy(o, "overflow").status().code(), StatusCode::kLimitExceeded);
}

TEST(Npy, RefusesMalformedHeaders) {
  for (const char* dict : {"[1, 2]", "{'fortran_order': False, 'shape': (1,), }",
                           "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                           "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                           "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (1",
                           "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"}) {
    std::string f = Header(dict);
    f.append(16, '\0');
    auto r = ParseNpy(f, "bad");
    EXPECT_FALSE(r.ok()) << dict;
  }
}

TEST(Npy, FileErrors) {
  EXPECT_EQ(ReadNpy("/nonexistent/x.npy").status().code(), StatusCode::kNotFound);
  Tensor t(DType::kFloat32, {2});
  EXPECT_FALSE(WriteNpy("/nonexistent/dir/x.npy", t).ok());
  std::string path = std::string(RIDGE_TEST_DATA_DIR) + "/npy_test.npy";
  std::string mk = "mkdir -p " + std::string(RIDGE_TEST_DATA_DIR);
  ASSERT_EQ(std::system(mk.c_str()), 0);
  t.data<float>()[1] = 3.5f;
  ASSERT_TRUE(WriteNpy(path, t).ok());
  auto back = ReadNpy(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->data<float>()[1], 3.5f);
}

}  // namespace
}  // namespace ridge::runtime
