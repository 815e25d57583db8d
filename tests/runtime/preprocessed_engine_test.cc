// Engines with preprocessing baked in (ridge build --preprocess) on the CPU: fed uint8 frames,
// they equal PreprocessReference followed by the plain model; bad specs, specs that do not fit
// the model input, absurd frame sizes and crafted preprocess sections are refused.
#include "runtime/preprocessed_engine.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "onnx/writer.h"
#include "preprocess_engine_test_util.h"
#include "runtime/engine_runner.h"
#include "runtime/npy.h"
#include "runtime/session.h"
#include "vision/preprocess_halide.h"

namespace ridge::runtime {
namespace {

namespace fs = std::filesystem;
using testing::ConvModel;
using testing::MaxAbsDiff;
using testing::ReferenceOutputs;
using testing::RunCli;

constexpr char kSpec[] = "letterbox=32x24,bgr2rgb,scale=1/255";

struct Built {
  std::string dir, model, engine;
  ir::Graph graph;
  float max_abs_weight_sum = 0;
};

// Writes the conv model ([N, 3, 24, 32] input) and builds it with `build_args`.
Built BuildEngine(const std::string& name, const std::string& build_args, int expect_rc = 0) {
  Built b;
  b.dir = (fs::path(RIDGE_TEST_DATA_DIR) / "preprocessed_engine" / name).string();
  fs::remove_all(b.dir);
  fs::create_directories(b.dir);
  b.graph = ConvModel(24, 32, &b.max_abs_weight_sum);
  b.model = b.dir + "/conv.onnx";
  b.engine = b.dir + "/conv.ridge";
  EXPECT_TRUE(onnx::SaveModel(b.graph, b.model).ok());
  std::string log;
  EXPECT_EQ(RunCli("build " + b.model + " -o " + b.engine + " " + build_args, &log), expect_rc)
      << log;
  return b;
}

TEST(PreprocessedEngine, CpuEqualsReferenceThenPlainEngine) {
  Built b = BuildEngine("cpu",
                        std::string("--batch 2 --preprocess \"") + kSpec + "\" --frame-size 64x40");
  auto summary = InspectEngineFile(b.engine);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_TRUE(summary->has_preprocess);
  EXPECT_EQ(summary->header.backend, "cpu");
  auto spec = vision::ParsePreprocessSpec(kSpec);
  ASSERT_TRUE(spec.ok());

  for (bool halide : {false, true}) {
    if (halide && !vision::HalidePreprocessAvailable()) continue;
    EngineRunnerOptions options;
    options.use_halide = halide;
    auto runner = OpenEngineRunner(b.engine, options);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    ASSERT_NE((*runner)->preprocess(), nullptr);
    ASSERT_EQ((*runner)->inputs().size(), 1u);
    EXPECT_EQ((*runner)->inputs()[0].dtype, DType::kUInt8);
    EXPECT_EQ((*runner)->inputs()[0].dims, (std::vector<int64_t>{2, 40, 64, 3}));
    for (uint64_t seed : {1, 2}) {
      auto frames = RandomRunnerInputs(**runner, seed);
      ASSERT_TRUE(frames.ok());
      const Tensor& f = frames->at("images");
      auto got = (*runner)->Run(*frames);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      auto want = ReferenceOutputs(b.graph, f, *spec);
      ASSERT_EQ(got->size(), 1u);
      ASSERT_EQ(want.size(), 1u);
      const double diff = MaxAbsDiff((*got)[0], want[0]);
      // Reference preprocessing + the same CPU kernels on the same input: identical up to float
      // reassociation (1e-5). Halide agrees with the reference within one 8-bit step before
      // scaling (vision/preprocess.h), i.e. 1/255 per input value; a conv output moves by at most
      // that times the largest sum of |w| over one output channel.
      const double tol = halide ? b.max_abs_weight_sum / 255.0 + 1e-5 : 1e-5;
      EXPECT_LE(diff, tol) << (halide ? "halide" : "reference") << " seed " << seed;
    }
    // Frames of another size or dtype: a clear error, no crash.
    std::map<std::string, Tensor> wrong = {{"images", Tensor(DType::kUInt8, {2, 40, 63, 3})}};
    auto r = (*runner)->Run(wrong);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("[2, 40, 64, 3]"), std::string::npos)
        << r.status().ToString();
    wrong = {{"images", Tensor(DType::kFloat32, {2, 40, 64, 3})}};
    EXPECT_EQ((*runner)->Run(wrong).status().code(), StatusCode::kInvalidArgument);
  }
  // A CpuSession would feed floats to the inner model: it refuses the file instead.
  EXPECT_EQ(CpuSession::Open(b.engine, {}).status().code(), StatusCode::kUnsupported);
}

TEST(PreprocessedEngine, RidgeRunAndBenchTakeFrames) {
  Built b = BuildEngine("cli", std::string("--preprocess \"") + kSpec + "\" --frame-size 40x30");
  auto runner = OpenEngineRunner(b.engine);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto frames = RandomRunnerInputs(**runner, 7);
  ASSERT_TRUE(frames.ok());
  const std::string npy = b.dir + "/frame.npy";
  ASSERT_TRUE(WriteNpy(npy, frames->at("images")).ok());
  std::string log;
  ASSERT_EQ(RunCli("run " + b.engine + " --input " + npy + " --output " + b.dir + "/out", &log), 0)
      << log;
  auto out = ReadNpy(b.dir + "/out/y.npy");
  ASSERT_TRUE(out.ok()) << out.status().ToString() << "\n" << log;
  auto direct = (*runner)->Run(*frames);
  ASSERT_TRUE(direct.ok());
  EXPECT_LE(MaxAbsDiff(*out, (*direct)[0]), 1e-6);
  EXPECT_EQ(RunCli("bench " + b.engine + " --iterations 3 --warmup-ms 0", &log), 0) << log;
  EXPECT_NE(log.find("frames/s"), std::string::npos) << log;
  // A wrong frame size, and --device naming another backend than the file's.
  ASSERT_TRUE(WriteNpy(npy, Tensor(DType::kUInt8, {1, 30, 41, 3})).ok());
  EXPECT_EQ(RunCli("run " + b.engine + " --input " + npy, &log), 2) << log;
  EXPECT_NE(log.find("[1, 30, 40, 3]"), std::string::npos) << log;
  EXPECT_EQ(RunCli("run " + b.engine + " --device cuda", &log), 2) << log;
}

TEST(PreprocessedEngine, BadSpecsAndFrameSizesAreRefused) {
  const std::vector<int64_t> in = {1, 3, 24, 32};
  auto ok = MakePreprocessConfig(kSpec, 1920, 1080, in, DType::kFloat32);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->FrameDims(1), (std::vector<int64_t>{1, 1080, 1920, 3}));
  struct Case {
    std::string spec;
    std::vector<int64_t> dims;
    DType dtype;
    std::string says;
  };
  const Case cases[] = {
      {"bogus=1", in, DType::kFloat32, "bogus"},
      {"scale=1/255", in, DType::kFloat32, ""},  // no resize token
      {"letterbox=640", in, DType::kFloat32, "does not match the model input 32x24"},
      {"letterbox=32x24,nhwc", in, DType::kFloat32, "nhwc"},
      {"letterbox=32x24,fp16", in, DType::kFloat32, "float32"},
      {"letterbox=32x24", {1, 1, 24, 32}, DType::kFloat32, "[N, 3, H, W]"},
      {"letterbox=32x24", {1, 24, 32}, DType::kFloat32, "[N, 3, H, W]"},
  };
  for (const Case& c : cases) {
    auto r = MakePreprocessConfig(c.spec, 1920, 1080, c.dims, c.dtype);
    ASSERT_FALSE(r.ok()) << c.spec;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().ToString();
  }
  int w = 0, h = 0;
  for (const char* bad : {"0x10", "10x0", "16385x10", "99999999999x1", "1920", "x", "ax1", "-5x5",
                          "1920x1080x3", ""}) {
    EXPECT_EQ(ParseFrameSize(bad, &w, &h).code(), StatusCode::kInvalidArgument) << bad;
  }
  ASSERT_TRUE(ParseFrameSize("16384x1", &w, &h).ok());
  EXPECT_EQ(w, 16384);
  // Largest frames x a batch over 2 GiB of uint8 frames: refused before anything is allocated.
  auto big = MakePreprocessConfig(kSpec, 16384, 16384, {3, 3, 24, 32}, DType::kFloat32);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("bytes"), std::string::npos);
  EXPECT_FALSE(MakePreprocessConfig(kSpec, 0, 1080, in, DType::kFloat32).ok());
}

TEST(PreprocessedEngine, CliRefusesBadBuildsWithClearCodes) {
  std::string q = "\"";
  Built ok = BuildEngine("cli_bad", "--preprocess " + q + kSpec + q);
  std::string log;
  const std::string base = "build " + ok.model + " -o " + ok.dir + "/x.ridge ";
  EXPECT_EQ(RunCli(base + "--preprocess bogus=1", &log), 2) << log;
  EXPECT_EQ(RunCli(base + "--preprocess letterbox=640", &log), 2) << log;
  EXPECT_NE(log.find("does not match the model input 32x24"), std::string::npos) << log;
  EXPECT_EQ(RunCli(base + "--preprocess " + q + kSpec + q + " --frame-size 99999x99999", &log), 2);
  EXPECT_NE(log.find("--frame-size"), std::string::npos) << log;
  EXPECT_EQ(RunCli(base + "--frame-size 640x480", &log), 2) << log;  // without --preprocess
  EXPECT_FALSE(fs::exists(ok.dir + "/x.ridge"));
  // The default frame size is 1920x1080.
  auto runner = OpenEngineRunner(ok.engine);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  EXPECT_EQ((*runner)->inputs()[0].dims, (std::vector<int64_t>{1, 1080, 1920, 3}));
}

TEST(PreprocessedEngine, CraftedPreprocessSectionsAreRefused) {
  float unused = 0;
  ir::Graph g = ConvModel(24, 32, &unused);
  ops::InferOptions infer;
  infer.batch = 1;
  ASSERT_TRUE(ops::InferShapes(g, infer).ok());
  auto onnx_bytes = onnx::SaveModelToBytes(g);
  ASSERT_TRUE(onnx_bytes.ok());
  EngineHeader h;
  h.ridge_version = "0.1.0";
  h.backend = "cpu";
  h.device_name = "cpu";
  h.precision = "fp32";
  h.batch = 1;
  const fs::path dir = fs::path(RIDGE_TEST_DATA_DIR) / "preprocessed_engine" / "crafted";
  fs::create_directories(dir);
  const std::string sections[] = {
      R"({"spec": "letterbox=32x24", "frame_width": 0, "frame_height": 1080})",
      R"({"spec": "letterbox=32x24", "frame_width": 100000000, "frame_height": 100000000})",
      R"({"spec": "letterbox=640", "frame_width": 64, "frame_height": 48})",
      R"({"spec": 7, "frame_width": 64, "frame_height": 48})",
      R"({"frame_width": 64})",
  };
  for (const std::string& json : sections) {
    std::vector<EngineSection> s = {
        {static_cast<uint32_t>(SectionType::kOnnxGraph), kSectionRequired, *onnx_bytes},
        {static_cast<uint32_t>(SectionType::kPreprocess), kSectionRequired, json}};
    const std::string path = (dir / "crafted.ridge").string();
    ASSERT_TRUE(WriteEngineFile(path, h, s).ok());
    auto r = OpenEngineRunner(path);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidModel) << r.status().ToString();
    EXPECT_NE(r.status().message().find("preprocess section"), std::string::npos)
        << r.status().ToString();
  }
}

}  // namespace
}  // namespace ridge::runtime
