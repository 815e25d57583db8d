// Hostile and broken models: each is refused with a clear Status naming the file and the culprit,
// never a crash or a huge allocation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>

#include "model_builder.h"
#include "onnx/loader.h"

namespace ridge::onnx {
namespace {

using namespace ridge::onnx::testing;  // NOLINT
using ::testing::HasSubstr;

Result<ir::Graph> LoadProto(const ::onnx::ModelProto& m, const LoadOptions& options = {}) {
  std::string bytes = m.SerializeAsString();
  return LoadModelFromBytes(bytes.data(), bytes.size(), "", "bad.onnx", options);
}

// Expects the load to fail with `code`, the message starting with the file name and containing
// every fragment.
void ExpectError(const Result<ir::Graph>& r, StatusCode code,
                 std::initializer_list<std::string> fragments,
                 const std::string& file = "bad.onnx") {
  ASSERT_FALSE(r.ok()) << "loaded but should have failed";
  const Status& s = r.status();
  if (std::getenv("RIDGE_PRINT_ERRORS")) std::cout << s.ToString() << "\n";  // to review wording
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_EQ(s.message().rfind(file + ": ", 0), 0u) << s.message();
  for (const auto& f : fragments) EXPECT_THAT(s.message(), HasSubstr(f));
}

// Every loaded graph must be internally consistent (ids in range, inputs produced earlier).
void ExpectConsistent(const ir::Graph& g) {
  for (size_t n = 0; n < g.num_nodes(); ++n) {
    for (ir::ValueId in : g.node(n).inputs) {
      if (in == ir::kNoValue) continue;
      ASSERT_GE(in, 0);
      ASSERT_LT(static_cast<size_t>(in), g.num_values());
      const ir::Value& v = g.value(in);
      EXPECT_TRUE(v.producer < static_cast<ir::NodeId>(n) &&
                  (v.producer != ir::kNoNode || v.is_graph_input || v.is_initializer));
    }
  }
}

TEST(OnnxLoaderErrors, MissingFileIsNotFound) {
  std::string path = FreshDir("missing") + "/nope.onnx";
  ExpectError(LoadModel(path), StatusCode::kNotFound, {"not found"}, path);
}

TEST(OnnxLoaderErrors, DirectoryIsRefused) {
  std::string dir = FreshDir("a_directory");
  ExpectError(LoadModel(dir), StatusCode::kInvalidArgument, {"regular file"}, dir);
}

TEST(OnnxLoaderErrors, EmptyFile) {
  std::string path = FreshDir("empty") + "/empty.onnx";
  WriteBytes(path, "");
  ExpectError(LoadModel(path), StatusCode::kInvalidModel, {"empty"}, path);
}

TEST(OnnxLoaderErrors, NonOnnxFiles) {
  std::string dir = FreshDir("non_onnx");
  static constexpr char kPngHeader[] =
      "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0";
  const std::string png(kPngHeader, sizeof(kPngHeader) - 1);
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"image.png", png},
           {"notes.txt", "hello, this is a text file\nwith two lines\n"},
           {"zeros.bin", std::string(64, '\0')}}) {
    std::string path = dir + "/" + name;
    WriteBytes(path, bytes);
    ExpectError(LoadModel(path), StatusCode::kInvalidModel, {}, path);
  }
}

TEST(OnnxLoaderErrors, RandomBytesNeverLoad) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 500; ++iter) {
    std::string bytes(1 + rng() % 512, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto r = LoadModelFromBytes(bytes.data(), bytes.size(), "", "rand.onnx");
    ASSERT_FALSE(r.ok()) << "iteration " << iter;
    EXPECT_EQ(r.status().message().rfind("rand.onnx: ", 0), 0u) << r.status().message();
  }
}

TEST(OnnxLoaderErrors, EveryTruncationIsCleanOrConsistent) {
  std::string bytes = TinyConvModel().SerializeAsString();
  int loaded = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = LoadModelFromBytes(bytes.data(), len, "", "cut.onnx");
    if (r.ok()) {
      ++loaded;
      ExpectConsistent(*r);
    } else {
      EXPECT_EQ(r.status().message().rfind("cut.onnx: ", 0), 0u) << r.status().message();
    }
  }
  EXPECT_LT(loaded, static_cast<int>(bytes.size()));  // most cuts must be refused
  // And through files, at a few lengths.
  std::string dir = FreshDir("truncated");
  for (size_t len : {size_t{1}, size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    std::string path = dir + "/cut" + std::to_string(len) + ".onnx";
    WriteBytes(path, bytes.substr(0, len));
    auto r = LoadModel(path);
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind(path + ": ", 0), 0u);
    }
  }
}

TEST(OnnxLoaderErrors, BitFlipsNeverCrash) {
  const std::string good = TinyConvModel().SerializeAsString();
  std::mt19937 rng(42);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bytes = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      bytes[rng() % bytes.size()] ^= static_cast<char>(1u << (rng() % 8));
    }
    auto r = LoadModelFromBytes(bytes.data(), bytes.size(), "", "flip.onnx");
    if (r.ok()) ExpectConsistent(*r);
  }
}

TEST(OnnxLoaderErrors, FileOverCapRefusedBeforeReading) {
  std::string path = WriteModel(TinyConvModel(), FreshDir("cap"));
  LoadOptions options;
  options.limits.max_file_bytes = 10;
  ExpectError(LoadModel(path, options), StatusCode::kLimitExceeded, {"cap"}, path);
}

TEST(OnnxLoaderErrors, NotAModel) {
  ::onnx::ModelProto no_version = TinyConvModel();
  no_version.set_ir_version(0);
  ExpectError(LoadProto(no_version), StatusCode::kInvalidModel, {"ir_version"});
  ::onnx::ModelProto no_graph = TinyConvModel();
  no_graph.clear_graph();
  ExpectError(LoadProto(no_graph), StatusCode::kInvalidModel, {"no graph"});
}

TEST(OnnxLoaderErrors, MissingOpset) {
  auto m = TinyConvModel();
  m.clear_opset_import();
  ExpectError(LoadProto(m), StatusCode::kInvalidModel, {"opset_import"});
  auto other = TinyConvModel();
  other.mutable_opset_import(0)->set_domain("com.example");
  ExpectError(LoadProto(other), StatusCode::kInvalidModel, {"default ONNX domain"});
}

TEST(OnnxLoaderErrors, NegativeDim) {
  auto m = TinyConvModel();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, -4);
  ExpectError(LoadProto(m), StatusCode::kInvalidModel, {"initializer #0 'w'", "negative"});
  auto in = TinyConvModel();
  in.mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(2)
      ->set_dim_value(-8);
  ExpectError(LoadProto(in), StatusCode::kInvalidModel, {"graph input #0 'x'", "negative"});
}

TEST(OnnxLoaderErrors, OverflowingDimsRefusedBeforeAllocation) {
  auto m = TinyConvModel();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->add_dims(int64_t{1} << 40);
  w->add_dims(int64_t{1} << 40);
  ExpectError(LoadProto(m), StatusCode::kLimitExceeded, {"initializer #0 'w'", "overflow"});
  w->set_dims(0, int64_t{1} << 41);  // over max_dim_value
  ExpectError(LoadProto(m), StatusCode::kLimitExceeded, {"initializer #0 'w'", "dim 0"});
  w->set_dims(0, int64_t{1} << 20);  // 2^60 elements: over the tensor cap, no overflow
  w->set_dims(1, int64_t{1} << 20);
  ExpectError(LoadProto(m), StatusCode::kLimitExceeded, {"initializer #0 'w'", "cap"});
}

TEST(OnnxLoaderErrors, RawDataSizeMismatch) {
  auto m = TinyConvModel();
  m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(100);
  ExpectError(LoadProto(m), StatusCode::kInvalidModel,
              {"initializer #0 'w'", "need 432 bytes", "raw_data holds 100 bytes"});
  auto typed = TinyConvModel();
  typed.mutable_graph()->mutable_initializer(1)->add_float_data(5);
  ExpectError(LoadProto(typed), StatusCode::kInvalidModel,
              {"initializer #1 'b'", "need 16 bytes", "float_data holds 20 bytes"});
}

TEST(OnnxLoaderErrors, DuplicateNames) {
  auto two_producers = TinyConvModel();
  AddNode(two_producers.mutable_graph(), "relu2", "Relu", {"x"}, {"r"});
  ExpectError(LoadProto(two_producers), StatusCode::kInvalidModel,
              {"node 'relu2' (Relu) output 0", "'r'", "node 'relu1' (Relu) output 0"});
  auto init_and_output = TinyConvModel();
  AddNode(init_and_output.mutable_graph(), "relu2", "Relu", {"x"}, {"w"});
  ExpectError(LoadProto(init_and_output), StatusCode::kInvalidModel,
              {"node 'relu2' (Relu)", "initializer #0 'w'"});
  auto dup_inputs = TinyConvModel();
  SetTensorType(dup_inputs.mutable_graph()->add_input(), "x", 1, {1, 3, 8, 8});
  ExpectError(LoadProto(dup_inputs), StatusCode::kInvalidModel,
              {"graph input #1 'x'", "graph input #0"});
  auto dup_init = TinyConvModel();
  AddFloatInit(dup_init.mutable_graph(), "b", {1}, {1}, true);
  ExpectError(LoadProto(dup_init), StatusCode::kInvalidModel,
              {"initializer #2 'b'", "initializer #1 'b'"});
}

TEST(OnnxLoaderErrors, DanglingInput) {
  auto m = TinyConvModel();
  m.mutable_graph()->mutable_node(3)->set_input(1, "nope");
  ExpectError(LoadProto(m), StatusCode::kInvalidModel,
              {"node 'mul1' (Mul) input 1: value 'nope' is not produced by any node"});
}

TEST(OnnxLoaderErrors, CycleNamesANodeOnIt) {
  auto m = TinyConvModel();
  auto* g = m.mutable_graph();
  // "tail" (first in the file) only hangs off the cycle a <-> b; the error must name a or b.
  g->clear_node();
  AddNode(g, "tail", "Relu", {"b_out"}, {"t"});
  AddNode(g, "a", "Add", {"x", "b_out"}, {"a_out"});
  AddNode(g, "b", "Relu", {"a_out"}, {"b_out"});
  AddNode(g, "mul1", "Mul", {"t", "x"}, {"out"});
  g->clear_value_info();
  auto r = LoadProto(m);
  ExpectError(r, StatusCode::kInvalidModel, {"cycle"});
  const std::string msg = r.status().message();
  EXPECT_TRUE(msg.find("node 'a' (Add)") != std::string::npos ||
              msg.find("node 'b' (Relu)") != std::string::npos)
      << msg;
}

TEST(OnnxLoaderErrors, UnknownAndUnsupportedDtypes) {
  auto m = TinyConvModel();
  m.mutable_graph()->mutable_initializer(1)->set_data_type(99);
  ExpectError(LoadProto(m), StatusCode::kInvalidModel,
              {"initializer #1 'b'", "unknown data type 99"});
  m.mutable_graph()->mutable_initializer(1)->set_data_type(0);
  ExpectError(LoadProto(m), StatusCode::kInvalidModel, {"initializer #1 'b'", "UNDEFINED"});
  m.mutable_graph()->mutable_initializer(1)->set_data_type(::onnx::TensorProto::STRING);
  ExpectError(LoadProto(m), StatusCode::kUnsupported, {"initializer #1 'b'", "string"});
  auto in = TinyConvModel();
  in.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(77);
  ExpectError(LoadProto(in), StatusCode::kInvalidModel, {"graph input #0 'x'", "77"});
}

TEST(OnnxLoaderErrors, TooManyNodes) {
  LoadOptions options;
  options.limits.max_nodes = 2;
  ExpectError(LoadProto(TinyConvModel(), options), StatusCode::kLimitExceeded,
              {"4 nodes", "cap of 2"});
}

TEST(OnnxLoaderErrors, RankOverCap) {
  auto m = TinyConvModel();
  LoadOptions options;
  options.limits.max_rank = 3;
  ExpectError(LoadProto(m, options), StatusCode::kLimitExceeded, {"rank 4"});
}

TEST(OnnxLoaderErrors, SubgraphsRefusedAfterDepthCap) {
  auto m = TinyConvModel();
  auto* if_node = AddNode(m.mutable_graph(), "branch", "If", {"x"}, {"y_if"});
  auto* attr = if_node->add_attribute();
  attr->set_name("then_branch");
  attr->set_type(::onnx::AttributeProto::GRAPH);
  // Nest three levels deep: If -> If -> If.
  ::onnx::GraphProto* inner = attr->mutable_g();
  for (int level = 0; level < 2; ++level) {
    auto* n = inner->add_node();
    n->set_op_type("If");
    auto* a = n->add_attribute();
    a->set_name("then_branch");
    a->set_type(::onnx::AttributeProto::GRAPH);
    inner = a->mutable_g();
  }
  ExpectError(LoadProto(m), StatusCode::kUnsupported, {"node 'branch' (If)", "subgraph"});
  LoadOptions options;
  options.limits.max_graph_depth = 2;
  ExpectError(LoadProto(m, options), StatusCode::kLimitExceeded,
              {"node 'branch' (If) attribute 'then_branch'", "nest", "cap of 2"});
}

TEST(OnnxLoaderErrors, GraphOutputNobodyProduces) {
  auto m = TinyConvModel();
  SetTensorType(m.mutable_graph()->add_output(), "ghost", 1, {1});
  ExpectError(LoadProto(m), StatusCode::kInvalidModel, {"graph output #1 'ghost'", "not produced"});
}

TEST(OnnxLoaderErrors, NodeWithoutOpType) {
  auto m = TinyConvModel();
  m.mutable_graph()->mutable_node(1)->clear_op_type();
  ExpectError(LoadProto(m), StatusCode::kInvalidModel, {"node 'relu1'", "no op_type"});
}

TEST(OnnxLoaderErrors, ExternalDataFromMemoryIsRefused) {
  auto m = TinyConvModel();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value("w.bin");
  ExpectError(LoadProto(m), StatusCode::kUnsupported, {"initializer #0 'w'", "w.bin"});
}

}  // namespace
}  // namespace ridge::onnx
