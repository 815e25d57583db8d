// CUDA engine files on the GPU (skips without one): `ridge build --device cuda` writes a file
// that loads, checks the live environment and runs like the engine built in memory; a file
// claiming another GPU is refused naming both; preprocessing baked into a cuda engine equals
// PreprocessReference followed by the plain model.
#include <gtest/gtest.h>

#include <filesystem>

#include "backends/cuda/engine.h"
#include "backends/cuda/environment.h"
#include "onnx/loader.h"
#include "onnx/writer.h"
#include "preprocess_engine_test_util.h"
#include "runtime/engine_file.h"
#include "runtime/engine_runner.h"
#include "runtime/session.h"

namespace ridge::runtime {
namespace {

namespace fs = std::filesystem;
using testing::MaxAbsDiff;
using testing::RunCli;

#define RIDGE_SKIP_WITHOUT_GPU()                                          \
  do {                                                                    \
    std::string why;                                                      \
    if (!cuda::DeviceAvailable(&why))                                     \
      GTEST_SKIP() << "no CUDA device (" << why << "): GPU test skipped"; \
  } while (0)

std::string Dir(const std::string& name) {
  fs::path d = fs::path(RIDGE_TEST_DATA_DIR) / "engine_file_gpu" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

TEST(CudaEnvironment, VersionsAsText) {
  EXPECT_EQ(cuda::FormatCudaRuntimeVersion(12040), "12.4");
  EXPECT_EQ(cuda::FormatCudaRuntimeVersion(13000), "13.0");
  EXPECT_EQ(cuda::FormatLibraryVersion(91900), "9.19.0");
  EXPECT_EQ(cuda::FormatLibraryVersion(130100), "13.1.0");
}

TEST(CudaEngineFile, Resnet18Fp16FileRunsLikeTheEngineBuiltInMemory) {
  RIDGE_SKIP_WITHOUT_GPU();
  const std::string model = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " absent (run scripts/export_zoo.py)";
  const std::string dir = Dir("resnet18");
  const std::string file = dir + "/resnet18_fp16.ridge";
  std::string log;
  ASSERT_EQ(RunCli("build " + model + " -o " + file + " --device cuda --precision fp16", &log), 0)
      << log;
  EXPECT_NE(log.find("cuda steps"), std::string::npos) << log;
  auto live = LiveCudaEnvironment();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  auto summary = InspectEngineFile(file);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->header.backend, "cuda");
  EXPECT_EQ(summary->header.device_name, live->device_name);
  EXPECT_EQ(summary->header.sm_version, live->sm_version);
  EXPECT_EQ(summary->header.cudnn_version, live->cudnn_version);
  EXPECT_EQ(summary->header.precision, "fp16");

  auto runner = OpenEngineRunner(file);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto graph = onnx::LoadModel(model);
  ASSERT_TRUE(graph.ok());
  ops::InferOptions infer;
  infer.batch = 1;
  ASSERT_TRUE(ops::InferShapes(*graph, infer).ok());
  cuda::EngineOptions options;
  options.precision = Precision::kFp16;
  auto in_memory = cuda::Engine::Build(*graph, options);
  ASSERT_TRUE(in_memory.ok()) << in_memory.status().ToString();
  auto inputs = RandomInputs(*graph, 3);
  ASSERT_TRUE(inputs.ok());
  auto from_file = (*runner)->Run(*inputs);
  auto direct = (*in_memory)->Run(*inputs);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  ASSERT_EQ(from_file->size(), direct->size());
  // Same graph, same options: the same steps. Tactics timed at build (1x1 convs: cuDNN vs
  // cuBLASLt) may pick another kernel of the same math, so fp16 outputs may differ by rounding:
  // 2e-2 absolute on logits of magnitude ~10 is a few fp16 ulps.
  const double diff = MaxAbsDiff((*from_file)[0], (*direct)[0]);
  EXPECT_LE(diff, 2e-2) << "logits differ by " << diff;
  std::printf("resnet18 fp16: file vs in-memory max abs diff %.3g\n", diff);
  EXPECT_EQ(RunCli("run " + file, &log), 0) << log;
  EXPECT_EQ(RunCli("bench " + file + " --iterations 50 --warmup-ms 50", &log), 0) << log;
  EXPECT_NE(log.find("GPU compute"), std::string::npos) << log;
}

TEST(CudaEngineFile, FileForAnotherGpuOrLibraryIsRefusedNamingBoth) {
  RIDGE_SKIP_WITHOUT_GPU();
  auto live = LiveCudaEnvironment();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  float unused = 0;
  ir::Graph g = testing::ConvModel(16, 16, &unused);
  ops::InferOptions infer;
  infer.batch = 1;
  ASSERT_TRUE(ops::InferShapes(g, infer).ok());
  auto onnx_bytes = onnx::SaveModelToBytes(g);
  ASSERT_TRUE(onnx_bytes.ok());
  const std::string dir = Dir("other_gpu");
  struct Case {
    const char* field;
    std::string other;
  };
  const Case cases[] = {{"device_name", "NVIDIA A100-SXM4-80GB"},
                        {"sm_version", "sm_80"},
                        {"cuda_version", "11.8"},
                        {"cudnn_version", "8.9.7"},
                        {"cublas_version", "11.11.3"},
                        {"", ""}};
  for (const Case& c : cases) {
    EngineHeader h;
    h.ridge_version = RIDGE_VERSION_FOR_TESTS;
    h.backend = "cuda";
    h.device_name = live->device_name;
    h.sm_version = live->sm_version;
    h.cuda_version = live->cuda_version;
    h.cudnn_version = live->cudnn_version;
    h.cublas_version = live->cublas_version;
    h.precision = "fp32";
    h.batch = 1;
    const std::string f = c.field;
    std::string here;
    if (f == "device_name") here = live->device_name, h.device_name = c.other;
    if (f == "sm_version") here = "sm_" + std::to_string(live->sm_version), h.sm_version = 80;
    if (f == "cuda_version") here = live->cuda_version, h.cuda_version = c.other;
    if (f == "cudnn_version") here = live->cudnn_version, h.cudnn_version = c.other;
    if (f == "cublas_version") here = live->cublas_version, h.cublas_version = c.other;
    const std::string path = dir + "/engine.ridge";
    ASSERT_TRUE(WriteEngineFile(path, h, {{1, kSectionRequired, *onnx_bytes}}).ok());
    auto r = OpenEngineRunner(path);
    if (f.empty()) {  // everything equal: accepted and runs
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      continue;
    }
    ASSERT_FALSE(r.ok()) << f;
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(r.status().message().find(f), std::string::npos) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.other), std::string::npos) << r.status().ToString();
    EXPECT_NE(r.status().message().find(here), std::string::npos) << r.status().ToString();
    EXPECT_EQ(RunCli("run " + path), 4);
  }
}

TEST(CudaEngineFile, PreprocessedEngineEqualsReferenceThenPlainModel) {
  RIDGE_SKIP_WITHOUT_GPU();
  const std::string dir = Dir("preprocess");
  float max_abs_weight_sum = 0;
  ir::Graph g = testing::ConvModel(24, 32, &max_abs_weight_sum);
  const std::string model = dir + "/conv.onnx", file = dir + "/conv.ridge";
  ASSERT_TRUE(onnx::SaveModel(g, model).ok());
  const char* spec_text = "letterbox=32x24,bgr2rgb,scale=1/255";
  std::string log;
  ASSERT_EQ(RunCli("build " + model + " -o " + file + " --device cuda --precision fp32 --batch 3" +
                       " --preprocess \"" + spec_text + "\" --frame-size 100x60",
                   &log),
            0)
      << log;
  auto runner = OpenEngineRunner(file);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  ASSERT_NE((*runner)->preprocess(), nullptr);
  EXPECT_EQ((*runner)->inputs()[0].dims, (std::vector<int64_t>{3, 60, 100, 3}));
  auto spec = vision::ParsePreprocessSpec(spec_text);
  ASSERT_TRUE(spec.ok());
  for (uint64_t seed : {1, 2}) {
    auto frames = RandomRunnerInputs(**runner, seed);
    ASSERT_TRUE(frames.ok());
    auto got = (*runner)->Run(*frames);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto want = testing::ReferenceOutputs(g, frames->at("images"), *spec);
    ASSERT_EQ(want.size(), 1u);
    // The GPU kernel reproduces the reference preprocessing bit for bit
    // (docs/vision_gpu_preprocess.md); the fp32 conv (cuDNN, no TF32) differs from the CPU's by
    // summation order only: 1e-4 on outputs of magnitude ~5.
    EXPECT_LE(MaxAbsDiff((*got)[0], want[0]), 1e-4) << "seed " << seed;
  }
  EXPECT_EQ(RunCli("bench " + file + " --iterations 20 --warmup-ms 0", &log), 0) << log;
}

}  // namespace
}  // namespace ridge::runtime
