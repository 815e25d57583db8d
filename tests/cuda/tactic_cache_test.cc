// The timing cache of the CUDA engine without a GPU: JSON round trip, environment mismatch,
// corrupt / truncated / hostile files, key stability, file persistence, build progress output.
#include "backends/cuda/tactic_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ridge::cuda {
namespace {

TacticEnvironment H200() { return {"NVIDIA H200", 90, 12080, 13000, 91900, 130000}; }

Tactic CudnnTactic() {
  Tactic t;
  t.library = "cudnn";
  t.algo = 1;
  t.math = 2;
  t.workspace_bytes = 4096;
  t.ms = 0.0123;
  t.candidates = 6;
  return t;
}

Tactic LtTactic() {
  Tactic t;
  t.library = "cublaslt";
  t.algo = 21;
  t.blob_hex = std::string(128, 'a');
  t.blob_hex[5] = '3';
  t.ms = 0.004;
  t.candidates = 8;
  return t;
}

std::string ConvKey(int64_t channels = 64, int64_t stride = 1) {
  return TacticKey("conv")
      .Add("prec", "fp16")
      .Add("x", std::vector<int64_t>{1, channels, 56, 56})
      .Add("w", std::vector<int64_t>{64, channels, 3, 3})
      .Add("stride", std::vector<int64_t>{stride, stride})
      .Add("epi", "bias_relu")
      .str();
}

TacticCache Filled() {
  TacticCache c;
  c.MatchEnvironment(H200());
  c.Put(ConvKey(), CudnnTactic());
  c.Put("gemm|prec=fp32|m=1|n=1000|k=2048", LtTactic());
  return c;
}

TEST(TacticCache, JsonRoundTripKeepsEveryField) {
  TacticCache c = Filled();
  const std::string text = c.ToJson();
  TacticCache back;
  ASSERT_TRUE(back.Parse(text).ok()) << back.Parse(text).ToString();
  EXPECT_EQ(back.environment(), H200());
  ASSERT_EQ(back.size(), 2u);
  ASSERT_NE(back.Find(ConvKey()), nullptr);
  EXPECT_EQ(*back.Find(ConvKey()), CudnnTactic());
  ASSERT_NE(back.Find("gemm|prec=fp32|m=1|n=1000|k=2048"), nullptr);
  EXPECT_EQ(*back.Find("gemm|prec=fp32|m=1|n=1000|k=2048"), LtTactic());
  EXPECT_EQ(back.ToJson(), text);  // deterministic text
  EXPECT_EQ(back.Find("conv|other"), nullptr);
}

// Ridgeline's own kernel variants (the depthwise kernels) are tactics too: library "ridge",
// the variant in algo.
TEST(TacticCache, OwnKernelTacticRoundTrips) {
  TacticCache c;
  c.MatchEnvironment(H200());
  Tactic t;
  t.library = "ridge";
  t.algo = 3;
  t.ms = 0.031;
  t.candidates = 5;
  const std::string key = TacticKey("dwconv").Add("k", std::vector<int64_t>{7, 7}).str();
  c.Put(key, t);
  TacticCache back;
  ASSERT_TRUE(back.Parse(c.ToJson()).ok()) << back.Parse(c.ToJson()).ToString();
  ASSERT_NE(back.Find(key), nullptr);
  EXPECT_EQ(*back.Find(key), t);
  EXPECT_EQ(t.Describe(), "ridge algo 3");
}

TEST(TacticCache, OtherEnvironmentIsDroppedWithANote) {
  TacticCache c;
  ASSERT_TRUE(c.Parse(Filled().ToJson()).ok());
  TacticEnvironment newer = H200();
  newer.cudnn_version = 92000;
  std::string note;
  EXPECT_FALSE(c.MatchEnvironment(newer, &note));
  EXPECT_EQ(c.size(), 0u);
  EXPECT_NE(note.find("another environment"), std::string::npos) << note;
  EXPECT_NE(note.find("91900"), std::string::npos) << note;
  EXPECT_EQ(c.environment(), newer);

  for (auto change : {+[](TacticEnvironment* e) { e->gpu_name = "NVIDIA H100"; },
                      +[](TacticEnvironment* e) { e->sm = 89; },
                      +[](TacticEnvironment* e) { e->driver_version++; },
                      +[](TacticEnvironment* e) { e->cuda_runtime_version++; },
                      +[](TacticEnvironment* e) { e->cublas_version++; }}) {
    TacticCache d = Filled();
    TacticEnvironment other = H200();
    change(&other);
    EXPECT_FALSE(d.MatchEnvironment(other));
    EXPECT_EQ(d.size(), 0u);
  }
  TacticCache same = Filled();
  note.clear();
  EXPECT_TRUE(same.MatchEnvironment(H200(), &note));
  EXPECT_EQ(same.size(), 2u);
  EXPECT_TRUE(note.empty());
}

TEST(TacticCache, CorruptOrTruncatedTextGivesAnErrorAndAnEmptyCache) {
  const std::string good = Filled().ToJson();
  std::vector<std::string> bad;
  for (size_t cut : {size_t{0}, size_t{1}, good.size() / 3, good.size() / 2, good.size() - 3})
    bad.push_back(good.substr(0, cut));
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  bad.push_back(replace("ridge-timing-cache", "other-cache"));
  bad.push_back(replace("\"version\": 1", "\"version\": 2"));
  bad.push_back(replace("\"algo\": 1,", "\"algo\": 1.5,"));
  bad.push_back(replace("\"algo\": 1,", "\"algo\": \"1\","));
  bad.push_back(replace("\"algo\": 1,", "\"algo\": 99999999999,"));
  bad.push_back(replace("\"math\": 2,", "\"math\": -1,"));
  bad.push_back(replace("\"ms\": 0.0123", "\"ms\": -1"));
  bad.push_back(replace("\"library\": \"cudnn\"", "\"library\": \"tensorrt\""));
  bad.push_back(replace("\"workspace_bytes\": 4096", "\"workspace_bytes\": 18446744073709551615"));
  bad.push_back(replace("\"candidates\": 6,", "\"candidates\": 6, \"extra\": 1,"));
  bad.push_back(replace("aaaaa3", "aaaaaZ"));
  bad.push_back(replace("\"sm\": 90", "\"sm\": \"90\""));
  bad.push_back(replace("\"entries\": [", "\"entries\": {\"x\": ["));
  bad.push_back("[]");
  bad.push_back("{}");
  bad.push_back("null");
  bad.push_back(std::string(100000, '['));  // hostile nesting
  bad.push_back("\xff\xfe garbage");
  // A duplicate key.
  {
    TacticCache one;
    one.MatchEnvironment(H200());
    one.Put("k", CudnnTactic());
    std::string s = one.ToJson();
    size_t a = s.find("[") + 1, b = s.rfind("]");
    std::string entry = s.substr(a, b - a);
    s.insert(b, "," + entry);
    bad.push_back(s);
  }
  for (const std::string& text : bad) {
    TacticCache c = Filled();
    Status s = c.Parse(text);
    EXPECT_FALSE(s.ok()) << text.substr(0, 200);
    EXPECT_NE(s.message().find("timing cache"), std::string::npos) << s.ToString();
    EXPECT_EQ(c.size(), 0u);
    EXPECT_TRUE(c.environment().empty());
  }
}

TEST(TacticCache, OversizedInputIsRefusedBeforeParsing) {
  TacticCache c;
  std::string huge(TacticCache::kMaxJsonBytes + 1, ' ');
  Status s = c.Parse(huge);
  EXPECT_EQ(s.code(), StatusCode::kLimitExceeded) << s.ToString();
}

TEST(TacticKey, SameFieldsSameKeyAnyChangeAnotherKey) {
  EXPECT_EQ(ConvKey(), ConvKey());
  EXPECT_EQ(ConvKey(), "conv|prec=fp16|x=1x64x56x56|w=64x64x3x3|stride=1x1|epi=bias_relu");
  EXPECT_NE(ConvKey(64, 1), ConvKey(64, 2));
  EXPECT_NE(ConvKey(64, 1), ConvKey(32, 1));
  // Every field matters: changing any one of them changes the key.
  auto key = [](std::vector<std::string> f) {
    return TacticKey(f[0]).Add("prec", f[1]).Add("x", f[2]).Add("epi", f[3]).str();
  };
  const std::vector<std::string> base = {"conv", "fp16", "1x64x56x56", "bias_relu"};
  const std::vector<std::string> other = {"gemm", "fp32", "2x64x56x56", "bias_add_relu"};
  for (size_t i = 0; i < base.size(); ++i) {
    auto changed = base;
    changed[i] = other[i];
    EXPECT_NE(key(base), key(changed)) << i;
  }
  // Field boundaries are kept: {1,11} and {11,1} differ.
  EXPECT_NE(TacticKey("g").Add("d", std::vector<int64_t>{1, 11}).str(),
            TacticKey("g").Add("d", std::vector<int64_t>{11, 1}).str());
}

TEST(TacticCache, FileRoundTripAndMissingFile) {
  const std::string dir = ::testing::TempDir() + "ridge_tactic_" + std::to_string(::getpid());
  const std::string path = dir + "/sub/timing_cache.json";
  TacticCache c;
  EXPECT_EQ(c.LoadFile(path).code(), StatusCode::kNotFound);
  ASSERT_TRUE(Filled().SaveFile(path).ok());
  ASSERT_TRUE(c.LoadFile(path).ok());
  EXPECT_EQ(c.size(), 2u);
  {
    std::ofstream out(path, std::ios::trunc);
    out << Filled().ToJson().substr(0, 40);
  }
  Status s = c.LoadFile(path);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find(path), std::string::npos);
  EXPECT_EQ(c.size(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(TacticCacheFile, ColdBadAndDisabledFilesNeverFail) {
  const std::string dir = ::testing::TempDir() + "ridge_tactic_file_" + std::to_string(::getpid());
  const std::string path = dir + "/tc.json";
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  TacticCacheFile f;
  f.Open(path, /*disabled=*/false, warn);  // missing: a cold cache, no warning
  EXPECT_EQ(f.path, path);
  EXPECT_TRUE(warnings.empty());
  f.cache = Filled();
  f.Save(warn);
  TacticCacheFile g;
  g.Open(path, false, warn);
  EXPECT_EQ(g.cache.size(), 2u);
  EXPECT_TRUE(warnings.empty());
  {
    std::ofstream out(path, std::ios::trunc);
    out << "{\"format\": ";
  }
  g.Open(path, false, warn);
  EXPECT_EQ(g.cache.size(), 0u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("timed again"), std::string::npos) << warnings[0];
  TacticCacheFile off;
  off.Open(path, /*disabled=*/true, warn);
  EXPECT_TRUE(off.path.empty());
  off.cache = Filled();
  off.Save(warn);  // writes nothing
  std::filesystem::remove_all(dir);
}

TEST(TacticCache, DefaultPathFollowsXdgThenHome) {
  const char* old_xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old_xdg ? old_xdg : "";
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(TacticCache::DefaultPath(), "/tmp/xdg/ridge/timing_cache.json");
  unsetenv("XDG_CACHE_HOME");
  if (const char* home = std::getenv("HOME"); home && *home) {
    EXPECT_EQ(TacticCache::DefaultPath(), std::string(home) + "/.cache/ridge/timing_cache.json");
  }
  if (old_xdg) setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

TEST(BuildProgress, NonTtyWritesOneLinePerTenthAndTheEnd) {
  std::vector<std::string> lines;
  BuildProgress p(53, /*tty=*/false, [&](const std::string& s) { lines.push_back(s); });
  for (int32_t i = 1; i <= 53; ++i) p.Update(i, i * 0.1);
  p.Finish(5.3);
  // 10%, 20%, ... 100%: one line each (0% is never reached after the first layer).
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines.back(), "tactics: 53/53 layers (100%), 5.3 s\n");
  for (const auto& l : lines) EXPECT_EQ(l.back(), '\n');
}

TEST(BuildProgress, TtyRedrawsABarInPlace) {
  std::vector<std::string> out;
  BuildProgress p(4, /*tty=*/true, [&](const std::string& s) { out.push_back(s); });
  p.Update(1, 0.5);
  p.Update(2, 1.0);
  p.Finish(2.0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0][0], '\r');
  EXPECT_EQ(out.back().back(), '\n');
  BuildProgress failed(4, /*tty=*/true, [&](const std::string& s) { out.push_back(s); });
  failed.Abort();  // nothing drawn yet: nothing to end
  EXPECT_EQ(out.size(), 3u);
  failed.Update(1, 0.1);
  failed.Abort();
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out.back(), "\n");
  EXPECT_EQ(BuildProgress::Bar(2, 4, 1.25, 10), "[#####.....] 2/4 layers  1.2 s");
  EXPECT_EQ(BuildProgress::Bar(4, 4, 0, 4), "[####] 4/4 layers  0.0 s");
  EXPECT_EQ(BuildProgress::Bar(0, 0, 0, 4), "[####] 0/0 layers  0.0 s");
}

}  // namespace
}  // namespace ridge::cuda
