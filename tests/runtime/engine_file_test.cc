// Engine file (model.ridge): SHA-256 vectors, round trip, and refusal of every corrupted,
// truncated, crafted or incompatible file with a message naming the field or byte offset.
#include "runtime/engine_file.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <set>

#include "onnx/loader.h"
#include "onnx/writer.h"
#include "ops/shape_inference.h"
#include "runtime/engine_file_test_util.h"

// Records the largest single allocation while tracking is on: proves crafted lengths are refused
// before anything of that size is allocated.
namespace {
std::atomic<bool> g_track_allocs{false};
std::atomic<size_t> g_max_alloc_bytes{0};
}  // namespace

void* operator new(size_t n) {
  if (g_track_allocs.load(std::memory_order_relaxed)) {
    size_t prev = g_max_alloc_bytes.load();
    while (n > prev && !g_max_alloc_bytes.compare_exchange_weak(prev, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace ridge::runtime {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------- SHA-256

TEST(Sha256, MatchesFips180Vectors) {
  EXPECT_EQ(DigestHex(Sha256Of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(DigestHex(Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestHex(Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(DigestHex(Sha256Of(std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotAtEveryPaddingBoundary) {
  std::mt19937 rng(7);
  for (size_t len : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000}) {
    std::string data(len, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    Sha256 h;
    size_t pos = 0;
    while (pos < len) {
      size_t take = std::min<size_t>(len - pos, rng() % 70);
      h.Update(data.data() + pos, take);
      pos += take;
    }
    EXPECT_EQ(h.Finish(), Sha256Of(data)) << "length " << len;
  }
}

// ---------------------------------------------------------------------------- helpers

}  // namespace

// Shared with engine_file_compat_test.cc (engine_file_test_util.h).
// x[N,3,8,8] -> Conv(4x3x3x3, bias) -> Relu -> y, with seeded random weights; batch bound to 2.
ir::Graph SmallGraph() {
  ir::Graph g;
  g.name = "small";
  g.opset_version = 17;
  std::mt19937 rng(42);
  auto act = [&](const std::string& name) {
    ir::ValueId id = g.AddValue(name);
    g.value(id).dtype = DType::kFloat32;
    return id;
  };
  auto weight = [&](const std::string& name, std::vector<int64_t> dims) {
    ir::ValueId id = act(name);
    Tensor t(DType::kFloat32, dims);
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      t.data<float>()[i] = std::uniform_real_distribution<float>(-1, 1)(rng);
    }
    g.value(id).shape = Shape::FromInts(dims);
    g.value(id).constant = t;
    g.value(id).is_initializer = true;
    return id;
  };
  ir::ValueId x = act("x");
  g.value(x).shape = Shape(std::vector<Dim>{Dim::Symbolic("N"), Dim(3), Dim(8), Dim(8)});
  g.value(x).is_graph_input = true;
  g.AddInput(x);
  ir::ValueId w = weight("conv.w", {4, 3, 3, 3});
  ir::ValueId b = weight("conv.b", {4});
  ir::ValueId c = act("c");
  ir::ValueId y = act("y");
  ir::Node conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {x, w, b};
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
  ops::InferOptions infer;
  infer.batch = 2;
  Status st = ops::InferShapes(g, infer);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return g;
}

EngineHeader CpuHeader() {
  EngineHeader h;
  h.ridge_version = "0.1.0";
  h.backend = "cpu";
  h.device_name = "cpu";
  h.precision = "fp32";
  h.batch = 2;
  h.model_sha256 = Sha256Of("the source model");
  return h;
}

std::vector<EngineSection> Sections(const ir::Graph& g) {
  auto onnx = onnx::SaveModelToBytes(g);
  EXPECT_TRUE(onnx.ok()) << onnx.status().ToString();
  std::vector<EngineSection> s(2);
  s[0].type = static_cast<uint32_t>(SectionType::kOnnxGraph);
  s[0].flags = kSectionRequired;
  s[0].bytes = onnx.ok() ? *onnx : "";
  s[1].type = static_cast<uint32_t>(SectionType::kBuildJson);
  s[1].bytes = R"({"options": {"batch": 2}})";
  return s;
}

std::string EngineBytes(const EngineHeader& h, const ir::Graph& g) {
  auto bytes = SerializeEngine(h, Sections(g));
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : "";
}

namespace {

void ExpectSameGraph(const ir::Graph& a, const ir::Graph& b) {
  ASSERT_EQ(a.num_nodes(), b.num_nodes());
  for (size_t i = 0; i < a.num_nodes(); ++i) {
    const ir::Node& na = a.nodes()[i];
    const ir::Node& nb = b.nodes()[i];
    EXPECT_EQ(na.name, nb.name);
    EXPECT_EQ(na.op_type, nb.op_type);
    ASSERT_EQ(na.inputs.size(), nb.inputs.size()) << na.name;
    for (size_t k = 0; k < na.inputs.size(); ++k) {
      EXPECT_EQ(a.value(na.inputs[k]).name, b.value(nb.inputs[k]).name) << na.name;
    }
    ASSERT_EQ(na.outputs.size(), nb.outputs.size()) << na.name;
    for (size_t k = 0; k < na.outputs.size(); ++k) {
      EXPECT_EQ(a.value(na.outputs[k]).name, b.value(nb.outputs[k]).name) << na.name;
    }
    ASSERT_EQ(na.attributes.size(), nb.attributes.size()) << na.name;
    for (const auto& [key, attr] : na.attributes) {
      ASSERT_TRUE(nb.HasAttr(key)) << na.name << " " << key;
      const ir::Attribute& other = nb.attributes.at(key);
      EXPECT_EQ(attr.kind, other.kind);
      EXPECT_EQ(attr.i, other.i);
      EXPECT_EQ(attr.ints, other.ints);
      EXPECT_EQ(attr.s, other.s);
      EXPECT_EQ(attr.floats, other.floats);
    }
  }
  int num_initializers = 0;
  for (const ir::Value& v : a.values()) {
    if (!v.is_initializer) continue;
    ++num_initializers;
    auto id = b.FindValue(v.name);
    ASSERT_TRUE(id.has_value()) << v.name;
    const ir::Value& w = b.value(*id);
    ASSERT_TRUE(w.is_initializer && w.constant) << v.name;
    EXPECT_EQ(v.constant->dtype(), w.constant->dtype()) << v.name;
    EXPECT_EQ(v.constant->dims(), w.constant->dims()) << v.name;
    ASSERT_EQ(v.constant->size_bytes(), w.constant->size_bytes()) << v.name;
    EXPECT_EQ(0,
              std::memcmp(v.constant->raw_data(), w.constant->raw_data(), v.constant->size_bytes()))
        << v.name << ": initializer bytes differ";
  }
  int num_loaded_initializers = 0;
  for (const ir::Value& v : b.values()) num_loaded_initializers += v.is_initializer ? 1 : 0;
  EXPECT_EQ(num_initializers, num_loaded_initializers);
  ASSERT_EQ(a.inputs().size(), b.inputs().size());
  for (size_t i = 0; i < a.inputs().size(); ++i) {
    const ir::Value& va = a.value(a.inputs()[i]);
    const ir::Value& vb = b.value(b.inputs()[i]);
    EXPECT_EQ(va.name, vb.name);
    ASSERT_TRUE(va.shape && vb.shape);
    EXPECT_EQ(va.shape->ToString(), vb.shape->ToString()) << va.name;
  }
}

// A refusal: not OK, one of `codes`, and the message names a field or a byte offset.
void ExpectRefused(const Result<LoadedEngine>& r, std::set<StatusCode> codes,
                   const std::string& context) {
  ASSERT_FALSE(r.ok()) << context << ": accepted";
  EXPECT_TRUE(codes.count(r.status().code())) << context << ": " << r.status().ToString();
  EXPECT_NE(r.status().message().find("byte"), std::string::npos)
      << context << ": message names no byte offset: " << r.status().ToString();
}

// ---------------------------------------------------------------------------- round trip

TEST(EngineFile, RoundTripKeepsGraphAndInitializersBitIdentical) {
  ir::Graph g = SmallGraph();
  EngineHeader h = CpuHeader();
  std::string bytes = EngineBytes(h, g);
  auto loaded = LoadEngineFromBytes(bytes, "small.ridge", EnvironmentInfo::Cpu());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameGraph(g, loaded->graph);
  EXPECT_EQ(loaded->header.backend, "cpu");
  EXPECT_EQ(loaded->header.precision, "fp32");
  EXPECT_EQ(loaded->header.ridge_version, "0.1.0");
  EXPECT_EQ(loaded->header.batch, 2);
  EXPECT_EQ(loaded->header.model_sha256, h.model_sha256);
  EXPECT_EQ(loaded->header.file_bytes, bytes.size());
  EXPECT_EQ(loaded->build_json, R"({"options": {"batch": 2}})");
  ASSERT_EQ(loaded->sections.size(), 2u);
  for (const SectionEntry& e : loaded->sections) EXPECT_EQ(e.offset % kEngineSectionAlignment, 0u);
  // The loaded graph infers again without options: its input shapes were bound at build time.
  Status st = ops::InferShapes(loaded->graph, {});
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(loaded->graph.value(loaded->graph.outputs()[0]).shape->ToString(),
            g.value(g.outputs()[0]).shape->ToString());
  // Deterministic: the same inputs give the same bytes.
  EXPECT_EQ(bytes, EngineBytes(h, g));
}

TEST(EngineFile, FileRoundTripAndMagicSniffing) {
  fs::path dir = fs::path(RIDGE_TEST_DATA_DIR) / "engine_file";
  fs::create_directories(dir);
  std::string path = (dir / "small.ridge").string();
  ir::Graph g = SmallGraph();
  ASSERT_TRUE(WriteEngineFile(path, CpuHeader(), Sections(g)).ok());
  EXPECT_TRUE(IsEngineFile(path));
  auto loaded = LoadEngineFile(path, EnvironmentInfo::Cpu());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameGraph(g, loaded->graph);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  std::string onnx_path = (dir / "small.onnx").string();
  ASSERT_TRUE(onnx::SaveModel(g, onnx_path).ok());
  EXPECT_FALSE(IsEngineFile(onnx_path));
  auto not_engine = LoadEngineFile(onnx_path, EnvironmentInfo::Cpu());
  ASSERT_FALSE(not_engine.ok());
  EXPECT_NE(not_engine.status().message().find("magic"), std::string::npos);
  auto missing = LoadEngineFile((dir / "missing.ridge").string(), EnvironmentInfo::Cpu());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(EngineFile, ZooModelRoundTripWhenPresent) {
  std::string path = std::string(RIDGE_MODEL_DIR) + "/mobilenet_v2.onnx";
  if (!fs::exists(path)) GTEST_SKIP() << path << " absent (run scripts/export_zoo.py)";
  auto g = onnx::LoadModel(path);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ops::InferOptions infer;
  infer.batch = 1;
  ASSERT_TRUE(ops::InferShapes(*g, infer).ok());
  std::string bytes = EngineBytes(CpuHeader(), *g);
  auto loaded = LoadEngineFromBytes(bytes, "mobilenet_v2.ridge", EnvironmentInfo::Cpu());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameGraph(*g, loaded->graph);
}

// ---------------------------------------------------------------------------- corruption

TEST(EngineFile, EverySingleByteFlipIsRefused) {
  std::string good = EngineBytes(CpuHeader(), SmallGraph());
  auto container = ParseEngineContainer(good, "x");
  ASSERT_TRUE(container.ok());
  const size_t header_bytes = container->header.header_bytes;
  std::mt19937_64 rng(20240601);
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    // 30% in the header (fixed fields, strings, table of contents, header checksum), 70% in the
    // payload (sections and the padding between them).
    size_t off =
        i % 10 < 3 ? rng() % header_bytes : header_bytes + rng() % (good.size() - header_bytes);
    std::string bad = good;
    bad[off] = static_cast<char>(bad[off] ^ static_cast<char>(1 + rng() % 255));
    auto r = LoadEngineFromBytes(bad, "flip.ridge", EnvironmentInfo::Cpu());
    std::set<StatusCode> codes = {StatusCode::kDataLoss, StatusCode::kInvalidModel};
    if (off >= 8 && off < 12) codes.insert(StatusCode::kUnsupported);  // format_version
    ExpectRefused(r, codes, "flip at byte " + std::to_string(off));
    refused += r.ok() ? 0 : 1;
  }
  EXPECT_EQ(refused, 1000);
}

TEST(EngineFile, EveryTruncationIsRefused) {
  std::string good = EngineBytes(CpuHeader(), SmallGraph());
  std::mt19937_64 rng(99);
  for (int i = 0; i < 100; ++i) {
    // A third inside the header, the rest anywhere.
    size_t len = i % 3 == 0 ? rng() % 300 : rng() % good.size();
    auto r = LoadEngineFromBytes(std::string_view(good).substr(0, len), "cut.ridge",
                                 EnvironmentInfo::Cpu());
    ASSERT_FALSE(r.ok()) << "truncated to " << len;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().ToString();
  }
  auto empty = LoadEngineFromBytes("", "empty.ridge", EnvironmentInfo::Cpu());
  EXPECT_EQ(empty.status().code(), StatusCode::kDataLoss);
}

TEST(EngineFile, WrongMagicAndOtherFormatVersionsAreRefused) {
  std::string good = EngineBytes(CpuHeader(), SmallGraph());
  std::string bad = good;
  bad[0] = 'X';
  auto r = LoadEngineFromBytes(bad, "m.ridge", EnvironmentInfo::Cpu());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(r.status().message().find("magic"), std::string::npos) << r.status().ToString();

  for (uint32_t version : {kEngineFormatVersion + 1, 0u, 0xffffffffu}) {
    bad = good;
    for (int i = 0; i < 4; ++i) bad[8 + i] = static_cast<char>(version >> (8 * i));
    ASSERT_TRUE(ResealEngineBytes(&bad).ok());  // valid checksums: the version alone refuses
    r = LoadEngineFromBytes(bad, "v.ridge", EnvironmentInfo::Cpu());
    ASSERT_FALSE(r.ok());
    std::string m = r.status().message();
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(m.find("format_version"), std::string::npos) << m;
    EXPECT_NE(m.find(version > kEngineFormatVersion ? "newer" : "older"), std::string::npos) << m;
    EXPECT_NE(m.find("ebuild"), std::string::npos) << m;
  }
}

// Sets a little-endian field of table entry `index` and reseals, so only bounds checks refuse.
std::string WithTocField(const std::string& good, int index, size_t field_off, uint64_t value) {
  auto c = ParseEngineContainer(good, "x");
  EXPECT_TRUE(c.ok());
  size_t toc = c->header.header_bytes - 32 - 24 * c->sections.size();
  std::string bad = good;
  for (int i = 0; i < 8; ++i)
    bad[toc + 24 * index + field_off + i] = static_cast<char>(value >> (8 * i));
  EXPECT_TRUE(ResealEngineBytes(&bad).ok());
  return bad;
}

TEST(EngineFile, HugeOrOverlappingSectionsAreRefusedWithoutAllocating) {
  std::string good = EngineBytes(CpuHeader(), SmallGraph());
  struct Case {
    std::string name;
    std::string bytes;
  };
  std::vector<Case> cases = {
      {"length 2^62", WithTocField(good, 0, 16, uint64_t{1} << 62)},
      {"length 2^64-1", WithTocField(good, 1, 16, ~uint64_t{0})},
      {"offset 2^63", WithTocField(good, 0, 8, uint64_t{1} << 63)},
      {"offset in header", WithTocField(good, 0, 8, 16)},
      {"overlap", WithTocField(good, 1, 8, 64 * 4)},
  };
  std::string many = good;
  for (int i = 0; i < 4; ++i) many[36 + i] = '\xff';  // num_sections = 2^32-1
  ASSERT_TRUE(ResealEngineBytes(&many).ok());
  cases.push_back({"num_sections 2^32-1", many});
  std::string long_string = good;
  long_string[104] = '\xff';  // ridge_version length 0xff?? -> over the header
  long_string[105] = '\xff';
  ASSERT_TRUE(ResealEngineBytes(&long_string).ok());
  cases.push_back({"string length 65535", long_string});
  for (const Case& c : cases) {
    g_max_alloc_bytes = 0;
    g_track_allocs = true;
    auto r = LoadEngineFromBytes(c.bytes, "huge.ridge", EnvironmentInfo::Cpu());
    g_track_allocs = false;
    ExpectRefused(r, {StatusCode::kInvalidModel}, c.name);
    EXPECT_LT(g_max_alloc_bytes.load(), size_t{64} << 10) << c.name;
  }
}

TEST(EngineFile, SectionRules) {
  ir::Graph g = SmallGraph();
  std::vector<EngineSection> s = Sections(g);
  EngineSection extra;
  extra.type = 77;
  extra.bytes = "future data";
  s.push_back(extra);  // unknown, optional: skipped
  auto bytes = SerializeEngine(CpuHeader(), s);
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(LoadEngineFromBytes(*bytes, "a", EnvironmentInfo::Cpu()).ok());

  s.back().flags = kSectionRequired;  // unknown, required: refused
  bytes = SerializeEngine(CpuHeader(), s);
  auto r = LoadEngineFromBytes(*bytes, "b", EnvironmentInfo::Cpu());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("type 77"), std::string::npos) << r.status().ToString();

  s.back() = s[0];  // a second graph
  bytes = SerializeEngine(CpuHeader(), s);
  EXPECT_EQ(LoadEngineFromBytes(*bytes, "c", EnvironmentInfo::Cpu()).status().code(),
            StatusCode::kInvalidModel);

  bytes = SerializeEngine(CpuHeader(), {s[1]});  // no graph
  EXPECT_EQ(LoadEngineFromBytes(*bytes, "d", EnvironmentInfo::Cpu()).status().code(),
            StatusCode::kInvalidModel);

  s = Sections(g);
  s[1].bytes = "{not json";
  bytes = SerializeEngine(CpuHeader(), s);
  EXPECT_EQ(LoadEngineFromBytes(*bytes, "e", EnvironmentInfo::Cpu()).status().code(),
            StatusCode::kInvalidModel);

  s = Sections(g);
  s[0].bytes = "garbage, not a protobuf";
  bytes = SerializeEngine(CpuHeader(), s);
  EXPECT_FALSE(LoadEngineFromBytes(*bytes, "f", EnvironmentInfo::Cpu()).ok());

  EngineHeader h = CpuHeader();
  h.device_name = std::string(300, 'x');
  EXPECT_EQ(SerializeEngine(h, {}).status().code(), StatusCode::kInvalidArgument);
  h = CpuHeader();
  h.precision = "fp8";
  EXPECT_EQ(SerializeEngine(h, {}).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------- CLI

int RunCli(const std::string& args) {
  std::string cmd = std::string(RIDGE_CLI_PATH) + " " + args + " > /dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(EngineFile, RidgeBuildWritesALoadableEngine) {
  fs::path dir = fs::path(RIDGE_TEST_DATA_DIR) / "engine_file_cli";
  fs::remove_all(dir);
  fs::create_directories(dir);
  ir::Graph g = SmallGraph();
  // Write the model with a dynamic batch again, as an exporter would.
  g.value(g.inputs()[0]).shape =
      Shape(std::vector<Dim>{Dim::Symbolic("N"), Dim(3), Dim(8), Dim(8)});
  std::string model = (dir / "small.onnx").string();
  ASSERT_TRUE(onnx::SaveModel(g, model).ok());
  std::string engine = (dir / "small.ridge").string();
  ASSERT_EQ(RunCli("build " + model + " -o " + engine + " --batch 3"), 0);
  auto loaded = LoadEngineFile(engine, EnvironmentInfo::Cpu());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->header.batch, 3);
  EXPECT_EQ(loaded->header.backend, "cpu");
  auto model_sha = Sha256OfFile(model);
  ASSERT_TRUE(model_sha.ok());
  EXPECT_EQ(loaded->header.model_sha256, *model_sha);
  EXPECT_NE(loaded->build_json.find("\"kernels\""), std::string::npos);
  EXPECT_EQ(loaded->graph.value(loaded->graph.inputs()[0]).shape->ToString(),
            Shape::FromInts({3, 3, 8, 8}).ToString());
  EXPECT_EQ(RunCli("build " + model + " -o " + engine + " --device cuda"), 4);
  EXPECT_EQ(RunCli("build " + model + " -o " + engine + " --precision fp9"), 2);
  EXPECT_EQ(RunCli("build " + (dir / "absent.onnx").string() + " -o " + engine), 5);
}

}  // namespace
}  // namespace ridge::runtime
