// ONNX's backend node test cases on the CPU backend. A case runs when every op in it is claimed
// in claimed_ops.txt (the one list of what the CPU backend claims to pass); all claimed cases
// must pass. Results go to testdata/node_results.json for docs/onnx_node_tests.md
// (node_cases.py table). Cases come from the node_cases.py prepare fixture (.venv needed).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "backends/cpu/executor.h"
#include "onnx/loader.h"
#include "ops/shape_inference.h"
#include "runtime/npy.h"

namespace ridge {
namespace {

std::set<std::string> ClaimedOps() {
  std::set<std::string> ops;
  std::ifstream in(std::string(RIDGE_SOURCE_DIR) + "/tests/backends/claimed_ops.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ops.insert(line.substr(0, line.find_first_of(" \t#")));
  }
  return ops;
}

// Compares got with want; "" when equal within tolerance, else a short reason.
std::string Compare(const Tensor& got, const Tensor& want) {
  if (got.dims() != want.dims()) return "shape differs";
  if (got.dtype() != want.dtype()) return "dtype differs";
  for (int64_t i = 0; i < got.num_elements(); ++i) {
    double g = got.GetAsDouble(i), w = want.GetAsDouble(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    double tol = IsFloatingPoint(want.dtype()) ? 1e-4 + 1e-3 * std::abs(w) : 0;
    if (!(std::abs(g - w) <= tol)) {
      return "element " + std::to_string(i) + ": got " + std::to_string(g) + " want " +
             std::to_string(w);
    }
  }
  return "";
}

std::string RunCase(const nlohmann::json& c, const std::string& dir) {
  auto graph = onnx::LoadModel(c["model"].get<std::string>());
  if (!graph.ok()) return "load: " + graph.status().ToString();
  std::map<std::string, Tensor> inputs;
  ops::InferOptions infer;
  for (const auto& e : c["inputs"]) {
    auto t = runtime::ReadNpy(dir + "/" + e[1].get<std::string>());
    if (!t.ok()) return t.status().ToString();
    inputs[e[0].get<std::string>()] = *t;
    infer.input_shapes[e[0].get<std::string>()] = t->dims();
  }
  Status st = ops::InferShapes(*graph, infer);
  if (!st.ok()) return "infer: " + st.ToString();
  auto exec = cpu::Executor::Create(*graph, {.num_threads = 1});
  if (!exec.ok()) return "compile: " + exec.status().ToString();
  auto out = (*exec)->Run(inputs);
  if (!out.ok()) return "run: " + out.status().ToString();
  if (out->size() != c["outputs"].size()) return "output count differs";
  for (size_t i = 0; i < out->size(); ++i) {
    auto want = runtime::ReadNpy(dir + "/" + c["outputs"][i][1].get<std::string>());
    if (!want.ok()) return want.status().ToString();
    std::string diff = Compare((*out)[i], *want);
    if (!diff.empty()) return "output " + std::to_string(i) + ": " + diff;
  }
  return "";
}

TEST(CpuNodeTests, EveryClaimedCasePasses) {
  const std::string root = std::string(RIDGE_TEST_DATA_DIR) + "/node";
  std::ifstream mf(root + "/manifest.json");
  if (!mf) GTEST_SKIP() << root << "/manifest.json absent: the fixture needs .venv with onnx";
  nlohmann::json manifest = nlohmann::json::parse(mf, nullptr, false);
  ASSERT_FALSE(manifest.is_discarded());
  auto claimed = ClaimedOps();
  // RIDGE_NODE_CLAIM_ALL=1 runs every case (to find what can be claimed); the test then only
  // reports, it does not fail.
  const bool claim_all = std::getenv("RIDGE_NODE_CLAIM_ALL") != nullptr;
  ASSERT_FALSE(claimed.empty()) << "claimed_ops.txt is empty or missing";
  nlohmann::json results = nlohmann::json::array();
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> failures;
  for (const auto& c : manifest["cases"]) {
    std::string name = c["name"];
    std::string op;
    std::string skip = c.value("skip", "");
    for (const auto& o : c["ops"]) {
      std::string s = o;
      if (s == "Constant" && c["ops"].size() > 1) continue;
      op += (op.empty() ? "" : "+") + s;
      if (!claim_all && !claimed.count(s) && skip.empty()) skip = "op " + s + " not claimed";
    }
    if (!c["domains"].empty() && skip.empty()) skip = "non-default domain";
    nlohmann::json r = {{"name", name}, {"op", op}};
    if (!skip.empty()) {
      r["status"] = "skip";
      r["reason"] = skip;
      ++skipped;
    } else {
      std::string reason = RunCase(c, root + "/" + name);
      r["status"] = reason.empty() ? "pass" : "fail";
      r["reason"] = reason;
      if (reason.empty()) {
        ++passed;
      } else {
        ++failed;
        failures.push_back(name + ": " + reason);
      }
    }
    results.push_back(r);
  }
  nlohmann::json out = {{"cases", results},
                        {"passed", passed},
                        {"failed", failed},
                        {"skipped", skipped},
                        {"claimed", std::vector<std::string>(claimed.begin(), claimed.end())}};
  std::ofstream(std::string(RIDGE_TEST_DATA_DIR) +
                (claim_all ? "/node_results_all.json" : "/node_results.json"))
      << out.dump(1);
  if (claim_all) return;
  std::printf("node tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
  for (const auto& f : failures) ADD_FAILURE() << f;
  EXPECT_GT(passed, 0);
}

}  // namespace
}  // namespace ridge
