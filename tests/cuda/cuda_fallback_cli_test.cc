// `--allow-cpu-fallback` through the CLI. Without a GPU: the flag is refused on the cpu backend
// of `ridge build` and `ridge bench` (before any model is read). On a GPU (skipped here): `ridge
// build --device cuda` fails without the flag and names it, builds with it and prints the cost
// line; `ridge bench` of the engine file rebuilds it with the stored flag and reports the cost
// in text and JSON; `ridge bench --device cuda --precision fp16 --profile` shows the step.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cuda_fallback_graph.h"
#include "onnx/writer.h"

namespace ridge::cuda {
namespace {

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Ran Cli(const std::string& args) {
  const auto log = std::filesystem::temp_directory_path() / "ridge_fallback_cli.log";
  const std::string cmd = std::string(RIDGE_CLI_PATH) + " " + args + " > " + log.string() + " 2>&1";
  Ran r;
  const int st = std::system(cmd.c_str());
  r.exit_code = st == -1 ? -1 : WEXITSTATUS(st);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  std::printf("$ ridge %s -> %d\n%s", args.c_str(), r.exit_code, r.output.c_str());
  return r;
}

nlohmann::json ReadJson(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

TEST(CpuFallbackCli, TheFlagIsForTheCudaDeviceOnly) {
  Ran b = Cli("build no_such_model.onnx --device cpu --allow-cpu-fallback");
  EXPECT_NE(b.exit_code, 0);
  EXPECT_NE(b.output.find("--allow-cpu-fallback applies to --device cuda"), std::string::npos);
  Ran c = Cli("bench no_such_model.onnx --device cpu --allow-cpu-fallback");
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.output.find("--allow-cpu-fallback applies to --device cuda only"), std::string::npos);
}

TEST(CpuFallbackCli, BuildStoresTheFlagAndBenchReportsTheCost) {
  SKIP_WITHOUT_GPU();
  const auto dir = std::filesystem::temp_directory_path() / "ridge_fallback_cli";
  std::filesystem::create_directories(dir);
  const std::string model = (dir / "fallback.onnx").string();
  const std::string engine = (dir / "fallback.ridge").string();
  ASSERT_TRUE(onnx::SaveModel(ConvReduceMaxConv(), model).ok());

  Ran off = Cli("build " + model + " --device cuda -o " + engine);
  EXPECT_NE(off.exit_code, 0);
  EXPECT_NE(off.output.find("rmax"), std::string::npos);
  EXPECT_NE(off.output.find("--allow-cpu-fallback"), std::string::npos);

  // fp32 (the build default): (512 + 64) elements x 4 bytes.
  Ran on = Cli("build " + model + " --device cuda --allow-cpu-fallback -o " + engine);
  ASSERT_EQ(on.exit_code, 0);
  EXPECT_NE(on.output.find("CPU fallback: 1 node (rmax), 2.3 KB copied per run, 1 host sync per "
                           "run"),
            std::string::npos);

  const auto json = dir / "bench.json";
  Ran bench = Cli("bench " + engine + " --iterations 20 --warmup-ms 10 --json " + json.string());
  ASSERT_EQ(bench.exit_code, 0);
  EXPECT_NE(bench.output.find("CPU fallback: 1 node (rmax)"), std::string::npos);
  nlohmann::json j = ReadJson(json);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["cpu_fallback"]["nodes"], 1);
  EXPECT_EQ(j["cpu_fallback"]["node_names"], nlohmann::json::array({"rmax"}));
  EXPECT_EQ(j["cpu_fallback"]["bytes_per_run"], kFallbackElements * 4);
  EXPECT_EQ(j["cpu_fallback"]["host_syncs_per_run"], 1);

  const auto json16 = dir / "bench16.json";
  Ran fp16 = Cli("bench " + model +
                 " --device cuda --precision fp16 --allow-cpu-fallback --no-timing-cache "
                 "--iterations 20 --warmup-ms 10 --profile --json " +
                 json16.string());
  ASSERT_EQ(fp16.exit_code, 0);
  nlohmann::json k = ReadJson(json16);
  ASSERT_FALSE(k.is_discarded());
  EXPECT_EQ(k["cpu_fallback"]["bytes_per_run"], kFallbackElements * 2);
  int fallback_steps = 0;
  for (const auto& s : k["profile"]["steps"]) fallback_steps += s["kind"] == "cpu_fallback";
  EXPECT_EQ(fallback_steps, 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ridge::cuda
