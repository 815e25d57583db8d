// External data: valid references load; every hostile location or range is refused with a
// message naming the tensor and the location.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "model_builder.h"
#include "onnx/loader.h"

namespace ridge::onnx {
namespace {

using namespace ridge::onnx::testing;  // NOLINT
using ::testing::HasSubstr;

constexpr int kWeightBytes = 4 * 3 * 3 * 3 * 4;  // w: 4x3x3x3 float32

// Moves initializer "w" to external data with the given key/values.
::onnx::ModelProto ExternalModel(const std::string& location, const std::string& offset = "",
                                 const std::string& length = "") {
  auto m = TinyConvModel();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* key, const std::string& value) {
    auto* kv = w->add_external_data();
    kv->set_key(key);
    kv->set_value(value);
  };
  add("location", location);
  if (!offset.empty()) add("offset", offset);
  if (!length.empty()) add("length", length);
  return m;
}

// A weights file: `prefix` junk bytes, then w's values 0, 0.5, 1.0, ...
std::string WeightFile(int prefix) {
  std::string bytes(static_cast<size_t>(prefix), 'J');
  for (int i = 0; i < kWeightBytes / 4; ++i) {
    float v = 0.5f * static_cast<float>(i);
    bytes.append(reinterpret_cast<const char*>(&v), 4);
  }
  return bytes;
}

void ExpectRefused(const std::string& dir, const ::onnx::ModelProto& m, StatusCode code,
                   std::initializer_list<std::string> fragments) {
  std::string path = WriteModel(m, dir);
  auto r = LoadModel(path);
  ASSERT_FALSE(r.ok());
  if (std::getenv("RIDGE_PRINT_ERRORS")) std::cout << r.status().ToString() << "\n";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_EQ(r.status().message().rfind(path + ": initializer #0 'w'", 0), 0u)
      << r.status().message();
  for (const auto& f : fragments) EXPECT_THAT(r.status().message(), HasSubstr(f));
}

TEST(OnnxExternalData, ValidReferencesLoad) {
  std::string dir = FreshDir("ext_valid");
  WriteBytes(dir + "/weights.bin", WeightFile(16));
  auto r =
      LoadModel(WriteModel(ExternalModel("weights.bin", "16", std::to_string(kWeightBytes)), dir));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Tensor& w = *r->value(*r->FindValue("w")).constant;
  EXPECT_FLOAT_EQ(w.data<float>()[0], 0.0f);
  EXPECT_FLOAT_EQ(w.data<float>()[107], 53.5f);

  // In a subfolder, no offset/length keys, through a symlink that stays inside the folder.
  std::filesystem::create_directories(dir + "/sub");
  WriteBytes(dir + "/sub/w.bin", WeightFile(0));
  std::filesystem::create_symlink("sub/w.bin", dir + "/link.bin");
  for (const char* loc : {"sub/w.bin", "./sub/w.bin", "link.bin"}) {
    auto r2 = LoadModel(WriteModel(ExternalModel(loc), dir));
    ASSERT_TRUE(r2.ok()) << loc << ": " << r2.status().ToString();
    EXPECT_FLOAT_EQ(r2->value(*r2->FindValue("w")).constant->data<float>()[3], 1.5f);
  }
  // Shapes only: the ranges are still checked, nothing is read.
  LoadOptions shapes_only;
  shapes_only.load_weights = false;
  auto r3 = LoadModel(WriteModel(ExternalModel("weights.bin", "16"), dir), shapes_only);
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  EXPECT_FALSE(r3->value(*r3->FindValue("w")).constant.has_value());
}

TEST(OnnxExternalData, ParentDirectoryIsRefused) {
  std::string dir = FreshDir("ext_dotdot");
  WriteBytes(dir + "/../x.bin", WeightFile(0));
  ExpectRefused(dir, ExternalModel("../x.bin"), StatusCode::kInvalidModel, {"'../x.bin'", "'..'"});
  ExpectRefused(dir, ExternalModel("sub/../../x.bin"), StatusCode::kInvalidModel, {"'..'"});
}

TEST(OnnxExternalData, AbsolutePathIsRefused) {
  std::string dir = FreshDir("ext_abs");
  WriteBytes(dir + "/w.bin", WeightFile(0));
  ExpectRefused(dir, ExternalModel(std::filesystem::absolute(dir + "/w.bin").string()),
                StatusCode::kInvalidModel, {"absolute"});
  ExpectRefused(dir, ExternalModel("/etc/passwd"), StatusCode::kInvalidModel,
                {"'/etc/passwd'", "absolute"});
}

TEST(OnnxExternalData, SymlinkEscapingTheFolderIsRefused) {
  std::string outside = FreshDir("ext_outside");
  WriteBytes(outside + "/secret.bin", WeightFile(0));
  std::string dir = FreshDir("ext_symlink");
  std::filesystem::create_symlink(std::filesystem::absolute(outside + "/secret.bin"),
                                  dir + "/w.bin");
  std::filesystem::create_directory_symlink(std::filesystem::absolute(outside), dir + "/d");
  ExpectRefused(dir, ExternalModel("w.bin"), StatusCode::kInvalidModel,
                {"'w.bin'", "outside the model's folder"});
  ExpectRefused(dir, ExternalModel("d/secret.bin"), StatusCode::kInvalidModel,
                {"outside the model's folder"});
}

TEST(OnnxExternalData, RangesAreChecked) {
  std::string dir = FreshDir("ext_ranges");
  WriteBytes(dir + "/w.bin", WeightFile(8));  // 8 + 432 bytes
  ExpectRefused(dir, ExternalModel("w.bin", "16"), StatusCode::kInvalidModel,
                {"'w.bin' at offset 16", "past the end of the file (440 bytes)"});
  ExpectRefused(dir, ExternalModel("w.bin", "8", "1000"), StatusCode::kInvalidModel,
                {"length 1000", "432 bytes"});
  ExpectRefused(dir, ExternalModel("w.bin", "-8"), StatusCode::kInvalidModel,
                {"'w.bin': offset is negative"});
  ExpectRefused(dir, ExternalModel("w.bin", "8", "-432"), StatusCode::kInvalidModel,
                {"'w.bin': length is negative"});
  ExpectRefused(dir, ExternalModel("w.bin", "9223372036854775807"), StatusCode::kInvalidModel,
                {"past the end"});
  ExpectRefused(dir, ExternalModel("w.bin", "99999999999999999999"), StatusCode::kInvalidModel,
                {"overflows"});
  ExpectRefused(dir, ExternalModel("w.bin", "12abc"), StatusCode::kInvalidModel,
                {"not a decimal integer"});
}

TEST(OnnxExternalData, MissingAndNonRegularFiles) {
  std::string dir = FreshDir("ext_missing");
  ExpectRefused(dir, ExternalModel("absent.bin"), StatusCode::kNotFound, {"'absent.bin'"});
  std::filesystem::create_directories(dir + "/folder");
  ExpectRefused(dir, ExternalModel("folder"), StatusCode::kInvalidModel, {"not a regular file"});
  ExpectRefused(dir, ExternalModel(""), StatusCode::kInvalidModel, {"location"});
}

}  // namespace
}  // namespace ridge::onnx
